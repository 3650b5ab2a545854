package dynamics

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/dynamics/fake"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/providertest"
)

// fixture is a connector wired to a fresh fake through an auth client
// that refreshes at the fake's token endpoint.
type fixture struct {
	srv    *fake.Server
	ts     *httptest.Server
	client *Client
	source *providers.OAuthSource
}

func newFixture(t testing.TB, opts fake.Options) *fixture {
	t.Helper()
	srv := fake.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	access, refresh := srv.Issue()
	cfg, _ := OAuthConfig("amp-client", "amp-secret", "http://127.0.0.1/callback", map[string]string{"workspace": "contoso"}, nil)
	cfg.Endpoint.TokenURL = ts.URL + "/organizations/oauth2/v2.0/token"
	cfg.Endpoint.AuthURL = ts.URL + "/organizations/oauth2/v2.0/authorize"
	src := providers.NewOAuthSource(cfg, &oauth2.Token{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer"}, ts.Client(), nil)
	c, err := New(providers.Config{HTTPClient: providers.NewAuthClient(ts.Client(), src), BaseURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, ts: ts, client: c, source: src}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	const count = 57
	providertest.Run(t, func(t *testing.T) *providertest.Harness {
		f := newFixture(t, fake.Options{Options: fakekit.Options{Records: count}})
		return &providertest.Harness{
			Connector:    f.client,
			Fake:         f.srv,
			Object:       "accounts",
			Count:        count,
			Fields:       []string{"name", "accountnumber", "emailaddress1", "telephone1", "industrycode", "new_tier"},
			CustomObject: "new_projects",
			CustomField:  "new_tier",
			NewRecord: func(i int) map[string]any {
				return map[string]any{"name": fmt.Sprintf("Conformance %d", i), "accountnumber": fmt.Sprintf("CONF-%d", i), "numberofemployees": float64(10 + i)}
			},
			UpdateField: "telephone1",
			UpdateValue: func(i int) any { return fmt.Sprintf("+1 555 01%02d", i) },
			InvalidRecord: func(i int) map[string]any {
				return map[string]any{"name": fmt.Sprintf("Invalid %d", i), "nosuchcolumn": "x"}
			},
			PageSizes: []int{1, 10, 19, count},
		}
	})
}
