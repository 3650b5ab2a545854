package api_test

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime/api"
)

// TestCORSAllowList: an empty list echoes any origin; a list echoes its
// origins only and refuses other preflights.
func TestCORSAllowList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name    string
		origins []string
		origin  string
		allowed bool
	}{
		{"empty list allows any", nil, "https://anything.example", true},
		{"listed origin", []string{"https://app.example.com", "http://localhost:3000"}, "https://app.example.com", true},
		{"second listed origin", []string{"https://app.example.com", "http://localhost:3000"}, "http://localhost:3000", true},
		{"unlisted origin", []string{"https://app.example.com"}, "https://evil.example", false},
		{"other port", []string{"https://app.example.com"}, "https://app.example.com:8443", false},
		{"star", []string{"*"}, "https://anything.example", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := api.New(api.Options{Store: e.store, CORSOrigins: tc.origins}).Handler()
			pre := httptest.NewRequest(http.MethodOptions, "/v1/projects/default/installations", nil)
			pre.Header.Set("Origin", tc.origin)
			pre.Header.Set("Access-Control-Request-Method", "PATCH")
			pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-amp-client,x-amp-client-version,x-api-key")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, pre)
			got := rec.Header().Get("Access-Control-Allow-Origin")
			if !tc.allowed {
				if rec.Code != http.StatusForbidden || got != "" || rec.Header().Get("Content-Type") != "application/problem+json" {
					t.Fatalf("preflight = %d, allow-origin %q, want 403 problem+json without CORS headers", rec.Code, got)
				}
			} else {
				if rec.Code != http.StatusNoContent || got != tc.origin {
					t.Fatalf("preflight = %d, allow-origin %q, want 204 echoing %s", rec.Code, got, tc.origin)
				}
				allow := strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers"))
				for _, want := range []string{"x-api-key", "x-amp-client", "x-amp-client-version", "content-type", "authorization"} {
					if !strings.Contains(allow, want) {
						t.Errorf("allowed headers %q lack %s", allow, want)
					}
				}
			}
			get := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			get.Header.Set("Origin", tc.origin)
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, get)
			if got := rec.Header().Get("Access-Control-Allow-Origin"); (got == tc.origin) != tc.allowed {
				t.Errorf("GET allow-origin = %q, allowed %v", got, tc.allowed)
			}
		})
	}
}

