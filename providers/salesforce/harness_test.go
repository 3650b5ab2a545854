package salesforce

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/salesforce/fake"
)

const (
	testClientID     = "amp-test-client"
	testClientSecret = "amp-test-secret"
)

// fixture is a connector wired to a fresh fake over an auth client that
// refreshes through the fake's token endpoint.
type fixture struct {
	fake   *fake.Server
	srv    *httptest.Server
	client *Client
	src    *providers.OAuthSource
	quotas []providers.Quota
}

func newFixture(t testing.TB, opts fake.Options) *fixture {
	t.Helper()
	opts.ClientID, opts.ClientSecret = testClientID, testClientSecret
	fk := fake.New(opts)
	srv := httptest.NewServer(fk)
	t.Cleanup(srv.Close)
	access, refresh := fk.Issue()
	cfg := fakeConfig(t, srv.URL, []string{"api", "refresh_token"})
	src := providers.NewOAuthSource(cfg, &oauth2.Token{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer"}, srv.Client(), nil)
	f := &fixture{fake: fk, srv: srv, src: src}
	c, err := New(providers.Config{
		HTTPClient: providers.NewAuthClient(srv.Client(), src),
		BaseURL:    srv.URL,
		OnQuota:    func(q providers.Quota) { f.quotas = append(f.quotas, q) },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.SetBulkPolling(0, 0, 0)
	f.client = c
	return f
}

func smallPages(records int) fake.Options {
	return fake.Options{Options: fakekit.Options{Records: records}, MinBatchSize: 1}
}

func accountHarness(t *testing.T) *providertestHarness {
	f := newFixture(t, smallPages(100))
	return &providertestHarness{
		Connector: f.client, Fake: f.fake,
		Object: "account", Count: 100,
		Fields:       []string{"name", "billingcity", "industry", "tier__c"},
		CustomObject: "invoice__c", CustomField: "tier__c",
		NewRecord: func(i int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("New Co %d", i), "billingcity": "Oslo", "tier__c": "Gold"}
		},
		UpdateField:   "billingcity",
		UpdateValue:   func(i int) any { return fmt.Sprintf("Updated City %d", i) },
		InvalidRecord: func(i int) map[string]any { return map[string]any{"description": fmt.Sprintf("no name %d", i)} },
		PageSizes:     []int{7, 25, 100},
	}
}

func httptestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }
