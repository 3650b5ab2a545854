package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

var projectTests = []test{
	{"CreateGetList", func(t *testing.T, f *fixture) {
		before := time.Now()
		p := &runtime.Project{Name: "acme", AppName: "Acme"}
		noErr(t, "CreateProject", f.s.CreateProject(f.ctx, p))
		after := time.Now()
		if p.ID == "" {
			t.Fatal("CreateProject did not fill in the ID")
		}
		wantTime(t, "CreateTime", p.CreateTime, before, after)
		same(t, "UpdateTime", p.CreateTime, p.UpdateTime)

		got, err := f.s.GetProject(f.ctx, p.ID)
		noErr(t, "GetProject", err)
		same(t, "GetProject", p, got)
		got, err = f.s.GetProjectByName(f.ctx, "acme")
		noErr(t, "GetProjectByName", err)
		same(t, "GetProjectByName", p, got)

		list, err := f.s.ListProjects(f.ctx)
		noErr(t, "ListProjects", err)
		same(t, "ListProjects (by name)", []*runtime.Project{p, f.a, f.b}, list)
	}},
	{"CallerChosenID", func(t *testing.T, f *fixture) {
		id := runtime.NewID()
		p := &runtime.Project{ID: id, Name: "chosen", AppName: "Chosen"}
		noErr(t, "CreateProject", f.s.CreateProject(f.ctx, p))
		same(t, "ID", id, p.ID)
		_, err := f.s.GetProject(f.ctx, id)
		noErr(t, "GetProject", err)
		wantCode(t, "CreateProject with a taken ID", f.s.CreateProject(f.ctx, &runtime.Project{ID: id, Name: "other", AppName: "x"}), runtime.ECONFLICT)
	}},
	{"DuplicateName", func(t *testing.T, f *fixture) {
		p := &runtime.Project{Name: f.a.Name, AppName: "Again"}
		wantCode(t, "CreateProject with a taken name", f.s.CreateProject(f.ctx, p), runtime.ECONFLICT)
		if p.ID != "" {
			t.Errorf("a failed CreateProject filled in ID %q", p.ID)
		}
	}},
	{"Invalid", func(t *testing.T, f *fixture) {
		for _, p := range []*runtime.Project{
			{Name: "", AppName: "x"},
			{Name: "-leading-dash", AppName: "x"},
			{Name: "has space", AppName: "x"},
			{Name: "no-app-name"},
		} {
			wantCode(t, "CreateProject("+p.Name+")", f.s.CreateProject(f.ctx, p), runtime.EINVALID)
		}
	}},
	{"NotFound", func(t *testing.T, f *fixture) {
		_, err := f.s.GetProject(f.ctx, runtime.NewID())
		wantCode(t, "GetProject", err, runtime.ENOTFOUND)
		_, err = f.s.GetProjectByName(f.ctx, "nope")
		wantCode(t, "GetProjectByName", err, runtime.ENOTFOUND)
		_, err = f.s.UpdateProject(f.ctx, runtime.NewID(), runtime.ProjectUpdate{AppName: ptr("x")})
		wantCode(t, "UpdateProject", err, runtime.ENOTFOUND)
	}},
	{"Update", func(t *testing.T, f *fixture) {
		p, err := f.s.UpdateProject(f.ctx, f.a.ID, runtime.ProjectUpdate{Name: ptr("renamed"), AppName: ptr("Renamed App")})
		noErr(t, "UpdateProject", err)
		if p.Name != "renamed" || p.AppName != "Renamed App" || p.ID != f.a.ID || !p.CreateTime.Equal(f.a.CreateTime) {
			t.Fatalf("UpdateProject returned %+v", p)
		}
		if p.UpdateTime.Before(p.CreateTime) {
			t.Errorf("UpdateTime %v is before CreateTime %v", p.UpdateTime, p.CreateTime)
		}
		got, err := f.s.GetProjectByName(f.ctx, "renamed")
		noErr(t, "GetProjectByName", err)
		same(t, "GetProjectByName after update", p, got)

		p, err = f.s.UpdateProject(f.ctx, f.a.ID, runtime.ProjectUpdate{AppName: ptr("Only App")})
		noErr(t, "UpdateProject(appName)", err)
		same(t, "name kept", "renamed", p.Name)

		_, err = f.s.UpdateProject(f.ctx, f.a.ID, runtime.ProjectUpdate{Name: ptr(f.b.Name)})
		wantCode(t, "UpdateProject to a taken name", err, runtime.ECONFLICT)
		_, err = f.s.UpdateProject(f.ctx, f.a.ID, runtime.ProjectUpdate{Name: ptr("")})
		wantCode(t, "UpdateProject to an empty name", err, runtime.EINVALID)
	}},
}

var providerAppTests = []test{
	{"CRUD", func(t *testing.T, f *fixture) {
		before := time.Now()
		a := f.providerApp(t, f.a.ID, "salesforce")
		after := time.Now()
		if a.ID == "" || a.ProjectID != f.a.ID {
			t.Fatalf("CreateProviderApp filled in %+v", a)
		}
		wantTime(t, "CreateTime", a.CreateTime, before, after)
		got, err := f.s.GetProviderApp(f.ctx, f.a.ID, a.ID)
		noErr(t, "GetProviderApp", err)
		same(t, "GetProviderApp", a, got)
		got, err = f.s.GetProviderAppByProvider(f.ctx, f.a.ID, "salesforce")
		noErr(t, "GetProviderAppByProvider", err)
		same(t, "GetProviderAppByProvider", a, got)

		h := f.providerApp(t, f.a.ID, "hubspot")
		list, err := f.s.ListProviderApps(f.ctx, f.a.ID)
		noErr(t, "ListProviderApps", err)
		same(t, "ListProviderApps (by provider)", []*runtime.ProviderApp{h, a}, list)

		meta := runtime.ProviderAppMetadata{AuthQueryParams: map[string][]string{"optional_scope": {"crm.objects.deals.read"}}}
		upd, err := f.s.UpdateProviderApp(f.ctx, f.a.ID, a.ID, runtime.ProviderAppUpdate{
			ClientID:     ptr("client-2"),
			ClientSecret: []byte("sealed-secret-2"),
			Scopes:       ptr([]string{"api"}),
			Metadata:     &meta,
			ExternalRef:  ptr("ext-1"),
		})
		noErr(t, "UpdateProviderApp", err)
		if upd.ClientID != "client-2" || string(upd.ClientSecret) != "sealed-secret-2" || upd.ExternalRef != "ext-1" || upd.Provider != "salesforce" {
			t.Fatalf("UpdateProviderApp returned %+v", upd)
		}
		same(t, "scopes", []string{"api"}, upd.Scopes)
		same(t, "metadata", meta, upd.Metadata)
		got, err = f.s.GetProviderApp(f.ctx, f.a.ID, a.ID)
		noErr(t, "GetProviderApp after update", err)
		same(t, "GetProviderApp after update", upd, got)

		upd, err = f.s.UpdateProviderApp(f.ctx, f.a.ID, a.ID, runtime.ProviderAppUpdate{ExternalRef: ptr("ext-2")})
		noErr(t, "UpdateProviderApp(externalRef)", err)
		same(t, "secret kept", "sealed-secret-2", string(upd.ClientSecret))
		_, err = f.s.UpdateProviderApp(f.ctx, f.a.ID, a.ID, runtime.ProviderAppUpdate{ClientID: ptr("")})
		wantCode(t, "UpdateProviderApp to an empty clientId", err, runtime.EINVALID)

		noErr(t, "DeleteProviderApp", f.s.DeleteProviderApp(f.ctx, f.a.ID, a.ID))
		_, err = f.s.GetProviderApp(f.ctx, f.a.ID, a.ID)
		wantCode(t, "GetProviderApp after delete", err, runtime.ENOTFOUND)
		_, err = f.s.GetProviderAppByProvider(f.ctx, f.a.ID, "salesforce")
		wantCode(t, "GetProviderAppByProvider after delete", err, runtime.ENOTFOUND)
		wantCode(t, "DeleteProviderApp again", f.s.DeleteProviderApp(f.ctx, f.a.ID, a.ID), runtime.ENOTFOUND)
		_, err = f.s.UpdateProviderApp(f.ctx, f.a.ID, a.ID, runtime.ProviderAppUpdate{ClientID: ptr("x")})
		wantCode(t, "UpdateProviderApp after delete", err, runtime.ENOTFOUND)
	}},
	{"OnePerProvider", func(t *testing.T, f *fixture) {
		f.providerApp(t, f.a.ID, "salesforce")
		err := f.s.CreateProviderApp(f.ctx, &runtime.ProviderApp{ProjectID: f.a.ID, Provider: "salesforce", ClientID: "again"})
		wantCode(t, "second salesforce app", err, runtime.ECONFLICT)
		f.providerApp(t, f.b.ID, "salesforce") // another project may have its own
	}},
	{"SecretVerbatim", func(t *testing.T, f *fixture) {
		secret := []byte{0, 1, 2, 0xff, 0, 'x', 0}
		a := &runtime.ProviderApp{ProjectID: f.a.ID, Provider: "dynamics", ClientID: "c", ClientSecret: secret}
		noErr(t, "CreateProviderApp", f.s.CreateProviderApp(f.ctx, a))
		got, err := f.s.GetProviderApp(f.ctx, f.a.ID, a.ID)
		noErr(t, "GetProviderApp", err)
		if !bytes.Equal(got.ClientSecret, secret) {
			t.Fatalf("ClientSecret = %x, want %x", got.ClientSecret, secret)
		}
		// A public client has no secret.
		p := &runtime.ProviderApp{ProjectID: f.a.ID, Provider: "hubspot", ClientID: "public"}
		noErr(t, "CreateProviderApp without secret", f.s.CreateProviderApp(f.ctx, p))
		if p.ClientSecret != nil {
			t.Fatalf("ClientSecret = %x, want nil", p.ClientSecret)
		}
	}},
	{"Invalid", func(t *testing.T, f *fixture) {
		err := f.s.CreateProviderApp(f.ctx, &runtime.ProviderApp{ProjectID: f.a.ID, Provider: "salesforce"})
		wantCode(t, "CreateProviderApp without clientId", err, runtime.EINVALID)
		err = f.s.CreateProviderApp(f.ctx, &runtime.ProviderApp{ProjectID: f.a.ID, ClientID: "c"})
		wantCode(t, "CreateProviderApp without provider", err, runtime.EINVALID)
		err = f.s.CreateProviderApp(f.ctx, &runtime.ProviderApp{ProjectID: runtime.NewID(), Provider: "salesforce", ClientID: "c"})
		wantCode(t, "CreateProviderApp in a missing project", err, runtime.ENOTFOUND)
	}},
}
