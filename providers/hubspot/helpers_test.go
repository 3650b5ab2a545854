package hubspot_test

import (
	"fmt"
	"maps"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
	"github.com/ampforge/amp/providers/hubspot/fake"
)

// setup is one connector wired to one fake through an auth client whose
// OAuthSource refreshes at the fake's token endpoint.
type setup struct {
	fake *fake.Server
	srv  *httptest.Server
	conn *hubspot.Client
	ts   *providers.OAuthSource
}

func newSetup(t testing.TB, opts fake.Options, onQuota func(providers.Quota)) *setup {
	t.Helper()
	return newSetupWith(t, opts, onQuota, nil)
}

// newSetupWith is newSetup with more connection metadata.
func newSetupWith(t testing.TB, opts fake.Options, onQuota func(providers.Quota), md map[string]string) *setup {
	t.Helper()
	f := fake.New(opts)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	access, refresh := f.Issue()
	cfg, _ := hubspot.OAuthConfig("client-id", "client-secret", "https://app.example/cb", nil, nil)
	cfg.Endpoint.TokenURL = srv.URL + "/oauth/v1/token"
	ts := providers.NewOAuthSource(cfg, &oauth2.Token{AccessToken: access, RefreshToken: refresh, TokenType: "bearer", Expiry: time.Now().Add(30 * time.Minute)}, srv.Client(), nil)
	meta := searchMetadata(opts)
	if len(md) > 0 && meta == nil {
		meta = map[string]string{}
	}
	maps.Copy(meta, md)
	conn, err := hubspot.New(providers.Config{HTTPClient: providers.NewAuthClient(srv.Client(), ts), BaseURL: srv.URL, OnQuota: onQuota,
		Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
	return &setup{fake: f, srv: srv, conn: conn, ts: ts}
}

// noSearchLimit turns off the fake's search-per-second limit, which a
// test reading many search pages in under a second would otherwise trip.
func noSearchLimit(records int) fake.Options {
	return fake.Options{Options: fakekit.Options{Records: records, Limits: fakekit.Limits{SearchPerSecond: -1}}}
}

// searchMetadata tells the connector the fake's search limit: none when
// the fake has none (-1), HubSpot's own when it is left at zero.
func searchMetadata(opts fake.Options) map[string]string {
	switch n := opts.Limits.SearchPerSecond; {
	case n < 0:
		return map[string]string{hubspot.MetadataSearchPerSecond: "0"}
	case n > 0:
		return map[string]string{hubspot.MetadataSearchPerSecond: strconv.Itoa(n)}
	}
	return nil
}

func newContact(i int) map[string]any {
	return map[string]any{"firstname": "New", "lastname": fmt.Sprintf("Contact %d", i), "email": fmt.Sprintf("new%d@example.org", i)}
}
