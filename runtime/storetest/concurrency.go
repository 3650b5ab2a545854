package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
)

// writers is how many goroutines the concurrency tests run at once.
const writers = 20

// parallel runs fn(i) for i in [0, n) on n goroutines that start together,
// and returns their errors by i.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// exactlyOne fails the test unless exactly one of errs is nil and every
// other has the code.
func exactlyOne(t *testing.T, what string, errs []error, code string) {
	t.Helper()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case runtime.ErrorCode(err) != code:
			t.Errorf("%s: error code %q, want %q (error: %v)", what, runtime.ErrorCode(err), code, err)
		}
	}
	if ok != 1 {
		t.Fatalf("%s: %d calls succeeded, want exactly 1", what, ok)
	}
}

var concurrencyTests = []test{
	{"Installations", func(t *testing.T, f *fixture) {
		i := f.integration(t, f.a.ID, "x", "salesforce")
		conns := make([]*runtime.Connection, writers)
		errs := parallel(writers, func(n int) error {
			c := &runtime.Connection{ProjectID: f.a.ID, Provider: "salesforce", GroupRef: fmt.Sprintf("group-%02d", n),
				AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode, Status: runtime.ConnectionCreated, Tokens: []byte("t")}
			conns[n] = c
			return f.s.CreateConnection(f.ctx, c)
		})
		for n, err := range errs {
			noErr(t, fmt.Sprintf("concurrent CreateConnection %d", n), err)
		}
		errs = parallel(writers, func(n int) error {
			return f.s.CreateInstallation(f.ctx, &runtime.Installation{ProjectID: f.a.ID, IntegrationID: i.ID,
				GroupRef: conns[n].GroupRef, ConnectionID: conns[n].ID,
				Config: runtime.InstallationConfig{Content: sampleContent("salesforce")}})
		})
		for n, err := range errs {
			noErr(t, fmt.Sprintf("concurrent CreateInstallation %d", n), err)
		}
		list, err := f.s.ListInstallations(f.ctx, f.a.ID, runtime.InstallationFilter{IntegrationID: i.ID})
		noErr(t, "ListInstallations", err)
		if len(list) != writers {
			t.Fatalf("%d installations after %d concurrent creates", len(list), writers)
		}
	}},
	{"ReadsDuringWrites", func(t *testing.T, f *fixture) {
		i := f.integration(t, f.a.ID, "x", "hubspot")
		errs := parallel(2*writers, func(n int) error {
			if n%2 == 0 {
				_, err := f.s.DeployIntegrations(f.ctx, f.a.ID, []runtime.IntegrationDeploy{deployOf("x", "hubspot", 100+n)})
				return err
			}
			got, err := f.s.GetIntegration(f.ctx, f.a.ID, i.ID)
			if err == nil && got.LatestRevision == nil {
				err = fmt.Errorf("integration read without its latest revision")
			}
			return err
		})
		for n, err := range errs {
			noErr(t, fmt.Sprintf("call %d", n), err)
		}
		revs, err := f.s.ListRevisions(f.ctx, f.a.ID, i.ID)
		noErr(t, "ListRevisions", err)
		if len(revs) != writers+1 {
			t.Fatalf("%d revisions after %d changing deploys, want %d", len(revs), writers, writers+1)
		}
		for k, r := range revs {
			if want := len(revs) - k; r.Number != want {
				t.Fatalf("revision %d has number %d, want %d", k, r.Number, want)
			}
		}
	}},
	{"TokenRefreshRace", func(t *testing.T, f *fixture) {
		c := f.connection(t, f.a.ID, "salesforce", "acme")
		errs := parallel(writers, func(n int) error {
			_, err := f.s.UpdateConnectionTokens(f.ctx, f.a.ID, c.ID, c.TokenVersion, runtime.ConnectionTokens{
				Tokens: fmt.Appendf(nil, "sealed-tokens-from-%d", n), Status: runtime.ConnectionCreated,
			})
			return err
		})
		exactlyOne(t, "concurrent token writes of one version", errs, runtime.ECONFLICT)
		got, err := f.s.GetConnection(f.ctx, f.a.ID, c.ID)
		noErr(t, "GetConnection", err)
		if got.TokenVersion != 2 {
			t.Fatalf("TokenVersion = %d after one successful write, want 2", got.TokenVersion)
		}
		var winner int
		for n, err := range errs {
			if err == nil {
				winner = n
			}
		}
		same(t, "stored tokens", fmt.Sprintf("sealed-tokens-from-%d", winner), string(got.Tokens))
	}},
	{"ConsumeRace", func(t *testing.T, f *fixture) {
		st := f.oauthState(t, f.a.ID, time.Now().Add(time.Minute))
		errs := parallel(writers, func(int) error {
			_, err := f.s.ConsumeOAuthState(f.ctx, st.State, time.Now())
			return err
		})
		exactlyOne(t, "concurrent consumes of one state", errs, runtime.EINVALID)
	}},
	{"DeployRace", func(t *testing.T, f *fixture) {
		results := make([]runtime.DeployResult, writers)
		errs := parallel(writers, func(n int) error {
			res, err := f.s.DeployIntegrations(f.ctx, f.a.ID, []runtime.IntegrationDeploy{deployOf("x", "salesforce", 1)})
			if err == nil {
				results[n] = res[0]
			}
			return err
		})
		created := 0
		for n, err := range errs {
			noErr(t, fmt.Sprintf("concurrent deploy %d", n), err)
			if results[n].Created {
				created++
			}
			if results[n].Changed != results[n].Created {
				t.Errorf("deploy %d: Created=%v Changed=%v", n, results[n].Created, results[n].Changed)
			}
		}
		if created != 1 {
			t.Fatalf("%d concurrent deploys of the same manifest created the integration, want 1", created)
		}
		revs, err := f.s.ListRevisions(f.ctx, f.a.ID, results[0].Integration.ID)
		noErr(t, "ListRevisions", err)
		if len(revs) != 1 {
			t.Fatalf("%d revisions after concurrent identical deploys, want 1", len(revs))
		}
	}},
}

