package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

// rowsOf is one of each kind of project-owned row.
type rowsOf struct {
	App   *runtime.ProviderApp
	Integ *runtime.Integration
	Conn  *runtime.Connection
	Inst  *runtime.Installation
	Dest  *runtime.Destination
	Key   *runtime.APIKey
}

func (f *fixture) rows(t *testing.T, projectID string) rowsOf {
	t.Helper()
	var r rowsOf
	r.App = f.providerApp(t, projectID, "salesforce")
	r.Integ = f.integration(t, projectID, "readAccounts", "salesforce")
	r.Conn = f.connection(t, projectID, "salesforce", "acme")
	r.Inst = f.installation(t, r.Integ, r.Conn)
	r.Dest = f.destination(t, projectID, "hook")
	r.Key = f.apiKey(t, projectID, "amp_key_"+projectID)
	return r
}

// snapshot reads every row of r through project projectID.
func (f *fixture) snapshot(t *testing.T, projectID string, r rowsOf) rowsOf {
	t.Helper()
	var s rowsOf
	var err error
	s.App, err = f.s.GetProviderApp(f.ctx, projectID, r.App.ID)
	noErr(t, "GetProviderApp", err)
	s.Integ, err = f.s.GetIntegration(f.ctx, projectID, r.Integ.ID)
	noErr(t, "GetIntegration", err)
	s.Conn, err = f.s.GetConnection(f.ctx, projectID, r.Conn.ID)
	noErr(t, "GetConnection", err)
	s.Inst, err = f.s.GetInstallation(f.ctx, projectID, r.Inst.ID)
	noErr(t, "GetInstallation", err)
	s.Dest, err = f.s.GetDestination(f.ctx, projectID, r.Dest.ID)
	noErr(t, "GetDestination", err)
	s.Key, err = f.s.GetAPIKeyByHash(f.ctx, r.Key.KeyHash)
	noErr(t, "GetAPIKeyByHash", err)
	return s
}

