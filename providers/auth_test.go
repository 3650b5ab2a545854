package providers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/ampforge/amp/providers"
)

// authServer is a token endpoint and an API in one: the API accepts only
// the newest access token; the token endpoint rotates refresh tokens.
type authServer struct {
	mu        sync.Mutex
	access    string
	refresh   string
	refreshes atomic.Int32
	refuse    bool
}

func (s *authServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/token":
		_ = r.ParseForm()
		if s.refuse || r.Form.Get("refresh_token") != s.refresh {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"expired access/refresh token"}`)
			return
		}
		n := s.refreshes.Add(1)
		s.access, s.refresh = fmt.Sprintf("a%d", n), fmt.Sprintf("r%d", n)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"token_type":"Bearer"}`, s.access, s.refresh)
	default:
		if r.Header.Get("Authorization") != "Bearer "+s.access {
			w.WriteHeader(401)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "ok %s", body)
	}
}

func setup(t *testing.T) (*authServer, *httptest.Server, *providers.OAuthSource, *[]string) {
	t.Helper()
	as := &authServer{access: "a0", refresh: "r0"}
	srv := httptest.NewServer(as)
	t.Cleanup(srv.Close)
	cfg := &oauth2.Config{ClientID: "c", Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	var saved []string
	var mu sync.Mutex
	src := providers.NewOAuthSource(cfg, &oauth2.Token{AccessToken: "stale", RefreshToken: "r0"}, srv.Client(), func(tok *oauth2.Token) {
		mu.Lock()
		saved = append(saved, tok.RefreshToken)
		mu.Unlock()
	})
	return as, srv, src, &saved
}

func TestAuthClientRefreshesOnceFor401s(t *testing.T) {
	t.Parallel()
	as, srv, src, saved := setup(t)
	client := providers.NewAuthClient(srv.Client(), src)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/api", strings.NewReader(fmt.Sprint(i)))
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != fmt.Sprintf("ok %d", i) {
				errs <- fmt.Errorf("request %d: %d %q", i, resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := as.refreshes.Load(); n != 1 {
		t.Errorf("%d refreshes for one refused token, want 1 (rotation makes a second one fail)", n)
	}
	if len(*saved) != 1 || (*saved)[0] != "r1" {
		t.Errorf("saved refresh tokens %v, want [r1]", *saved)
	}
}

func TestAuthClientRefreshRefused(t *testing.T) {
	t.Parallel()
	as, srv, src, _ := setup(t)
	as.refuse = true
	client := providers.NewAuthClient(srv.Client(), src)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/api", nil)
	_, err := client.Do(req)
	if providers.KindOf(err) != providers.KindAuth || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("err = %v, want an auth error naming invalid_grant", err)
	}
}

func TestAuthClientBodyThatCannotReplay(t *testing.T) {
	t.Parallel()
	as, srv, src, _ := setup(t)
	client := providers.NewAuthClient(srv.Client(), src)
	// A body without GetBody cannot be sent twice: the 401 is returned as is.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/api", io.NopCloser(strings.NewReader("x")))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || as.refreshes.Load() != 0 {
		t.Errorf("status %d after %d refreshes, want the 401 and no refresh", resp.StatusCode, as.refreshes.Load())
	}
}

func TestStaticTokensCannotRefresh(t *testing.T) {
	t.Parallel()
	_, err := providers.StaticTokens{Tok: &oauth2.Token{AccessToken: "x"}}.Refresh(context.Background(), nil)
	if providers.KindOf(err) != providers.KindAuth {
		t.Errorf("err = %v, want KindAuth", err)
	}
	if s := providers.ErrorKind(-1).String(); s == "" {
		t.Error("empty name for an out-of-range kind")
	}
}
