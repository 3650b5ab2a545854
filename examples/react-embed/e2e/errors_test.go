//go:build browser

package e2e_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ampforge/amp/runtime/apikey"
	"github.com/ampforge/amp/runtime/server"
)

// projectPath is the prefix of the default project's routes.
const projectPath = "/v1/projects/" + server.DefaultProject

// TestExpiredConnectionThroughReactEmbed: the customer revoked the app at
// Salesforce after connecting. Loading the page makes the runtime find out
// (the access token is refused, then the refresh: invalid_grant) and mark
// the connection bad_credentials; the component must show the runtime's
// message with its re-authenticate section, and re-authenticating through
// the consent popup must make the connection healthy again.
func TestExpiredConnectionThroughReactEmbed(t *testing.T) {
	t.Parallel()
	x := startExample(t)
	before := x.connect(groupRef)
	if before.Status != "created" {
		t.Fatalf("the new connection is %q, want created", before.Status)
	}
	kit := x.fake.Kit()
	kit.Tokens.RevokeRefreshTokens()
	kit.ExpireTokens()

	b := startBrowser(t, x.out)
	b.do(b.ctx, "open the example page", chromedp.Navigate(x.app))
	b.poll(b.ctx, "show the re-authenticate section",
		`document.body.innerText.includes('Re-authenticate to Salesforce') && 'ok'`)

	// The component shows a fallback text until it has read the answer's
	// body, may ask more than once, and shows the last answer it read; the
	// runtime words a refusal found by a refresh and one found on the
	// stored status differently. The page must come to show one of the
	// runtime's messages.
	hydrate := func(u *url.URL) bool { return strings.HasSuffix(u.Path, ":hydrate") }
	msgs := map[network.RequestID]string{}
	var shown string
	for deadline := time.Now().Add(stepTimeout); ; {
		shown = b.text()
		found := false
		for _, a := range b.answered("GET", hydrate) {
			if a.status != http.StatusUnprocessableEntity {
				b.failf("GET %s = %d, want 422 (the provider refused the connection)", a.url, a.status)
			}
			if _, ok := msgs[a.id]; !ok {
				p, err := b.readProblem(a)
				if err != nil {
					continue // not read in full yet
				}
				msgs[a.id] = p.message()
				if !strings.Contains(p.message(), "must reconnect") {
					b.failf("the runtime's message %q does not tell the customer to reconnect", p.message())
				}
			}
			found = found || strings.Contains(shown, capitalize(msgs[a.id]))
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			b.failf("the page shows none of the runtime's messages %q; it shows:\n%s", slices.Collect(maps.Values(msgs)), shown)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.snapshot(b.ctx, "expired")
	if c := x.connection(groupRef); c.Status != "bad_credentials" {
		b.failf("after the refused refresh the connection is %q, want bad_credentials", c.Status)
	}

	// The section's Next re-authenticates through the consent popup.
	b.approveInPopup("click Next to re-authenticate", button("Next"))
	b.do(b.ctx, "bring the page to the front", front)
	// The component confirms, and once it has asked again for the
	// revision's fields (with the new tokens) it shows the configuration;
	// either may be on screen first.
	b.poll(b.ctx, "confirm the new authorisation", `(() => {
		if (document.body.innerText.includes('Connection updated successfully')) return 'confirmed';
		if ([...document.querySelectorAll('button')].some(b => b.textContent.trim() === 'Install')) return 'configure';
		return null;
	})()`)
	b.snapshot(b.ctx, "re-authenticated")
	after := x.connection(groupRef)
	if after.ID != before.ID || after.Status != "created" {
		b.failf("after re-authenticating the connection is %+v, want %s created", after, before.ID)
	}

	// With the new tokens the component configures the integration.
	b.log.reset()
	b.do(b.ctx, "reload the example page", chromedp.Navigate(x.app), chromedp.WaitVisible(button("Install")))
	b.snapshot(b.ctx, "configure-after-reauth")
	for _, a := range b.answered("GET", hydrate) {
		if a.status != http.StatusOK {
			b.failf("after re-authenticating GET %s = %d, want 200", a.url, a.status)
		}
	}
}

// TestWrongAPIKeyThroughReactEmbed loads the page with keys the runtime
// refuses. The component shows its fixed text for a failed project load;
// the runtime's reason (its problem+json detail, which differs by cause)
// must reach the page through CORS, where the component logs it.
func TestWrongAPIKeyThroughReactEmbed(t *testing.T) {
	t.Parallel()
	x := startExample(t)
	var inactive struct{ ID, Key string }
	x.call(http.StatusCreated, "POST", projectPath+"/api-keys",
		map[string]any{"label": "retired page key", "scopes": []string{"frontend"}}, &inactive)
	x.call(http.StatusOK, "PATCH", projectPath+"/api-keys/"+inactive.ID,
		map[string]any{"updateMask": []string{"active"}, "apiKey": map[string]any{"active": false}}, nil)
	unknown, _ := apikey.Generate()

	b := startBrowser(t, x.out)
	for _, tc := range []struct {
		name, key, want string
	}{
		{"unknown", unknown, "a valid API key is required"},
		{"inactive", inactive.Key, "this API key is inactive"},
	} {
		b.log.reset()
		b.do(b.ctx, "open the page with the "+tc.name+" key", chromedp.Navigate(x.app+"/?apiKey="+url.QueryEscape(tc.key)))
		b.poll(b.ctx, "show the failed project load",
			`document.body.innerText.includes('Error loading project `+server.DefaultProject+`') && 'ok'`)
		b.snapshot(b.ctx, tc.name+"-key")
		answers := b.answered("GET", func(u *url.URL) bool { return u.Path == projectPath })
		if len(answers) == 0 {
			b.failf("%s key: the page never asked for the project", tc.name)
		}
		last := answers[len(answers)-1]
		if last.status != http.StatusUnauthorized {
			b.failf("%s key: GET %s = %d, want 401", tc.name, last.url, last.status)
		}
		msg := b.problem(last).message()
		if !strings.Contains(msg, tc.want) {
			b.failf("%s key: the runtime answered %q, want it to say %q", tc.name, msg, tc.want)
		}
		b.waitConsole(tc.name+" key: the component logs the runtime's reason", "[Error Message] "+msg)
	}
}

// TestJWTForAnotherGroupThroughReactEmbed runs the page in the library's
// JWT mode (getToken) with a token the builder signed for acme. For acme
// the component works; for another customer every group-scoped call must be
// refused 403 by the runtime, and the component shows an error, from a real
// browser origin (CORS preflight with Authorization).
func TestJWTForAnotherGroupThroughReactEmbed(t *testing.T) {
	t.Parallel()
	x := startExample(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	var key struct{ ID string }
	x.call(http.StatusCreated, "POST", projectPath+"/jwt-keys", map[string]any{"label": "example page",
		"publicKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, &key)
	token := signJWT(t, priv, key.ID, map[string]any{"groupRef": groupRef, "consumerRef": "user-1",
		"iat": time.Now().Unix(), "exp": time.Now().Add(15 * time.Minute).Unix()})

	b := startBrowser(t, x.out)
	// Its own group: the landing page, every call on the token.
	b.do(b.ctx, "open the page for "+groupRef,
		chromedp.Navigate(x.app+"/?jwt="+url.QueryEscape(token)), chromedp.WaitVisible(button("Next")))
	b.snapshot(b.ctx, "own-group")
	own := b.answered("GET", func(u *url.URL) bool { return u.Path == projectPath+"/connections" })
	if len(own) == 0 {
		b.failf("the page for %s never listed its connections", groupRef)
	}
	for _, a := range own {
		if a.status != http.StatusOK || header(a.headers, "Authorization") != "Bearer "+token || header(a.headers, "X-Api-Key") != "" {
			b.failf("GET %s = %d with Authorization %q and X-Api-Key %q, want 200 on the bearer token alone",
				a.url, a.status, header(a.headers, "Authorization"), header(a.headers, "X-Api-Key"))
		}
	}

	const other = "globex"
	b.log.reset()
	b.do(b.ctx, "open the page for "+other,
		chromedp.Navigate(x.app+"/?jwt="+url.QueryEscape(token)+"&groupRef="+other))
	shown := b.poll(b.ctx, "show the refusal",
		`(() => { const t = document.body.innerText; return t.includes('Error retrieving') ? t : null; })()`)
	b.snapshot(b.ctx, "other-group")
	refused := b.answered("GET", func(u *url.URL) bool {
		return strings.HasPrefix(u.Path, projectPath+"/") && u.Query().Get("groupRef") == other
	})
	if len(refused) == 0 {
		b.failf("the page for %s asked for nothing of %s; it shows:\n%s", other, other, shown)
	}
	for _, a := range refused {
		if a.status != http.StatusForbidden {
			b.failf("GET %s with %s's token = %d, want 403", a.url, groupRef, a.status)
		}
	}
	msg := b.problem(refused[0]).message()
	if !strings.Contains(msg, `"`+groupRef+`"`) || !strings.Contains(msg, `"`+other+`"`) {
		b.failf("the 403 says %q, want it to name both groups", msg)
	}
	b.waitConsole("the component logs the refusal", "[Error Message] "+msg)
}

// signJWT signs claims as a compact EdDSA JWS whose kid is the registered
// key's id: what the builder's backend hands its page.
func signJWT(t *testing.T, priv ed25519.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": kid}) + "." + enc(claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(input)))
}

// header returns a request header by its case-insensitive name.
func header(h map[string]any, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// capitalize upper-cases the first letter, as the component does to the
// messages it shows.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