var isolationTests = []test{
	{"OtherProjectSeesNotFound", func(t *testing.T, f *fixture) {
		a := f.rows(t, f.a.ID)
		f.rows(t, f.b.ID) // B has rows of its own, with the same names
		before := f.snapshot(t, f.a.ID, a)
		b := f.b.ID
		content := runtime.ConfigContent{Provider: "salesforce"}

		calls := []struct {
			name string
			call func(ctx context.Context, s runtime.Store) error
		}{
			{"GetProviderApp", func(ctx context.Context, s runtime.Store) error {
				_, err := s.GetProviderApp(ctx, b, a.App.ID)
				return err
			}},
			{"UpdateProviderApp", func(ctx context.Context, s runtime.Store) error {
				_, err := s.UpdateProviderApp(ctx, b, a.App.ID, runtime.ProviderAppUpdate{ClientID: ptr("stolen")})
				return err
			}},
			{"DeleteProviderApp", func(ctx context.Context, s runtime.Store) error {
				return s.DeleteProviderApp(ctx, b, a.App.ID)
			}},
			{"GetIntegration", func(ctx context.Context, s runtime.Store) error {
				_, err := s.GetIntegration(ctx, b, a.Integ.ID)
				return err
			}},
			{"DeleteIntegration", func(ctx context.Context, s runtime.Store) error {
				return s.DeleteIntegration(ctx, b, a.Integ.ID)
			}},
			{"GetRevision", func(ctx context.Context, s runtime.Store) error {
				_, err := s.GetRevision(ctx, b, a.Integ.ID, a.Integ.LatestRevisionID)
				return err
			}},
			{"ListRevisions", func(ctx context.Context, s runtime.Store) error {
				_, err := s.ListRevisions(ctx, b, a.Integ.ID)
				return err
			}},
			{"GetConnection", func(ctx context.Context, s runtime.Store) error {
				_, err := s.GetConnection(ctx, b, a.Conn.ID)
				return err
			}},
			{"UpdateConnection", func(ctx context.Context, s runtime.Store) error {
				_, err := s.UpdateConnection(ctx, b, a.Conn.ID, runtime.ConnectionUpdate{ProviderWorkspaceRef: ptr("evil")})
				return err
			}},
			{"UpdateConnectionTokens", func(ctx context.Context, s runtime.Store) error {
				_, err := s.UpdateConnectionTokens(ctx, b, a.Conn.ID, a.Conn.TokenVersion,
					runtime.ConnectionTokens{Tokens: []byte("evil"), Status: runtime.ConnectionCreated})
				return err
			}},
			{"SetConnectionStatus", func(ctx context.Context, s runtime.Store) error {
				_, err := s.SetConnectionStatus(ctx, b, a.Conn.ID, 0, runtime.ConnectionBadCredentials)
				return err
			}},
			{"DeleteConnection", func(ctx context.Context, s runtime.Store) error {
				return s.DeleteConnection(ctx, b, a.Conn.ID)
			}},
			{"GetInstallation", func(ctx context.Context, s runtime.Store) error {
				_, err := s.GetInstallation(ctx, b, a.Inst.ID)
				return err
			}},
			{"UpdateInstallation", func(ctx context.Context, s runtime.Store) error {
				_, err := s.UpdateInstallation(ctx, b, a.Inst.ID, runtime.InstallationUpdate{Config: runtime.InstallationConfig{Content: content}})
				return err
			}},
			{"DeleteInstallation", func(ctx context.Context, s runtime.Store) error {
				return s.DeleteInstallation(ctx, b, a.Inst.ID)
			}},
			{"GetDestination", func(ctx context.Context, s runtime.Store) error {
				_, err := s.GetDestination(ctx, b, a.Dest.ID)
				return err
			}},
			{"UpdateDestination", func(ctx context.Context, s runtime.Store) error {
				_, err := s.UpdateDestination(ctx, b, a.Dest.ID, runtime.DestinationUpdate{Metadata: &runtime.DestinationMetadata{URL: "https://evil"}})
				return err
			}},
			{"DeleteDestination", func(ctx context.Context, s runtime.Store) error {
				return s.DeleteDestination(ctx, b, a.Dest.ID)
			}},
			{"UpdateAPIKey", func(ctx context.Context, s runtime.Store) error {
				_, err := s.UpdateAPIKey(ctx, b, a.Key.ID, runtime.APIKeyUpdate{Active: ptr(false)})
				return err
			}},
			{"DeleteAPIKey", func(ctx context.Context, s runtime.Store) error {
				return s.DeleteAPIKey(ctx, b, a.Key.ID)
			}},
			// References from B's rows to A's rows.
			{"CreateInstallation(A's integration)", func(ctx context.Context, s runtime.Store) error {
				bConn := f.connection(t, b, "salesforce", "globex")
				return s.CreateInstallation(ctx, &runtime.Installation{ProjectID: b, IntegrationID: a.Integ.ID, GroupRef: "globex",
					ConnectionID: bConn.ID, Config: runtime.InstallationConfig{Content: content}})
			}},
			{"CreateInstallation(A's connection)", func(ctx context.Context, s runtime.Store) error {
				bInteg := f.integration(t, b, "other", "salesforce")
				return s.CreateInstallation(ctx, &runtime.Installation{ProjectID: b, IntegrationID: bInteg.ID, GroupRef: "acme",
					ConnectionID: a.Conn.ID, Config: runtime.InstallationConfig{Content: content}})
			}},
			{"CreateInstallation(A's revision)", func(ctx context.Context, s runtime.Store) error {
				bInteg := f.integration(t, b, "third", "salesforce")
				bConn, err := s.ListConnections(ctx, b, runtime.ConnectionFilter{Provider: "salesforce", GroupRef: "acme"})
				if err != nil || len(bConn) != 1 {
					t.Fatalf("ListConnections(B): %v, %d", err, len(bConn))
				}
				return s.CreateInstallation(ctx, &runtime.Installation{ProjectID: b, IntegrationID: bInteg.ID, GroupRef: "acme",
					ConnectionID: bConn[0].ID, Config: runtime.InstallationConfig{RevisionID: a.Integ.LatestRevisionID, Content: content}})
			}},
		}
		for _, c := range calls {
			wantCode(t, "project B: "+c.name+" of A's row", c.call(f.ctx, f.s), runtime.ENOTFOUND)
		}

		// Lookups by name find B's own row of that name, never A's.
		gi, err := f.s.GetIntegrationByName(f.ctx, b, "readAccounts")
		noErr(t, "GetIntegrationByName(B)", err)
		ga, err := f.s.GetProviderAppByProvider(f.ctx, b, "salesforce")
		noErr(t, "GetProviderAppByProvider(B)", err)
		gd, err := f.s.GetDestinationByName(f.ctx, b, "hook")
		noErr(t, "GetDestinationByName(B)", err)
		if gi.ID == a.Integ.ID || ga.ID == a.App.ID || gd.ID == a.Dest.ID {
			t.Fatal("a lookup by name in project B returned a row of project A")
		}

		// B's lists hold only B's rows.
		apps, err := f.s.ListProviderApps(f.ctx, b)
		noErr(t, "ListProviderApps(B)", err)
		integs, err := f.s.ListIntegrations(f.ctx, b)
		noErr(t, "ListIntegrations(B)", err)
		conns, err := f.s.ListConnections(f.ctx, b, runtime.ConnectionFilter{})
		noErr(t, "ListConnections(B)", err)
		insts, err := f.s.ListInstallations(f.ctx, b, runtime.InstallationFilter{})
		noErr(t, "ListInstallations(B)", err)
		insts2, err := f.s.ListInstallations(f.ctx, b, runtime.InstallationFilter{IntegrationID: a.Integ.ID})
		noErr(t, "ListInstallations(B, A's integration)", err)
		dests, err := f.s.ListDestinations(f.ctx, b)
		noErr(t, "ListDestinations(B)", err)
		keys, err := f.s.ListAPIKeys(f.ctx, b)
		noErr(t, "ListAPIKeys(B)", err)
		check := func(what, projectID string) {
			t.Helper()
			if projectID != b {
				t.Errorf("%s of project B holds a row of project %s", what, projectID)
			}
		}
		for _, r := range apps {
			check("ListProviderApps", r.ProjectID)
		}
		for _, r := range integs {
			check("ListIntegrations", r.ProjectID)
		}
		for _, r := range conns {
			check("ListConnections", r.ProjectID)
		}
		for _, r := range insts {
			check("ListInstallations", r.ProjectID)
		}
		if len(insts2) != 0 {
			t.Errorf("ListInstallations(B, A's integration) = %d rows, want none", len(insts2))
		}
		for _, r := range dests {
			check("ListDestinations", r.ProjectID)
		}
		for _, r := range keys {
			check("ListAPIKeys", r.ProjectID)
		}

		// Nothing of A changed.
		same(t, "A's rows after B's attempts", before, f.snapshot(t, f.a.ID, a))
	}},
	{"DeployIsPerProject", func(t *testing.T, f *fixture) {
		ra := f.deploy(t, f.a.ID, deployOf("x", "salesforce", 1))[0]
		rb := f.deploy(t, f.b.ID, deployOf("x", "salesforce", 1))[0]
		if !rb.Created || rb.Integration.ID == ra.Integration.ID {
			t.Fatalf("deploying the same name in B: Created=%v, same ID=%v", rb.Created, rb.Integration.ID == ra.Integration.ID)
		}
		// A change in B leaves A alone.
		f.deploy(t, f.b.ID, deployOf("x", "salesforce", 2))
		got, err := f.s.GetIntegration(f.ctx, f.a.ID, ra.Integration.ID)
		noErr(t, "GetIntegration(A)", err)
		same(t, "A's integration after B's deploy", &ra.Integration, got)
	}},
	{"OAuthStateKnowsItsProject", func(t *testing.T, f *fixture) {
		st := f.oauthState(t, f.b.ID, time.Now().Add(time.Minute))
		got, err := f.s.ConsumeOAuthState(f.ctx, st.State, time.Now())
		noErr(t, "ConsumeOAuthState", err)
		same(t, "project of the consumed state", f.b.ID, got.ProjectID)
		k := f.apiKey(t, f.b.ID, "amp_b")
		gotKey, err := f.s.GetAPIKeyByHash(f.ctx, k.KeyHash)
		noErr(t, "GetAPIKeyByHash", err)
		same(t, "project of the key", f.b.ID, gotKey.ProjectID)
	}},
}
