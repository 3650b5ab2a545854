package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

var installationTests = []test{
	{"CRUD", func(t *testing.T, f *fixture) {
		i := f.integration(t, f.a.ID, "readAccounts", "salesforce")
		c := f.connection(t, f.a.ID, "salesforce", "acme")
		before := time.Now()
		in := f.installation(t, i, c)
		after := time.Now()
		if in.ID == "" || in.Config.ID == "" {
			t.Fatalf("CreateInstallation did not fill in the IDs: %+v", in)
		}
		same(t, "Config.RevisionID (defaults to the latest)", i.LatestRevisionID, in.Config.RevisionID)
		same(t, "Config.Content", sampleContent("salesforce"), in.Config.Content)
		wantTime(t, "CreateTime", in.CreateTime, before, after)
		wantTime(t, "Config.CreateTime", in.Config.CreateTime, before, after)
		if in.GroupRef != "acme" || in.ConnectionID != c.ID || in.CreatedBy != "consumer:user-1" || in.Config.CreatedBy != "consumer:user-1" {
			t.Fatalf("CreateInstallation returned %+v", in)
		}

		got, err := f.s.GetInstallation(f.ctx, f.a.ID, in.ID)
		noErr(t, "GetInstallation", err)
		same(t, "GetInstallation", in, got)

		for _, filter := range []runtime.InstallationFilter{
			{}, {IntegrationID: i.ID}, {GroupRef: "acme"}, {ConnectionID: c.ID}, {IntegrationID: i.ID, GroupRef: "acme"},
		} {
			list, err := f.s.ListInstallations(f.ctx, f.a.ID, filter)
			noErr(t, "ListInstallations", err)
			same(t, "ListInstallations", []*runtime.Installation{in}, list)
		}
		for _, filter := range []runtime.InstallationFilter{
			{IntegrationID: runtime.NewID()}, {GroupRef: "other"}, {ConnectionID: runtime.NewID()},
		} {
			list, err := f.s.ListInstallations(f.ctx, f.a.ID, filter)
			noErr(t, "ListInstallations", err)
			if len(list) != 0 {
				t.Fatalf("ListInstallations(%+v) = %d installations, want none", filter, len(list))
			}
		}

		// The caller merges the update mask; the store replaces the config.
		content := sampleContent("salesforce")
		content.Read.Objects["account"] = runtime.ReadConfigObject{ObjectName: "account", SelectedFields: map[string]bool{"website": true}}
		delete(content.Read.Objects, "contact")
		content.Write = nil
		upd, err := f.s.UpdateInstallation(f.ctx, f.a.ID, in.ID, runtime.InstallationUpdate{
			GroupName: ptr("Acme Corp"),
			Config:    runtime.InstallationConfig{CreatedBy: "builder:b-1", Content: content},
		})
		noErr(t, "UpdateInstallation", err)
		same(t, "content after update", content, upd.Config.Content)
		if upd.Config.ID == in.Config.ID || upd.Config.ID == "" {
			t.Errorf("Config.ID = %q after update, want a new one", upd.Config.ID)
		}
		if upd.Config.RevisionID != in.Config.RevisionID || upd.Config.CreatedBy != "builder:b-1" || upd.GroupName != "Acme Corp" {
			t.Errorf("UpdateInstallation returned %+v", upd)
		}
		if upd.CreatedBy != in.CreatedBy || !upd.CreateTime.Equal(in.CreateTime) || upd.UpdateTime.Before(in.UpdateTime) {
			t.Errorf("UpdateInstallation changed what it must keep: %+v", upd)
		}
		got, err = f.s.GetInstallation(f.ctx, f.a.ID, in.ID)
		noErr(t, "GetInstallation after update", err)
		same(t, "GetInstallation after update", upd, got)

		// Moving to a newer revision; an empty CreatedBy keeps the last one.
		v2 := f.deploy(t, f.a.ID, deployOf("readAccounts", "salesforce", 2))[0].Integration
		upd, err = f.s.UpdateInstallation(f.ctx, f.a.ID, in.ID, runtime.InstallationUpdate{
			Config: runtime.InstallationConfig{ID: "config-chosen", RevisionID: v2.LatestRevisionID, Content: content},
		})
		noErr(t, "UpdateInstallation(revision)", err)
		if upd.Config.RevisionID != v2.LatestRevisionID || upd.Config.ID != "config-chosen" || upd.Config.CreatedBy != "builder:b-1" {
			t.Errorf("UpdateInstallation(revision) returned config %+v", upd.Config)
		}

		noErr(t, "DeleteInstallation", f.s.DeleteInstallation(f.ctx, f.a.ID, in.ID))
		_, err = f.s.GetInstallation(f.ctx, f.a.ID, in.ID)
		wantCode(t, "GetInstallation after delete", err, runtime.ENOTFOUND)
		wantCode(t, "DeleteInstallation again", f.s.DeleteInstallation(f.ctx, f.a.ID, in.ID), runtime.ENOTFOUND)
		_, err = f.s.UpdateInstallation(f.ctx, f.a.ID, in.ID, runtime.InstallationUpdate{Config: runtime.InstallationConfig{Content: content}})
		wantCode(t, "UpdateInstallation after delete", err, runtime.ENOTFOUND)
		// The connection stays.
		_, err = f.s.GetConnection(f.ctx, f.a.ID, c.ID)
		noErr(t, "GetConnection after the installation's delete", err)
	}},
	{"OnePerGroup", func(t *testing.T, f *fixture) {
		i := f.integration(t, f.a.ID, "x", "hubspot")
		c := f.connection(t, f.a.ID, "hubspot", "acme")
		f.installation(t, i, c)
		in := &runtime.Installation{ProjectID: f.a.ID, IntegrationID: i.ID, GroupRef: "acme", ConnectionID: c.ID,
			Config: runtime.InstallationConfig{Content: runtime.ConfigContent{Provider: "hubspot"}}}
		wantCode(t, "second installation for the group", f.s.CreateInstallation(f.ctx, in), runtime.ECONFLICT)
		// Another integration of the same provider may use the connection.
		i2 := f.integration(t, f.a.ID, "y", "hubspot")
		f.installation(t, i2, c)
	}},
	{"References", func(t *testing.T, f *fixture) {
		i := f.integration(t, f.a.ID, "x", "salesforce")
		other := f.integration(t, f.a.ID, "other", "salesforce")
		c := f.connection(t, f.a.ID, "salesforce", "acme")
		hub := f.connection(t, f.a.ID, "hubspot", "acme")
		otherGroup := f.connection(t, f.a.ID, "salesforce", "globex")
		base := func() *runtime.Installation {
			return &runtime.Installation{ProjectID: f.a.ID, IntegrationID: i.ID, GroupRef: "acme", ConnectionID: c.ID,
				Config: runtime.InstallationConfig{Content: runtime.ConfigContent{Provider: "salesforce"}}}
		}
		for _, tc := range []struct {
			name   string
			change func(in *runtime.Installation)
			code   string
		}{
			{"missing integration", func(in *runtime.Installation) { in.IntegrationID = runtime.NewID() }, runtime.ENOTFOUND},
			{"missing connection", func(in *runtime.Installation) { in.ConnectionID = runtime.NewID() }, runtime.ENOTFOUND},
			{"missing revision", func(in *runtime.Installation) { in.Config.RevisionID = runtime.NewID() }, runtime.ENOTFOUND},
			{"revision of another integration", func(in *runtime.Installation) { in.Config.RevisionID = other.LatestRevisionID }, runtime.ENOTFOUND},
			{"connection of another provider", func(in *runtime.Installation) { in.ConnectionID = hub.ID }, runtime.EINVALID},
			{"connection of another group", func(in *runtime.Installation) { in.ConnectionID = otherGroup.ID }, runtime.EINVALID},
			{"missing project", func(in *runtime.Installation) { in.ProjectID = runtime.NewID() }, runtime.ENOTFOUND},
			{"no groupRef", func(in *runtime.Installation) { in.GroupRef = "" }, runtime.EINVALID},
			{"no connectionId", func(in *runtime.Installation) { in.ConnectionID = "" }, runtime.EINVALID},
			{"no content provider", func(in *runtime.Installation) { in.Config.Content.Provider = "" }, runtime.EINVALID},
			{"read object without objectName", func(in *runtime.Installation) {
				in.Config.Content.Read = &runtime.ReadConfig{Objects: map[string]runtime.ReadConfigObject{"account": {}}}
			}, runtime.EINVALID},
		} {
			in := base()
			tc.change(in)
			wantCode(t, tc.name, f.s.CreateInstallation(f.ctx, in), tc.code)
		}
		list, err := f.s.ListInstallations(f.ctx, f.a.ID, runtime.InstallationFilter{})
		noErr(t, "ListInstallations", err)
		if len(list) != 0 {
			t.Fatalf("%d installations after failed creates, want none", len(list))
		}

		in := base()
		noErr(t, "CreateInstallation", f.s.CreateInstallation(f.ctx, in))
		for _, tc := range []struct {
			name string
			upd  runtime.InstallationUpdate
			code string
		}{
			{"connection of another group", runtime.InstallationUpdate{ConnectionID: otherGroup.ID, Config: in.Config}, runtime.EINVALID},
			{"connection of another provider", runtime.InstallationUpdate{ConnectionID: hub.ID, Config: in.Config}, runtime.EINVALID},
			{"missing connection", runtime.InstallationUpdate{ConnectionID: runtime.NewID(), Config: in.Config}, runtime.ENOTFOUND},
			{"revision of another integration", runtime.InstallationUpdate{Config: runtime.InstallationConfig{
				RevisionID: other.LatestRevisionID, Content: in.Config.Content}}, runtime.ENOTFOUND},
			{"invalid content", runtime.InstallationUpdate{Config: runtime.InstallationConfig{}}, runtime.EINVALID},
		} {
			_, err := f.s.UpdateInstallation(f.ctx, f.a.ID, in.ID, tc.upd)
			wantCode(t, "UpdateInstallation with "+tc.name, err, tc.code)
		}
		got, err := f.s.GetInstallation(f.ctx, f.a.ID, in.ID)
		noErr(t, "GetInstallation", err)
		same(t, "installation after failed updates", in, got)
	}},
	{"List", func(t *testing.T, f *fixture) {
		i := f.integration(t, f.a.ID, "x", "salesforce")
		j := f.integration(t, f.a.ID, "y", "salesforce")
		var want []*runtime.Installation
		for _, g := range []string{"g1", "g2", "g3"} {
			c := f.connection(t, f.a.ID, "salesforce", g)
			want = append(want, f.installation(t, i, c), f.installation(t, j, c))
		}
		list, err := f.s.ListInstallations(f.ctx, f.a.ID, runtime.InstallationFilter{})
		noErr(t, "ListInstallations", err)
		for k := 1; k < len(list); k++ {
			if list[k].CreateTime.After(list[k-1].CreateTime) {
				t.Fatalf("ListInstallations is not newest first: %v before %v", list[k-1].CreateTime, list[k].CreateTime)
			}
		}
		byID := func(a, b *runtime.Installation) int { return strings.Compare(a.ID, b.ID) }
		slices.SortFunc(list, byID)
		slices.SortFunc(want, byID)
		same(t, "ListInstallations", want, list)

		list, err = f.s.ListInstallations(f.ctx, f.a.ID, runtime.InstallationFilter{IntegrationID: j.ID, GroupRef: "g2"})
		noErr(t, "ListInstallations(y, g2)", err)
		if len(list) != 1 || list[0].IntegrationID != j.ID || list[0].GroupRef != "g2" {
			t.Fatalf("ListInstallations(y, g2) = %+v", list)
		}
	}},
}
