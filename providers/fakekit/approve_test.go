package fakekit

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestApprove runs Approve against a consent page and a client callback on
// one test server: the callback answers 200 with the code it got, or 400
// with the provider's error, as an OAuth client's callback does.
func TestApprove(t *testing.T) {
	t.Parallel()
	tokens := NewTokens(NewClock(DefaultStart), TokenPolicy{AccessTTL: time.Hour})
	mux := http.NewServeMux()
	mux.Handle("/authorize", &Consent{Tokens: tokens, Provider: "Fake", Subject: "ada@example.com"})
	mux.Handle("/authorize-pkce", &Consent{Tokens: tokens, Provider: "Fake", RequirePKCE: true})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if e := q.Get("error"); e != "" {
			http.Error(w, "AUTHORIZATION_FAILED "+e, http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "code=%s state=%s", q.Get("code"), q.Get("state"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	authorize := func(path string, q url.Values) string { return srv.URL + path + "?" + q.Encode() }
	good := url.Values{"response_type": {"code"}, "client_id": {"c1"}, "redirect_uri": {srv.URL + "/callback"},
		"scope": {"read write"}, "state": {"s&t<a>te"}}
	without := func(k string) url.Values {
		q := url.Values{}
		for key, v := range good {
			if key != k {
				q[key] = v
			}
		}
		return q
	}

	tests := []struct {
		name      string
		url       string
		wantErr   string // substring of the error; empty for success
		wantPage  string // substring of the final page
		wantFinal string // path the browser ends on; empty when nothing is returned
	}{
		{name: "approved", url: authorize("/authorize", good), wantPage: "state=s&t<a>te", wantFinal: "/callback"},
		{name: "consent page refuses the request", url: authorize("/authorize", without("redirect_uri")),
			wantErr: "400", wantPage: "redirect_uri are required", wantFinal: "/authorize"},
		{name: "provider sends an error back at once", url: authorize("/authorize-pkce", good),
			wantErr: "answered 400", wantPage: "AUTHORIZATION_FAILED invalid_request", wantFinal: "/callback"},
		{name: "not a consent page", url: srv.URL + "/callback?code=x", wantErr: "no consent form", wantPage: "code=x", wantFinal: "/callback"},
		{name: "unreachable", url: "http://127.0.0.1:1/authorize", wantErr: "open the consent page"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			final, page, err := Approve(context.Background(), nil, tc.url)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Approve = %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Approve error = %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(page, tc.wantPage) {
				t.Errorf("page = %q, want it to contain %q", page, tc.wantPage)
			}
			if tc.wantFinal == "" {
				if final != "" {
					t.Errorf("final URL = %q, want none", final)
				}
				return
			}
			u, perr := url.Parse(final)
			if perr != nil || u.Path != tc.wantFinal {
				t.Errorf("final URL = %q, want path %s", final, tc.wantFinal)
			}
		})
	}

	// The code the approval issued is one the token endpoint exchanges.
	final, _, err := Approve(context.Background(), nil, authorize("/authorize", good))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(final)
	if _, _, g, err := tokens.Exchange(u.Query().Get("code"), srv.URL+"/callback", ""); err != nil || g.Subject != "ada@example.com" || g.Scope != "read write" {
		t.Errorf("exchange the approved code = %+v, %v", g, err)
	}
}
