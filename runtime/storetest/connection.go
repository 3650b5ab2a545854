package storetest

import (
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

var connectionTests = []test{
	{"CRUD", func(t *testing.T, f *fixture) {
		before := time.Now()
		c := f.connection(t, f.a.ID, "salesforce", "acme")
		after := time.Now()
		if c.ID == "" || c.TokenVersion != 1 || c.Status != runtime.ConnectionCreated || string(c.Tokens) != "sealed-tokens-v1" {
			t.Fatalf("CreateConnection returned %+v", c)
		}
		wantTime(t, "CreateTime", c.CreateTime, before, after)
		got, err := f.s.GetConnection(f.ctx, f.a.ID, c.ID)
		noErr(t, "GetConnection", err)
		same(t, "GetConnection", c, got)

		h := f.connection(t, f.a.ID, "hubspot", "acme")
		g := f.connection(t, f.a.ID, "salesforce", "globex")
		for _, tc := range []struct {
			filter runtime.ConnectionFilter
			want   []string
		}{
			{runtime.ConnectionFilter{Provider: "salesforce", GroupRef: "acme"}, []string{c.ID}},
			{runtime.ConnectionFilter{Provider: "hubspot"}, []string{h.ID}},
			{runtime.ConnectionFilter{GroupRef: "globex"}, []string{g.ID}},
			{runtime.ConnectionFilter{ConsumerRef: "nobody"}, nil},
		} {
			list, err := f.s.ListConnections(f.ctx, f.a.ID, tc.filter)
			noErr(t, "ListConnections", err)
			var ids []string
			for _, c := range list {
				ids = append(ids, c.ID)
			}
			same(t, "ListConnections ids", tc.want, ids)
		}
		all, err := f.s.ListConnections(f.ctx, f.a.ID, runtime.ConnectionFilter{})
		noErr(t, "ListConnections", err)
		if len(all) != 3 {
			t.Fatalf("ListConnections = %d connections, want 3", len(all))
		}

		meta := map[string]runtime.ProviderMetadataInfo{"workspace": {Value: "acme-prod", Source: "input"}}
		upd, err := f.s.UpdateConnection(f.ctx, f.a.ID, c.ID, runtime.ConnectionUpdate{
			ProviderWorkspaceRef: ptr("acme-prod"), ProviderMetadata: meta, GroupName: ptr("Acme Corp"),
		})
		noErr(t, "UpdateConnection", err)
		same(t, "metadata", meta, upd.ProviderMetadata)
		if upd.ProviderWorkspaceRef != "acme-prod" || upd.GroupName != "Acme Corp" || upd.ConsumerName != c.ConsumerName {
			t.Fatalf("UpdateConnection returned %+v", upd)
		}
		if upd.TokenVersion != c.TokenVersion || string(upd.Tokens) != string(c.Tokens) || upd.Status != c.Status {
			t.Fatalf("UpdateConnection changed tokens or status: %+v", upd)
		}
		got, err = f.s.GetConnection(f.ctx, f.a.ID, c.ID)
		noErr(t, "GetConnection after update", err)
		same(t, "GetConnection after update", upd, got)

		noErr(t, "DeleteConnection", f.s.DeleteConnection(f.ctx, f.a.ID, c.ID))
		_, err = f.s.GetConnection(f.ctx, f.a.ID, c.ID)
		wantCode(t, "GetConnection after delete", err, runtime.ENOTFOUND)
		wantCode(t, "DeleteConnection again", f.s.DeleteConnection(f.ctx, f.a.ID, c.ID), runtime.ENOTFOUND)
		// The group may connect again.
		f.connection(t, f.a.ID, "salesforce", "acme")
	}},
	{"OnePerProviderAndGroup", func(t *testing.T, f *fixture) {
		f.connection(t, f.a.ID, "salesforce", "acme")
		dup := &runtime.Connection{ProjectID: f.a.ID, Provider: "salesforce", GroupRef: "acme",
			AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode, Status: runtime.ConnectionCreated, Tokens: []byte("t")}
		wantCode(t, "second salesforce connection for acme", f.s.CreateConnection(f.ctx, dup), runtime.ECONFLICT)
		f.connection(t, f.b.ID, "salesforce", "acme") // another project's group of the same name
	}},
	{"Invalid", func(t *testing.T, f *fixture) {
		base := func() *runtime.Connection {
			return &runtime.Connection{ProjectID: f.a.ID, Provider: "salesforce", GroupRef: "acme",
				AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode, Status: runtime.ConnectionCreated}
		}
		for _, tc := range []struct {
			name   string
			change func(c *runtime.Connection)
			code   string
		}{
			{"unknown status", func(c *runtime.Connection) { c.Status = "active" }, runtime.EINVALID},
			{"no group", func(c *runtime.Connection) { c.GroupRef = "" }, runtime.EINVALID},
			{"no provider", func(c *runtime.Connection) { c.Provider = "" }, runtime.EINVALID},
			{"no auth scheme", func(c *runtime.Connection) { c.AuthScheme = "" }, runtime.EINVALID},
			{"missing project", func(c *runtime.Connection) { c.ProjectID = runtime.NewID() }, runtime.ENOTFOUND},
		} {
			c := base()
			tc.change(c)
			wantCode(t, tc.name, f.s.CreateConnection(f.ctx, c), tc.code)
		}
	}},
	{"TokenVersion", func(t *testing.T, f *fixture) {
		c := f.connection(t, f.a.ID, "salesforce", "acme")
		expiry := time.Now().Add(2 * time.Hour)
		c2, err := f.s.UpdateConnectionTokens(f.ctx, f.a.ID, c.ID, 1, runtime.ConnectionTokens{
			Tokens: []byte("sealed-tokens-v2"), TokenExpiry: expiry, Status: runtime.ConnectionCreated,
		})
		noErr(t, "UpdateConnectionTokens(1)", err)
		if c2.TokenVersion != 2 || string(c2.Tokens) != "sealed-tokens-v2" || !c2.TokenExpiry.Equal(runtime.Millis(expiry)) {
			t.Fatalf("after a token write: version %d, tokens %q, expiry %v", c2.TokenVersion, c2.Tokens, c2.TokenExpiry)
		}
		same(t, "scopes kept (nil Scopes)", c.Scopes, c2.Scopes)
		same(t, "metadata kept (nil ProviderMetadata)", c.ProviderMetadata, c2.ProviderMetadata)

		// A refresh that read version 1 lost the race.
		_, err = f.s.UpdateConnectionTokens(f.ctx, f.a.ID, c.ID, 1, runtime.ConnectionTokens{
			Tokens: []byte("sealed-tokens-stale"), Status: runtime.ConnectionCreated,
		})
		wantCode(t, "UpdateConnectionTokens with a stale version", err, runtime.ECONFLICT)
		got, err := f.s.GetConnection(f.ctx, f.a.ID, c.ID)
		noErr(t, "GetConnection", err)
		same(t, "connection after a stale token write", c2, got)

		// A re-consent replaces scopes and metadata too.
		meta := map[string]runtime.ProviderMetadataInfo{"instanceURL": {Value: "https://new.example.com", Source: "token"}}
		c3, err := f.s.UpdateConnectionTokens(f.ctx, f.a.ID, c.ID, 2, runtime.ConnectionTokens{
			Tokens: []byte("sealed-tokens-v3"), Scopes: []string{"api"}, ProviderMetadata: meta, Status: runtime.ConnectionCreated,
		})
		noErr(t, "UpdateConnectionTokens(2)", err)
		if c3.TokenVersion != 3 || !c3.TokenExpiry.IsZero() {
			t.Fatalf("after a second token write: version %d, expiry %v (want 3, unknown)", c3.TokenVersion, c3.TokenExpiry)
		}
		same(t, "scopes", []string{"api"}, c3.Scopes)
		same(t, "metadata", meta, c3.ProviderMetadata)

		_, err = f.s.UpdateConnectionTokens(f.ctx, f.a.ID, c.ID, 3, runtime.ConnectionTokens{Status: runtime.ConnectionCreated})
		wantCode(t, "UpdateConnectionTokens without tokens", err, runtime.EINVALID)
		_, err = f.s.UpdateConnectionTokens(f.ctx, f.a.ID, c.ID, 3, runtime.ConnectionTokens{Tokens: []byte("x"), Status: "fine"})
		wantCode(t, "UpdateConnectionTokens with an unknown status", err, runtime.EINVALID)
		_, err = f.s.UpdateConnectionTokens(f.ctx, f.a.ID, runtime.NewID(), 1, runtime.ConnectionTokens{Tokens: []byte("x"), Status: runtime.ConnectionCreated})
		wantCode(t, "UpdateConnectionTokens of a missing connection", err, runtime.ENOTFOUND)
	}},
	{"Status", func(t *testing.T, f *fixture) {
		c := f.connection(t, f.a.ID, "hubspot", "acme")
		w, err := f.s.SetConnectionStatus(f.ctx, f.a.ID, c.ID, 0, runtime.ConnectionWorking)
		noErr(t, "SetConnectionStatus(working, any version)", err)
		if w.Status != runtime.ConnectionWorking || w.TokenVersion != 1 {
			t.Fatalf("SetConnectionStatus returned status %q version %d", w.Status, w.TokenVersion)
		}
		_, err = f.s.UpdateConnectionTokens(f.ctx, f.a.ID, c.ID, 1, runtime.ConnectionTokens{Tokens: []byte("v2"), Status: runtime.ConnectionCreated})
		noErr(t, "UpdateConnectionTokens", err)
		// A refresh that failed with version 1's tokens must not mark the
		// re-authorised connection.
		_, err = f.s.SetConnectionStatus(f.ctx, f.a.ID, c.ID, 1, runtime.ConnectionBadCredentials)
		wantCode(t, "SetConnectionStatus with a stale version", err, runtime.ECONFLICT)
		bad, err := f.s.SetConnectionStatus(f.ctx, f.a.ID, c.ID, 2, runtime.ConnectionBadCredentials)
		noErr(t, "SetConnectionStatus(bad_credentials, 2)", err)
		if bad.Status != runtime.ConnectionBadCredentials || bad.TokenVersion != 2 {
			t.Fatalf("SetConnectionStatus returned status %q version %d", bad.Status, bad.TokenVersion)
		}
		got, err := f.s.GetConnection(f.ctx, f.a.ID, c.ID)
		noErr(t, "GetConnection", err)
		same(t, "GetConnection after SetConnectionStatus", bad, got)
		// A read that began with the refused tokens and succeeded anyway
		// must not hide the refusal.
		_, err = f.s.SetConnectionStatus(f.ctx, f.a.ID, c.ID, 2, runtime.ConnectionWorking)
		wantCode(t, "SetConnectionStatus(working) over bad_credentials", err, runtime.ECONFLICT)
		_, err = f.s.SetConnectionStatus(f.ctx, f.a.ID, c.ID, 0, runtime.ConnectionWorking)
		wantCode(t, "SetConnectionStatus(working, any version) over bad_credentials", err, runtime.ECONFLICT)
		renewed, err := f.s.UpdateConnectionTokens(f.ctx, f.a.ID, c.ID, 2, runtime.ConnectionTokens{Tokens: []byte("v3"), Status: runtime.ConnectionCreated})
		noErr(t, "UpdateConnectionTokens after bad_credentials", err)
		if renewed.Status != runtime.ConnectionCreated {
			t.Fatalf("reconnecting left status %q", renewed.Status)
		}
		_, err = f.s.SetConnectionStatus(f.ctx, f.a.ID, c.ID, 0, "active")
		wantCode(t, "SetConnectionStatus(unknown)", err, runtime.EINVALID)
		_, err = f.s.SetConnectionStatus(f.ctx, f.a.ID, runtime.NewID(), 0, runtime.ConnectionWorking)
		wantCode(t, "SetConnectionStatus of a missing connection", err, runtime.ENOTFOUND)
	}},
	{"DeleteInUse", func(t *testing.T, f *fixture) {
		i := f.integration(t, f.a.ID, "x", "dynamics")
		c := f.connection(t, f.a.ID, "dynamics", "acme")
		in := f.installation(t, i, c)
		wantCode(t, "DeleteConnection used by an installation", f.s.DeleteConnection(f.ctx, f.a.ID, c.ID), runtime.ECONFLICT)
		noErr(t, "DeleteInstallation", f.s.DeleteInstallation(f.ctx, f.a.ID, in.ID))
		noErr(t, "DeleteConnection", f.s.DeleteConnection(f.ctx, f.a.ID, c.ID))
	}},
}