// jwtSigner signs compact JWS tokens for the tests.
type jwtSigner struct {
	alg  string
	kid  string
	sign func(input []byte) []byte
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (s jwtSigner) token(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": s.alg, "kid": s.kid, "typ": "JWT"}
	for k, v := range header {
		h[k] = v
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(claims)
	input := b64(hb) + "." + b64(cb)
	return input + "." + b64(s.sign([]byte(input)))
}

func claimsFor(group string, exp time.Time) map[string]any {
	return map[string]any{"groupRef": group, "consumerRef": "u-" + group, "exp": exp.Unix(), "iat": time.Now().Unix()}
}

func pemOf(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// registerKey posts a key and returns its kid.
func (e *env) registerKey(pp, key string, body map[string]any) string {
	e.t.Helper()
	var k struct{ ID, Algorithm string }
	e.must(201, "POST", pp+"/jwt-keys", key, body).json(e.t, &k)
	return k.ID
}

func (e *env) bearer(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.handler().ServeHTTP(rec, req)
	return resp{rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes()}
}

func TestJWTAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.world("jw")
	pp := "/v1/projects/jw"
	// A second group with its own connection and installation.
	var conn2, inst2 struct{ ID string }
	e.must(201, "POST", pp+"/connections:generate", w.key, generateBody("globex", nil)).json(t, &conn2)
	e.must(201, "POST", pp+"/integrations/"+w.integID+"/installations?skipSampling=true", w.key,
		map[string]any{"groupRef": "globex", "connectionId": conn2.ID, "config": map[string]any{"content": map[string]any{}}}).json(t, &inst2)

	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaPriv, _ := rsa.GenerateKey(rand.Reader, 2048)
	ed := jwtSigner{alg: "EdDSA", kid: e.registerKey(pp, w.key, map[string]any{"label": "web", "publicKeyPem": pemOf(t, edPub)}),
		sign: func(in []byte) []byte { return ed25519.Sign(edPriv, in) }}
	ecx, ecy := ecPriv.X.FillBytes(make([]byte, 32)), ecPriv.Y.FillBytes(make([]byte, 32))
	es := jwtSigner{alg: "ES256", kid: e.registerKey(pp, w.key, map[string]any{"label": "jwk", "jwk": map[string]string{"kty": "EC", "crv": "P-256", "x": b64(ecx), "y": b64(ecy)}}),
		sign: func(in []byte) []byte {
			sum := sha256.Sum256(in)
			r, s, err := ecdsa.Sign(rand.Reader, ecPriv, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
		}}
	rs := jwtSigner{alg: "RS256", kid: e.registerKey(pp, w.key, map[string]any{"label": "rsa", "publicKeyPem": pemOf(t, &rsaPriv.PublicKey), "algorithm": "RS256"}),
		sign: func(in []byte) []byte {
			sum := sha256.Sum256(in)
			sig, err := rsa.SignPKCS1v15(rand.Reader, rsaPriv, crypto.SHA256, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}}
	var keys []struct{ ID, Algorithm string }
	e.must(200, "GET", pp+"/jwt-keys", w.key, nil).json(t, &keys)
	// Keys registered in the same millisecond list in id order, so only
	// the set is fixed.
	algs := map[string]bool{}
	for _, k := range keys {
		algs[k.Algorithm] = true
	}
	if len(keys) != 3 || !algs["EdDSA"] || !algs["ES256"] || !algs["RS256"] {
		t.Fatalf("jwt keys = %+v, want EdDSA, ES256, RS256", keys)
	}
	soon := time.Now().Add(10 * time.Minute)
	inst := pp + "/integrations/" + w.integID + "/installations/"

	t.Run("own group", func(t *testing.T) {
		for _, s := range []jwtSigner{ed, es, rs} {
			tok := s.token(t, nil, claimsFor("acme", soon))
			for _, path := range []string{inst + w.instID, pp + "/connections/" + w.connID, pp + "/integrations"} {
				if r := e.bearer("GET", path, tok, nil); r.status != 200 {
					t.Errorf("%s GET %s = %d %s, want 200", s.alg, path, r.status, r.body)
				}
			}
		}
	})
	t.Run("other group", func(t *testing.T) {
		tok := ed.token(t, nil, claimsFor("acme", soon))
		for _, c := range []struct{ method, path string }{
			{"GET", inst + inst2.ID},
			{"DELETE", inst + inst2.ID},
			{"GET", pp + "/connections/" + conn2.ID},
			{"PATCH", pp + "/connections/" + conn2.ID + ":oauth-update"},
			{"GET", pp + "/installations?groupRef=globex"},
			{"GET", pp + "/connections?groupRef=globex"},
		} {
			r := e.bearer(c.method, c.path, tok, nil)
			if r.status != 403 || r.ctype != "application/problem+json" || !strings.Contains(string(r.body), "globex") {
				t.Errorf("%s %s = %d %s %s, want 403 problem+json naming globex", c.method, c.path, r.status, r.ctype, r.body)
			}
		}
		// Creating in another group, or with another group's connection.
		for _, body := range []map[string]any{
			{"groupRef": "globex", "config": map[string]any{"content": map[string]any{}}},
			{"groupRef": "acme", "connectionId": conn2.ID, "config": map[string]any{"content": map[string]any{}}},
		} {
			if r := e.bearer("POST", pp+"/integrations/"+w.integID+"/installations?skipSampling=true", tok, body); r.status != 403 {
				t.Errorf("create installation %v = %d %s, want 403", body, r.status, r.body)
			}
		}
		if r := e.bearer("PATCH", pp+"/integrations/"+w.integID+"/objects/account/config-content", tok,
			map[string]any{"groupRef": "globex", "action": "read", "changes": []map[string]any{{"op": "replace", "path": "/disabled", "value": true}}}); r.status != 403 {
			t.Errorf("config-content for globex = %d %s, want 403", r.status, r.body)
		}
		// Full-only routes stay closed to tokens.
		if r := e.bearer("GET", pp+"/api-keys", tok, nil); r.status != 403 {
			t.Errorf("api-keys with a token = %d, want 403", r.status)
		}
	})
	t.Run("lists filtered", func(t *testing.T) {
		tok := es.token(t, nil, claimsFor("globex", soon))
		var ins []struct{ ID string }
		for _, path := range []string{pp + "/installations", pp + "/integrations/" + w.integID + "/installations"} {
			r := e.bearer("GET", path, tok, nil)
			if r.status != 200 {
				t.Fatalf("GET %s = %d %s", path, r.status, r.body)
			}
			r.json(t, &ins)
			if len(ins) != 1 || ins[0].ID != inst2.ID {
				t.Errorf("GET %s = %+v, want only globex's %s", path, ins, inst2.ID)
			}
		}
		var conns []struct{ ID string }
		e.bearer("GET", pp+"/connections", tok, nil).json(t, &conns)
		if len(conns) != 1 || conns[0].ID != conn2.ID {
			t.Errorf("connections = %+v, want only %s", conns, conn2.ID)
		}
		// An API key still sees both groups.
		e.must(200, "GET", pp+"/installations", w.key, nil).json(t, &ins)
		if len(ins) != 2 {
			t.Errorf("API key installations = %d, want 2", len(ins))
		}
	})
	t.Run("refused tokens", func(t *testing.T) {
		good := ed.token(t, nil, claimsFor("acme", soon))
		parts := strings.Split(good, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sig[0] ^= 1
		noneHeader, _ := json.Marshal(map[string]any{"alg": "none", "kid": ed.kid})
		noneTok := b64(noneHeader) + "." + parts[1] + "."
		for _, c := range []struct {
			name, token, detail string
		}{
			{"expired", ed.token(t, nil, claimsFor("acme", time.Now().Add(-10*time.Minute))), "expired"},
			{"bad signature", parts[0] + "." + parts[1] + "." + b64(sig), "signature does not verify"},
			{"alg none", noneTok, "is not accepted"},
			{"wrong alg for the key", jwtSigner{alg: "RS256", kid: ed.kid, sign: rs.sign}.token(t, nil, claimsFor("acme", soon)), "does not match key"},
			{"HS256 with the public key", jwtSigner{alg: "HS256", kid: ed.kid, sign: func([]byte) []byte { return []byte("x") }}.token(t, nil, claimsFor("acme", soon)), "does not match key"},
			{"unknown kid", jwtSigner{alg: "EdDSA", kid: "no-such-key", sign: ed.sign}.token(t, nil, claimsFor("acme", soon)), "unknown key id"},
			{"no exp", ed.token(t, nil, map[string]any{"groupRef": "acme", "consumerRef": "u"}), "exp is required"},
			{"not yet valid", ed.token(t, nil, map[string]any{"groupRef": "acme", "consumerRef": "u", "exp": soon.Unix(), "nbf": soon.Add(-time.Minute).Unix()}), "not valid before"},
			{"no group", ed.token(t, nil, map[string]any{"consumerRef": "u", "exp": soon.Unix()}), "groupRef"},
			{"too long", ed.token(t, nil, map[string]any{"groupRef": strings.Repeat("a", 9000), "consumerRef": "u", "exp": soon.Unix()}), "longer than"},
			{"not a JWS", "abc", "compact JWS"},
		} {
			r := e.bearer("GET", inst+w.instID, c.token, nil)
			if r.status != 401 || r.ctype != "application/problem+json" || !strings.Contains(string(r.body), c.detail) {
				t.Errorf("%s: %d %s %s, want 401 problem+json with %q", c.name, r.status, r.ctype, r.body, c.detail)
			}
		}
		// A deleted key stops its tokens at once.
		e.must(204, "DELETE", pp+"/jwt-keys/"+rs.kid, w.key, nil)
		if r := e.bearer("GET", inst+w.instID, rs.token(t, nil, claimsFor("acme", soon)), nil); r.status != 401 {
			t.Errorf("token of a deleted key = %d, want 401", r.status)
		}
	})
	t.Run("key registration", func(t *testing.T) {
		weak, _ := rsa.GenerateKey(rand.Reader, 1024)
		for _, c := range []struct {
			name string
			body map[string]any
		}{
			{"same key twice", map[string]any{"publicKeyPem": pemOf(t, edPub)}},
			{"wrong algorithm for key", map[string]any{"publicKeyPem": pemOf(t, edPub), "algorithm": "RS256"}},
			{"weak RSA", map[string]any{"publicKeyPem": pemOf(t, &weak.PublicKey)}},
			{"private JWK", map[string]any{"jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(edPub), "d": b64(edPriv.Seed())}}},
			{"no key", map[string]any{"label": "x"}},
			{"not PEM", map[string]any{"publicKeyPem": "hello"}},
		} {
			if r := e.do("POST", pp+"/jwt-keys", w.key, c.body); r.status != 400 && r.status != 409 {
				t.Errorf("%s = %d %s, want 400 or 409", c.name, r.status, r.body)
			}
		}
		// Another project's token cannot reach this project.
		_, keyB := e.project("jwb")
		pubB, privB, _ := ed25519.GenerateKey(rand.Reader)
		kidB := e.registerKey("/v1/projects/jwb", keyB, map[string]any{"publicKeyPem": pemOf(t, pubB)})
		tokB := jwtSigner{alg: "EdDSA", kid: kidB, sign: func(in []byte) []byte { return ed25519.Sign(privB, in) }}.token(t, nil, claimsFor("acme", soon))
		if r := e.bearer("GET", inst+w.instID, tokB, nil); r.status != 404 {
			t.Errorf("project B's token on project A = %d, want 404", r.status)
		}
	})
}

// zipOf builds a zip holding files.
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		f, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func md5b64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// TestDeployZipLikeTheCLI drives the `amp` CLI's deploy over HTTP: ask for
// a signed URL with the zip's MD5, PUT the zip there with Content-MD5 and
// no API key, deploy gs://bucket/path with destructive=true, then list.
func TestDeployZipLikeTheCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, key := e.project("cli")
	srv := httptest.NewServer(e.handler())
	t.Cleanup(srv.Close)
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreignHits.Add(1) }))
	t.Cleanup(foreign.Close)
	manifestYAML, err := os.ReadFile("../../examples/salesforce/amp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, url, key string, hdr map[string]string, body []byte) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	type signed struct{ URL, Bucket, Path string }
	getURL := func(zipData []byte) signed {
		t.Helper()
		code, b := call("GET", srv.URL+"/v1/generate-upload-url?md5="+strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(md5b64(zipData)), key, nil, nil)
		var s signed
		if code != 200 || json.Unmarshal(b, &s) != nil || !strings.HasPrefix(s.URL, srv.URL+"/v1/uploads/") {
			t.Fatalf("generate-upload-url = %d %s", code, b)
		}
		return s
	}
	gs := func(s signed) string { return "gs://" + s.Bucket + "/" + strings.TrimPrefix(s.Path, "/") }
	deploy := func(src string) (int, []byte) {
		body, _ := json.Marshal(map[string]string{"sourceZipUrl": src})
		return call("PUT", srv.URL+"/v1/projects/cli/integrations:batch?destructive=true", key, map[string]string{"Content-Type": "application/json"}, body)
	}

	zipData := zipOf(t, map[string]string{"amp.yaml": string(manifestYAML), "README.md": "x"})
	s := getURL(zipData)
	zipHdr := func(md5 string) map[string]string {
		return map[string]string{"Content-Type": "application/zip", "Content-MD5": md5}
	}
	// A bad MD5: the body does not match the announced digest.
	if code, b := call("PUT", s.URL, "", zipHdr(md5b64(zipData)), append(bytes.Clone(zipData), 0)); code != 400 || !strings.Contains(string(b), "MD5") {
		t.Fatalf("PUT with a body that does not match = %d %s, want 400", code, b)
	}
	if code, b := call("PUT", s.URL, "", zipHdr(md5b64([]byte("other"))), zipData); code != 400 {
		t.Fatalf("PUT with another Content-MD5 = %d %s, want 400", code, b)
	}
	// Deploying before the content arrived is refused.
	if code, b := deploy(gs(s)); code != 400 {
		t.Fatalf("deploy of an empty upload = %d %s, want 400", code, b)
	}
	if code, b := call("PUT", s.URL, "", zipHdr(md5b64(zipData)), zipData); code != 200 {
		t.Fatalf("PUT = %d %s", code, b)
	}
	if code, _ := call("PUT", s.URL, "", zipHdr(md5b64(zipData)), zipData); code != 409 {
		t.Fatalf("second PUT = %d, want 409", code)
	}
	if code, _ := call("PUT", srv.URL+"/v1/uploads/not-a-token", "", zipHdr(md5b64(zipData)), zipData); code != 404 {
		t.Fatalf("PUT to an unknown upload URL = %d, want 404", code)
	}
	code, b := deploy(gs(s))
	var ints []struct {
		Name           string
		LatestRevision struct {
			ID      string
			Content map[string]any
		}
	}
	if code != 200 || json.Unmarshal(b, &ints) != nil || len(ints) != 1 {
		t.Fatalf("deploy = %d %s", code, b)
	}
	code, b = call("GET", srv.URL+"/v1/projects/cli/integrations", key, nil, nil)
	if code != 200 || json.Unmarshal(b, &ints) != nil || len(ints) != 1 || ints[0].LatestRevision.Content["name"] != ints[0].Name {
		t.Fatalf("integrations = %d %s, want latestRevision.content naming the integration", code, b)
	}

	// Sources that are not our own uploads are refused and never fetched.
	other := getURL(zipData)
	for _, src := range []string{
		foreign.URL + "/amp.zip",
		"gs://" + s.Bucket + "/../" + strings.TrimPrefix(s.Path, "/"),
		"gs://some-bucket/" + strings.TrimPrefix(s.Path, "/"),
		"gs://" + s.Bucket + "/another-project/" + strings.TrimPrefix(other.Path[strings.Index(other.Path, "/")+1:], "/"),
		"gs://" + s.Bucket + "/" + strings.Split(s.Path, "/")[0] + "/no-such-upload.zip",
	} {
		if code, b := deploy(src); code != 400 || !strings.Contains(string(b), "sourceZipUrl") {
			t.Errorf("deploy %s = %d %s, want 400 naming sourceZipUrl", src, code, b)
		}
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("the foreign URL was fetched %d times", n)
	}

	// A zip without amp.yaml, and a zip whose amp.yaml claims to be huge.
	for name, data := range map[string][]byte{
		"no manifest": zipOf(t, map[string]string{"other.yaml": "x"}),
		"too large":   zipOf(t, map[string]string{"amp.yaml": strings.Repeat("#", 11<<20)}),
	} {
		s := getURL(data)
		if code, b := call("PUT", s.URL, "", zipHdr(md5b64(data)), data); code != 200 {
			t.Fatalf("%s: PUT = %d %s", name, code, b)
		}
		if code, b := deploy(gs(s)); code != 422 {
			t.Errorf("%s: deploy = %d %s, want 422", name, code, b)
		}
	}
}