var timeTests = []test{
	{"MillisecondRoundTrip", func(t *testing.T, f *fixture) {
		// A time with sub-millisecond digits, in another zone.
		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		expiry := time.Date(2031, 3, 4, 5, 6, 7, 891234567, zone)
		want := time.Date(2031, 3, 4, 5, 6, 7, 891000000, zone).UTC()

		c := f.connection(t, f.a.ID, "salesforce", "acme")
		c2, err := f.s.UpdateConnectionTokens(f.ctx, f.a.ID, c.ID, 1, runtime.ConnectionTokens{
			Tokens: []byte("t2"), TokenExpiry: expiry, Status: runtime.ConnectionCreated,
		})
		noErr(t, "UpdateConnectionTokens", err)
		got, err := f.s.GetConnection(f.ctx, f.a.ID, c.ID)
		noErr(t, "GetConnection", err)
		for _, tm := range []time.Time{c2.TokenExpiry, got.TokenExpiry} {
			if !tm.Equal(want) || tm.Location() != time.UTC {
				t.Fatalf("TokenExpiry = %v, want %v", tm, want)
			}
		}

		st := f.oauthState(t, f.a.ID, expiry)
		if !st.ExpireTime.Equal(want) || st.ExpireTime.Location() != time.UTC {
			t.Fatalf("ExpireTime = %v, want %v", st.ExpireTime, want)
		}
		used := expiry.Add(-time.Hour) // sub-millisecond digits too
		consumed, err := f.s.ConsumeOAuthState(f.ctx, st.State, used)
		noErr(t, "ConsumeOAuthState", err)
		if !consumed.ExpireTime.Equal(want) || !consumed.UsedTime.Equal(runtime.Millis(used)) {
			t.Fatalf("consumed state: ExpireTime %v, UsedTime %v", consumed.ExpireTime, consumed.UsedTime)
		}
	}},
	{"StoreSetTimes", func(t *testing.T, f *fixture) {
		before := time.Now()
		i := f.integration(t, f.a.ID, "x", "salesforce")
		c := f.connection(t, f.a.ID, "salesforce", "acme")
		in := f.installation(t, i, c)
		after := time.Now()
		for what, tm := range map[string]time.Time{
			"project CreateTime":             f.a.CreateTime,
			"integration UpdateTime":         i.UpdateTime,
			"revision CreateTime":            i.LatestRevision.CreateTime,
			"connection UpdateTime":          c.UpdateTime,
			"installation UpdateTime":        in.UpdateTime,
			"installation Config.CreateTime": in.Config.CreateTime,
		} {
			if what == "project CreateTime" {
				wantTime(t, what, tm, before.Add(-time.Hour), after) // made by setup, earlier
				continue
			}
			wantTime(t, what, tm, before, after)
		}
		if !c.TokenExpiry.Equal(runtime.Millis(c.TokenExpiry)) {
			t.Errorf("TokenExpiry %v has sub-millisecond digits", c.TokenExpiry)
		}
	}},
}
