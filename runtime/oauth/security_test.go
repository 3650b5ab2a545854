package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/providers/dynamics"
	"github.com/ampforge/amp/providers/fakekit"
	"github.com/ampforge/amp/providers/hubspot"
	"github.com/ampforge/amp/providers/salesforce"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/oauth"
	"github.com/ampforge/amp/runtime/seal"
)

// attacker is a host a customer might type in; it counts what reaches it.
func attacker(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"a","refresh_token":"r","token_type":"Bearer","instance_url":"https://attacker.example"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// realService is a Service with no endpoint override for provider: the
// provider's own hosts are the only ones it may use.
func (e *env) realService(t *testing.T) *oauth.Service {
	t.Helper()
	svc, err := oauth.New(oauth.Config{Store: e.store, Sealer: e.sealer, PublicURL: e.api.URL, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestLoginHostCannotMoveEndpoints: a typed loginHost picks only
// Salesforce's own login hosts, for the authorize URL and for the token
// endpoint of a refresh (which receives the client secret).
func TestLoginHostCannotMoveEndpoints(t *testing.T) {
	f := newFake(t, salesforce.Name, fakeOpts{})
	e := newEnv(t, nil, f)
	svc := e.realService(t)
	evil, hits := attacker(t)
	ctx := context.Background()
	start := func(loginHost string) (string, error) {
		return svc.Start(ctx, oauth.StartRequest{ProjectID: e.projectID, Provider: salesforce.Name, GroupRef: "acme", ConsumerRef: "u",
			ProviderInputs: map[string]string{salesforce.InputLoginHost: loginHost}})
	}
	for _, host := range []string{evil.URL, "attacker.example", "https://acme.my.salesforce.com.attacker.example", "http://acme.my.salesforce.com"} {
		u, err := start(host)
		if runtime.ErrorCode(err) != runtime.EINVALID || !strings.Contains(runtime.ErrorMessage(err), "login host") {
			t.Errorf("Start with loginHost %q = %q, %v; want EINVALID naming the login host", host, u, err)
		}
	}
	if u, err := start("acme"); err != nil || !strings.HasPrefix(u, "https://acme.my.salesforce.com/services/oauth2/authorize?") {
		t.Errorf("Start with a My Domain name = %q, %v", u, err)
	}
	// Through the API too: 400, no authorize URL.
	resp, err := http.Post(e.api.URL+"/v1/oauth-connect", "application/json", strings.NewReader(fmt.Sprintf(
		`{"projectIdOrName":"default","provider":"salesforce","groupRef":"g","consumerRef":"u","providerMetadata":{"loginHost":{"value":%q,"source":"input"}}}`, evil.URL)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || strings.Contains(string(b), evil.URL+"/services") {
		t.Errorf("oauth-connect with a foreign login host = %d %s", resp.StatusCode, b)
	}

	// A connection whose stored inputs name another host (an import, an
	// older row) never refreshes there.
	c, err := svc.Import(ctx, oauth.ImportRequest{ProjectID: e.projectID, Provider: salesforce.Name, GroupRef: "imported", ConsumerRef: "u",
		RefreshToken: "refresh", ProviderMetadata: map[string]runtime.ProviderMetadataInfo{
			salesforce.InputLoginHost: {Value: evil.URL, Source: "input"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := svc.TokenSource(ctx, e.projectID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(ctx); err == nil {
		t.Error("refresh through a foreign login host succeeded")
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the foreign login host received %d requests", n)
	}
}

// TestTokenMetadataBeatsTypedMetadata: instance_url comes from the token
// response, whatever the customer typed.
func TestTokenMetadataBeatsTypedMetadata(t *testing.T) {
	f := newFake(t, salesforce.Name, fakeOpts{})
	e := newEnv(t, nil, f)
	f.inputs = map[string]string{"instance_url": "https://attacker.example"}
	c := e.mustConnect(salesforce.Name, "acme")
	if got := c.ProviderMetadata["instance_url"]; got.Value != f.srv.URL || got.Source != "token" {
		t.Fatalf("instance_url = %+v, want %s from the token", got, f.srv.URL)
	}
}

// TestConnectRefusesSecondConnectionOfGroup: oauth-connect and Import do
// not replace a group's connection; :oauth-update does.
func TestConnectRefusesSecondConnectionOfGroup(t *testing.T) {
	f := newFake(t, hubspot.Name, fakeOpts{})
	e := newEnv(t, nil, f)
	ctx := context.Background()
	// Two consents started before either finished: the second callback is
	// refused.
	u1, u2 := e.connect(hubspot.Name, "acme"), e.connect(hubspot.Name, "acme")
	if status, page, _ := e.browse(u1, nil); status != 200 || !strings.Contains(page, "AUTHORIZATION_SUCCEEDED") {
		t.Fatalf("first consent: %d %s", status, page)
	}
	first, _ := e.store.ListConnections(ctx, e.projectID, runtime.ConnectionFilter{})
	if len(first) != 1 {
		t.Fatalf("%d connections", len(first))
	}
	c := first[0]
	if status, page, _ := e.browse(u2, nil); status != 400 || !strings.Contains(page, "already has a connection") || !strings.Contains(page, ":oauth-update") {
		t.Fatalf("second consent of the group: %d %s", status, page)
	}
	// oauth-connect refuses at once: 409.
	resp, err := http.Post(e.api.URL+"/v1/oauth-connect", "application/json", strings.NewReader(
		`{"projectIdOrName":"default","provider":"hubspot","groupRef":"acme","consumerRef":"mallory"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "group acme already has a connection to hubspot") {
		t.Errorf("oauth-connect for a connected group = %d %s", resp.StatusCode, b)
	}
	access, refresh := f.kit.Tokens.Issue(fakekit.Grant{ClientID: clientID})
	_, err = e.svc.Import(ctx, oauth.ImportRequest{ProjectID: e.projectID, Provider: hubspot.Name, GroupRef: "acme", ConsumerRef: "u",
		AccessToken: access, RefreshToken: refresh})
	if runtime.ErrorCode(err) != runtime.ECONFLICT {
		t.Errorf("Import into a connected group = %v, want ECONFLICT", err)
	}
	now, _ := e.store.GetConnection(ctx, e.projectID, c.ID)
	if now.TokenVersion != c.TokenVersion || string(now.Tokens) != string(c.Tokens) {
		t.Error("the group's tokens were replaced")
	}
	if err := e.get(ctx, now); err != nil {
		t.Fatal(err)
	}
}

// TestRefreshRefusedClientIsNotBadCredentials: a wrong client secret is the
// builder's to fix; the connection is not marked and works again once the
// provider app is fixed.
func TestRefreshRefusedClientIsNotBadCredentials(t *testing.T) {
	for _, provider := range []string{salesforce.Name, hubspot.Name, dynamics.Name} {
		t.Run(provider, func(t *testing.T) {
			f := newFake(t, provider, fakeOpts{ttl: time.Minute})
			e := newEnv(t, f.kit.Now, f)
			c := e.mustConnect(provider, "acme")
			ctx := context.Background()
			app, err := e.store.GetProviderAppByProvider(ctx, e.projectID, provider)
			if err != nil {
				t.Fatal(err)
			}
			setSecret := func(secret string) {
				sealed, err := e.sealer.Seal(seal.PurposeClientSecret, []byte(secret), seal.AAD(e.projectID, app.ID, "clientSecret"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.store.UpdateProviderApp(ctx, e.projectID, app.ID, runtime.ProviderAppUpdate{ClientSecret: sealed}); err != nil {
					t.Fatal(err)
				}
			}
			setSecret("a-wrong-secret")
			f.kit.Advance(time.Minute)
			for range 2 {
				err := e.get(ctx, c)
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Kind != providers.KindAuth || pe.Code != "invalid_client" || !strings.Contains(pe.Message, "provider app "+app.ID) {
					t.Fatalf("refresh with a wrong client secret: %v, want KindAuth invalid_client naming the provider app", err)
				}
				if got, _ := e.store.GetConnection(ctx, e.projectID, c.ID); got.Status != runtime.ConnectionCreated {
					t.Fatalf("status after a refused client = %s, want created", got.Status)
				}
			}
			if got := f.refreshes.Load(); got != 2 {
				t.Errorf("%d refresh attempts, want 2 (a refused client does not stop refreshes)", got)
			}
			setSecret(clientSecret)
			if err := e.get(ctx, c); err != nil {
				t.Fatalf("after fixing the provider app: %v", err)
			}
		})
	}
}

// TestRefreshTimesOut: a token endpoint that never answers does not hold
// the connection's callers forever.
func TestRefreshTimesOut(t *testing.T) {
	f := newFake(t, hubspot.Name, fakeOpts{ttl: time.Minute})
	e := newEnv(t, f.kit.Now, f)
	c := e.mustConnect(hubspot.Name, "acme")
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(stop) })
	svc, err := oauth.New(oauth.Config{Store: e.store, Sealer: e.sealer, PublicURL: e.api.URL, Now: f.kit.Now,
		Endpoints: map[string]string{hubspot.Name: hang.URL}, RefreshTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.kit.Advance(time.Minute)
	ts, err := svc.TokenSource(context.Background(), e.projectID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ts.Token(context.Background())
		done <- err
	}()
	select {
	case err := <-done:
		if providers.KindOf(err) != providers.KindRetryable {
			t.Errorf("refresh against a silent endpoint = %v, want a retryable error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the refresh did not time out")
	}
}
