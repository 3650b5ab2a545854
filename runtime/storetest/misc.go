package storetest

import (
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

var destinationTests = []test{
	{"CRUD", func(t *testing.T, f *fixture) {
		before := time.Now()
		d := f.destination(t, f.a.ID, "accountWebhook")
		after := time.Now()
		if d.ID == "" || d.ProjectID != f.a.ID || string(d.SigningSecret) != "sealed-signing-secret-accountWebhook" {
			t.Fatalf("CreateDestination returned %+v", d)
		}
		wantTime(t, "CreateTime", d.CreateTime, before, after)
		got, err := f.s.GetDestination(f.ctx, f.a.ID, d.ID)
		noErr(t, "GetDestination", err)
		same(t, "GetDestination", d, got)
		got, err = f.s.GetDestinationByName(f.ctx, f.a.ID, "accountWebhook")
		noErr(t, "GetDestinationByName", err)
		same(t, "GetDestinationByName", d, got)

		e := f.destination(t, f.a.ID, "a-first")
		list, err := f.s.ListDestinations(f.ctx, f.a.ID)
		noErr(t, "ListDestinations", err)
		same(t, "ListDestinations (by name)", []*runtime.Destination{e, d}, list)

		meta := runtime.DestinationMetadata{URL: "https://hooks.example.com/v2"}
		upd, err := f.s.UpdateDestination(f.ctx, f.a.ID, d.ID, runtime.DestinationUpdate{
			Name: ptr("renamed"), Metadata: &meta, SigningSecret: []byte("sealed-rotated"),
		})
		noErr(t, "UpdateDestination", err)
		if upd.Name != "renamed" || string(upd.SigningSecret) != "sealed-rotated" || upd.Type != runtime.DestinationWebhook {
			t.Fatalf("UpdateDestination returned %+v", upd)
		}
		same(t, "metadata", meta, upd.Metadata)
		got, err = f.s.GetDestinationByName(f.ctx, f.a.ID, "renamed")
		noErr(t, "GetDestinationByName after rename", err)
		same(t, "GetDestinationByName after rename", upd, got)
		_, err = f.s.GetDestinationByName(f.ctx, f.a.ID, "accountWebhook")
		wantCode(t, "GetDestinationByName(old name)", err, runtime.ENOTFOUND)

		_, err = f.s.UpdateDestination(f.ctx, f.a.ID, d.ID, runtime.DestinationUpdate{Name: ptr("a-first")})
		wantCode(t, "UpdateDestination to a taken name", err, runtime.ECONFLICT)
		_, err = f.s.UpdateDestination(f.ctx, f.a.ID, d.ID, runtime.DestinationUpdate{Metadata: &runtime.DestinationMetadata{}})
		wantCode(t, "UpdateDestination without a URL", err, runtime.EINVALID)

		noErr(t, "DeleteDestination", f.s.DeleteDestination(f.ctx, f.a.ID, d.ID))
		_, err = f.s.GetDestination(f.ctx, f.a.ID, d.ID)
		wantCode(t, "GetDestination after delete", err, runtime.ENOTFOUND)
		wantCode(t, "DeleteDestination again", f.s.DeleteDestination(f.ctx, f.a.ID, d.ID), runtime.ENOTFOUND)
	}},
	{"Invalid", func(t *testing.T, f *fixture) {
		f.destination(t, f.a.ID, "hook")
		for _, tc := range []struct {
			name string
			d    runtime.Destination
			code string
		}{
			{"taken name", runtime.Destination{ProjectID: f.a.ID, Name: "hook", Type: "webhook", Metadata: runtime.DestinationMetadata{URL: "https://x"}}, runtime.ECONFLICT},
			{"no name", runtime.Destination{ProjectID: f.a.ID, Type: "webhook", Metadata: runtime.DestinationMetadata{URL: "https://x"}}, runtime.EINVALID},
			{"unknown type", runtime.Destination{ProjectID: f.a.ID, Name: "k", Type: "kinesis", Metadata: runtime.DestinationMetadata{URL: "https://x"}}, runtime.EINVALID},
			{"no url", runtime.Destination{ProjectID: f.a.ID, Name: "k", Type: "webhook"}, runtime.EINVALID},
			{"missing project", runtime.Destination{ProjectID: runtime.NewID(), Name: "k", Type: "webhook", Metadata: runtime.DestinationMetadata{URL: "https://x"}}, runtime.ENOTFOUND},
		} {
			wantCode(t, tc.name, f.s.CreateDestination(f.ctx, &tc.d), tc.code)
		}
		f.destination(t, f.b.ID, "hook") // names are per project
	}},
}

var apiKeyTests = []test{
	{"CRUD", func(t *testing.T, f *fixture) {
		before := time.Now()
		k := f.apiKey(t, f.a.ID, "amp_key_1")
		after := time.Now()
		if k.ID == "" || !k.Active {
			t.Fatalf("CreateAPIKey returned %+v", k)
		}
		wantTime(t, "CreateTime", k.CreateTime, before, after)
		got, err := f.s.GetAPIKeyByHash(f.ctx, keyHash("amp_key_1"))
		noErr(t, "GetAPIKeyByHash", err)
		same(t, "GetAPIKeyByHash", k, got)
		_, err = f.s.GetAPIKeyByHash(f.ctx, keyHash("amp_key_2"))
		wantCode(t, "GetAPIKeyByHash(unknown)", err, runtime.ENOTFOUND)

		k2 := f.apiKey(t, f.a.ID, "amp_key_2")
		f.apiKey(t, f.b.ID, "amp_key_b")
		list, err := f.s.ListAPIKeys(f.ctx, f.a.ID)
		noErr(t, "ListAPIKeys", err)
		if len(list) != 2 || !(list[0].ID == k.ID && list[1].ID == k2.ID || list[0].ID == k2.ID && list[1].ID == k.ID) {
			t.Fatalf("ListAPIKeys = %+v, want the project's two keys", list)
		}

		upd, err := f.s.UpdateAPIKey(f.ctx, f.a.ID, k.ID, runtime.APIKeyUpdate{Active: ptr(false), Label: ptr("revoked"), Scopes: ptr([]string{"frontend"})})
		noErr(t, "UpdateAPIKey", err)
		if upd.Active || upd.Label != "revoked" {
			t.Fatalf("UpdateAPIKey returned %+v", upd)
		}
		same(t, "scopes", []string{"frontend"}, upd.Scopes)
		// Inactive keys are still found: the caller refuses them.
		got, err = f.s.GetAPIKeyByHash(f.ctx, keyHash("amp_key_1"))
		noErr(t, "GetAPIKeyByHash(inactive)", err)
		same(t, "GetAPIKeyByHash(inactive)", upd, got)
		_, err = f.s.UpdateAPIKey(f.ctx, f.a.ID, k.ID, runtime.APIKeyUpdate{Label: ptr("")})
		wantCode(t, "UpdateAPIKey to an empty label", err, runtime.EINVALID)

		noErr(t, "DeleteAPIKey", f.s.DeleteAPIKey(f.ctx, f.a.ID, k.ID))
		_, err = f.s.GetAPIKeyByHash(f.ctx, keyHash("amp_key_1"))
		wantCode(t, "GetAPIKeyByHash after delete", err, runtime.ENOTFOUND)
		wantCode(t, "DeleteAPIKey again", f.s.DeleteAPIKey(f.ctx, f.a.ID, k.ID), runtime.ENOTFOUND)
	}},
	{"Invalid", func(t *testing.T, f *fixture) {
		f.apiKey(t, f.a.ID, "amp_key_1")
		for _, tc := range []struct {
			name string
			k    runtime.APIKey
			code string
		}{
			{"taken hash (in another project)", runtime.APIKey{ProjectID: f.b.ID, KeyHash: keyHash("amp_key_1"), Label: "x"}, runtime.ECONFLICT},
			{"short hash", runtime.APIKey{ProjectID: f.a.ID, KeyHash: []byte("short"), Label: "x"}, runtime.EINVALID},
			{"no label", runtime.APIKey{ProjectID: f.a.ID, KeyHash: keyHash("k")}, runtime.EINVALID},
			{"missing project", runtime.APIKey{ProjectID: runtime.NewID(), KeyHash: keyHash("k"), Label: "x"}, runtime.ENOTFOUND},
		} {
			wantCode(t, tc.name, f.s.CreateAPIKey(f.ctx, &tc.k), tc.code)
		}
	}},
}

var oauthStateTests = []test{
	{"SingleUse", func(t *testing.T, f *fixture) {
		now := time.Now()
		st := f.oauthState(t, f.a.ID, now.Add(10*time.Minute))
		if !st.UsedTime.IsZero() {
			t.Fatalf("a new state has UsedTime %v", st.UsedTime)
		}
		got, err := f.s.ConsumeOAuthState(f.ctx, st.State, now)
		noErr(t, "ConsumeOAuthState", err)
		want := *st
		want.UsedTime = runtime.Millis(now)
		same(t, "consumed state", &want, got)

		_, err = f.s.ConsumeOAuthState(f.ctx, st.State, now.Add(time.Second))
		wantCode(t, "ConsumeOAuthState again", err, runtime.EINVALID)
		_, err = f.s.ConsumeOAuthState(f.ctx, "never-issued-state-0123456789", now)
		wantCode(t, "ConsumeOAuthState(unknown)", err, runtime.ENOTFOUND)
	}},
	{"Expiry", func(t *testing.T, f *fixture) {
		base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		expire := base.Add(10 * time.Minute)
		late := f.oauthState(t, f.a.ID, expire)
		_, err := f.s.ConsumeOAuthState(f.ctx, late.State, expire.Add(time.Millisecond))
		wantCode(t, "ConsumeOAuthState after expiry", err, runtime.EINVALID)
		_, err = f.s.ConsumeOAuthState(f.ctx, late.State, expire)
		wantCode(t, "ConsumeOAuthState at expiry", err, runtime.EINVALID)

		onTime := f.oauthState(t, f.a.ID, expire)
		_, err = f.s.ConsumeOAuthState(f.ctx, onTime.State, expire.Add(-time.Millisecond))
		noErr(t, "ConsumeOAuthState just before expiry", err)
	}},
	{"Create", func(t *testing.T, f *fixture) {
		st := f.oauthState(t, f.a.ID, time.Now().Add(time.Minute))
		dup := *st
		dup.ProjectID = f.b.ID
		wantCode(t, "CreateOAuthState with a taken state", f.s.CreateOAuthState(f.ctx, &dup), runtime.ECONFLICT)
		for _, tc := range []struct {
			name   string
			change func(s *runtime.OAuthState)
			code   string
		}{
			{"short state", func(s *runtime.OAuthState) { s.State = "abc" }, runtime.EINVALID},
			{"no expiry", func(s *runtime.OAuthState) { s.ExpireTime = time.Time{} }, runtime.EINVALID},
			{"no group", func(s *runtime.OAuthState) { s.GroupRef = "" }, runtime.EINVALID},
			{"missing project", func(s *runtime.OAuthState) { s.ProjectID = runtime.NewID() }, runtime.ENOTFOUND},
		} {
			s := *st
			s.State = "another-state-0123456789abcdef"
			tc.change(&s)
			wantCode(t, tc.name, f.s.CreateOAuthState(f.ctx, &s), tc.code)
		}
	}},
	{"DeleteExpired", func(t *testing.T, f *fixture) {
		base := time.Now()
		soon := f.oauthState(t, f.a.ID, base.Add(time.Minute))
		used := f.oauthState(t, f.b.ID, base.Add(2*time.Minute))
		_, err := f.s.ConsumeOAuthState(f.ctx, used.State, base)
		noErr(t, "ConsumeOAuthState", err)
		later := f.oauthState(t, f.a.ID, base.Add(10*time.Minute))
		n, err := f.s.DeleteExpiredOAuthStates(f.ctx, base.Add(5*time.Minute))
		noErr(t, "DeleteExpiredOAuthStates", err)
		if n != 2 {
			t.Fatalf("DeleteExpiredOAuthStates deleted %d states, want 2", n)
		}
		_, err = f.s.ConsumeOAuthState(f.ctx, soon.State, base)
		wantCode(t, "ConsumeOAuthState of a deleted state", err, runtime.ENOTFOUND)
		_, err = f.s.ConsumeOAuthState(f.ctx, later.State, base)
		noErr(t, "ConsumeOAuthState of a kept state", err)
	}},
}
