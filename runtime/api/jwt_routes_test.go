package api_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime/api"
	"github.com/ampforge/amp/runtime/oauth"
)

// jwtFixture is project jr seen by front-end tokens: group A (acme) and
// group B (globex) each with a Salesforce connection and an installation,
// a registered Ed25519 key, and tokens good and bad.
type jwtFixture struct {
	e  *env
	w  world
	pp string
	// connB and instB are group B's.
	connB, instB string
	kid          string
	// tokA and tokB are valid tokens of groups A and B; tokOther is a
	// valid token of another project's key, for group acme.
	tokA, tokB, tokOther string
	// bad are tokens no route may accept, by name.
	bad map[string]string
}

// newJWTFixture builds the fixture with oauth-connect mounted as the
// server mounts it, and a stand-in hydrate handler (runtime/introspect
// checks the connection's group; here only the route's authentication is
// under test).
func newJWTFixture(t *testing.T) *jwtFixture {
	t.Helper()
	e := newEnv(t)
	e.a.AddRoutes(api.Route{Method: http.MethodPost, Path: "/v1/oauth-connect", Auth: api.AuthKey, Scope: api.ScopeFrontend,
		Handler: e.oauth.ConnectHandler(oauth.ConnectConfig{Project: e.a.ProjectIDFor, Scopes: e.a.ProviderScopes,
			Error: e.a.WriteError, Authorize: api.AuthorizeConnect})})
	e.a.SetHydrate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	f := &jwtFixture{e: e, w: e.world("jr"), pp: "/v1/projects/jr"}
	var conn, inst struct{ ID string }
	e.must(201, "POST", f.pp+"/connections:generate", f.w.key, generateBody("globex", nil)).json(t, &conn)
	e.must(201, "POST", f.pp+"/integrations/"+f.w.integID+"/installations?skipSampling=true", f.w.key,
		map[string]any{"groupRef": "globex", "connectionId": conn.ID, "config": map[string]any{"content": map[string]any{}}}).json(t, &inst)
	f.connB, f.instB = conn.ID, inst.ID
	// Group acme has a Salesforce connection already, so its oauth-connect
	// goes to HubSpot.
	e.must(200, "POST", f.pp+"/provider-apps", f.w.key, map[string]any{"provider": "hubspot", "clientId": "hub-cid", "clientSecret": "hs"})

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	f.kid = e.registerKey(f.pp, f.w.key, map[string]any{"label": "web", "publicKeyPem": pemOf(t, pub)})
	signA := func(in []byte) []byte { return ed25519.Sign(priv, in) }
	s := jwtSigner{alg: "EdDSA", kid: f.kid, sign: signA}
	soon := time.Now().Add(10 * time.Minute)
	f.tokA = s.token(t, nil, claimsFor("acme", soon))
	f.tokB = s.token(t, nil, claimsFor("globex", soon))

	_, keyO := e.project("jr-other")
	pubO, privO, _ := ed25519.GenerateKey(rand.Reader)
	signO := func(in []byte) []byte { return ed25519.Sign(privO, in) }
	kidO := e.registerKey("/v1/projects/jr-other", keyO, map[string]any{"publicKeyPem": pemOf(t, pubO)})
	f.tokOther = jwtSigner{alg: "EdDSA", kid: kidO, sign: signO}.token(t, nil, claimsFor("acme", soon))

	parts := strings.Split(f.tokA, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[len(sig)-1] ^= 1
	f.bad = map[string]string{
		"bad signature":  parts[0] + "." + parts[1] + "." + b64(sig),
		"expired":        s.token(t, nil, claimsFor("acme", time.Now().Add(-10*time.Minute))),
		"unknown key id": jwtSigner{alg: "EdDSA", kid: "no-such-key", sign: signA}.token(t, nil, claimsFor("acme", soon)),
		// Another project's private key cannot borrow this project's kid.
		"another project's key under this kid": jwtSigner{alg: "EdDSA", kid: f.kid, sign: signO}.token(t, nil, claimsFor("acme", soon)),
	}
	return f
}

// vals are the path wildcards filled with group A's (and project jr's)
// real ids.
func (f *jwtFixture) vals() map[string]string {
	return map[string]string{"projectIdOrName": "jr", "integrationIdOrName": f.w.integID, "integrationId": f.w.integID,
		"revisionId": f.w.revID, "installationId": f.w.instID, "connectionId": f.w.connID, "providerAppId": f.w.appID,
		"destination": f.w.destID, "apiKey": f.w.otherKeyID, "objectName": "account", "operationId": f.w.opID,
		"provider": "salesforce", "keyId": f.kid, "token": "no-such-upload"}
}

// jwtCall is one request of the walk; an empty method is the route's.
type jwtCall struct {
	method, path string
	body         any
	// names is what a 403's detail must name (default: group B, globex).
	names string
}

// jwtClass is what a front-end token may do on a route.
type jwtClass int

const (
	// jwtPublic routes take no credentials: a token neither opens nor
	// closes them.
	jwtPublic jwtClass = iota
	// jwtBuilder routes are the builder's alone: every token gets 403.
	jwtBuilder
	// jwtProject routes serve project-wide data without any group's
	// resources: group A's token is served.
	jwtProject
	// jwtGroup routes touch one group's installations or connections:
	// group A's token is served on A's and refused 403 on B's.
	jwtGroup
)

// jwtExpect is a route's row in the walk.
type jwtExpect struct {
	class jwtClass
	// probe overrides the route filled with A's ids (and validBodies'
	// body) as the request of the generic checks.
	probe func(f *jwtFixture) jwtCall
	// setup runs with the builder's key before own.
	setup func(f *jwtFixture)
	// own are group A's requests on its own resources: 2xx.
	own func(f *jwtFixture) []jwtCall
	// other are group A's requests naming group B's resources: 403.
	other func(f *jwtFixture) []jwtCall
	// builderOnly are requests a token is refused even on its own group's
	// resources: 403.
	builderOnly func(f *jwtFixture) []jwtCall
}

// jwtRouteTable is every route's expectation. TestJWTRouteWalk fails for a
// served route missing here, so a new route needs a decision.
func jwtRouteTable() map[string]jwtExpect {
	const p = "/v1/projects/{projectIdOrName}"
	builder, project := jwtExpect{class: jwtBuilder}, jwtExpect{class: jwtProject}
	inst := func(f *jwtFixture, id string) string {
		return f.pp + "/integrations/" + f.w.integID + "/installations/" + id
	}
	create := func(f *jwtFixture) string {
		return f.pp + "/integrations/" + f.w.integID + "/installations?skipSampling=true"
	}
	installCfg := map[string]any{"content": map[string]any{}}
	contentChange := []map[string]any{{"op": "add", "path": "/selectedFields", "value": map[string]bool{"phone": true}}}
	return map[string]jwtExpect{
		"GET /healthz":                 {class: jwtPublic},
		"GET /v1/providers":            {class: jwtPublic},
		"GET /v1/providers/{provider}": {class: jwtPublic},
		"PUT " + api.UploadPath:        {class: jwtPublic},

		"GET /v1/projects": builder,
		"GET " + p:         project,
		"PATCH " + p:       builder,

		"GET " + p + "/provider-apps":                    project,
		"POST " + p + "/provider-apps":                   builder,
		"GET " + p + "/provider-apps/{providerAppId}":    project,
		"PATCH " + p + "/provider-apps/{providerAppId}":  builder,
		"DELETE " + p + "/provider-apps/{providerAppId}": builder,

		"PUT " + p + "/integrations:batch":                                  builder,
		"GET " + p + "/integrations":                                        project,
		"GET " + p + "/integrations/{integrationIdOrName}":                  project,
		"GET " + p + "/integrations/{integrationId}/revisions":              project,
		"GET " + p + "/integrations/{integrationId}/revisions/{revisionId}": project,
		"GET " + api.HydratePath: {class: jwtProject, probe: func(f *jwtFixture) jwtCall {
			return jwtCall{path: f.pp + "/integrations/" + f.w.integID + "/revisions/" + f.w.revID + ":hydrate?connectionId=" + f.w.connID}
		}},

		"GET " + p + "/installations": {class: jwtGroup,
			own:   func(f *jwtFixture) []jwtCall { return []jwtCall{{path: f.pp + "/installations"}} },
			other: func(f *jwtFixture) []jwtCall { return []jwtCall{{path: f.pp + "/installations?groupRef=globex"}} }},
		"GET " + p + "/integrations/{integrationId}/installations": {class: jwtGroup,
			own: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{path: f.pp + "/integrations/" + f.w.integID + "/installations"},
					{path: f.pp + "/integrations/" + f.w.integID + "/installations?groupRef=acme"}}
			},
			other: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{path: f.pp + "/integrations/" + f.w.integID + "/installations?groupRef=globex"}}
			}},
		"POST " + p + "/integrations/{integrationId}/installations": {class: jwtGroup,
			// One installation per group and integration: A's goes first.
			setup: func(f *jwtFixture) { f.e.must(204, "DELETE", inst(f, f.w.instID), f.w.key, nil) },
			own: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{path: create(f), body: map[string]any{"groupRef": "acme", "connectionId": f.w.connID, "config": installCfg}}}
			},
			other: func(f *jwtFixture) []jwtCall {
				return []jwtCall{
					{path: create(f), body: map[string]any{"groupRef": "globex", "config": installCfg}},
					{path: create(f), body: map[string]any{"groupRef": "globex", "connectionId": f.connB, "config": installCfg}},
					// A's group with B's connection.
					{path: create(f), body: map[string]any{"groupRef": "acme", "connectionId": f.connB, "config": installCfg}},
				}
			}},
		"GET " + p + "/integrations/{integrationId}/installations/{installationId}": {class: jwtGroup,
			own:   func(f *jwtFixture) []jwtCall { return []jwtCall{{path: inst(f, f.w.instID)}} },
			other: func(f *jwtFixture) []jwtCall { return []jwtCall{{path: inst(f, f.instB)}} }},
		"PATCH " + p + "/integrations/{integrationId}/installations/{installationId}": {class: jwtGroup,
			own: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{path: inst(f, f.w.instID+"?skipSampling=true"), body: map[string]any{"updateMask": []string{"config.createdBy"},
					"installation": map[string]any{"config": map[string]any{"createdBy": "front-end"}}}}}
			},
			other: func(f *jwtFixture) []jwtCall {
				return []jwtCall{
					{path: inst(f, f.instB+"?skipSampling=true"), body: map[string]any{"updateMask": []string{"config.createdBy"},
						"installation": map[string]any{"config": map[string]any{"createdBy": "front-end"}}}},
					// A's installation moved onto B's connection.
					{path: inst(f, f.w.instID+"?skipSampling=true"), body: map[string]any{"updateMask": []string{"connectionId"},
						"installation": map[string]any{"connectionId": f.connB}}},
				}
			}},
		"DELETE " + p + "/integrations/{integrationId}/installations/{installationId}": {class: jwtGroup,
			own:   func(f *jwtFixture) []jwtCall { return []jwtCall{{path: inst(f, f.w.instID)}} },
			other: func(f *jwtFixture) []jwtCall { return []jwtCall{{path: inst(f, f.instB)}} }},
		// :pause and :unpause.
		"POST " + p + "/integrations/{integrationId}/installations/{installationId}": {class: jwtBuilder,
			probe: func(f *jwtFixture) jwtCall { return jwtCall{path: inst(f, f.w.instID+":pause")} },
			builderOnly: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{path: inst(f, f.w.instID+":unpause")}, {path: inst(f, f.instB+":pause")}}
			}},
		"PATCH " + p + "/integrations/{integrationId}/objects/{objectName}/config-content": {class: jwtGroup,
			own: func(f *jwtFixture) []jwtCall {
				path := f.pp + "/integrations/" + f.w.integID + "/objects/account/config-content?skipSampling=true"
				return []jwtCall{
					{path: path, body: map[string]any{"installationId": f.w.instID, "action": "read", "changes": contentChange}},
					{path: path, body: map[string]any{"groupRef": "acme", "action": "read", "changes": contentChange}},
				}
			},
			other: func(f *jwtFixture) []jwtCall {
				path := f.pp + "/integrations/" + f.w.integID + "/objects/account/config-content?skipSampling=true"
				return []jwtCall{
					{path: path, body: map[string]any{"installationId": f.instB, "action": "read", "changes": contentChange}},
					{path: path, body: map[string]any{"groupRef": "globex", "action": "read", "changes": contentChange}},
					// A group without an installation is refused the
					// same way, so a token cannot probe which groups
					// have one.
					{path: path, body: map[string]any{"groupRef": "initech", "action": "read", "changes": contentChange}, names: "initech"},
				}
			}},

		// The Read and Write API and operations are the builder's backend.
		"POST " + p + "/integrations/{integrationId}/objects/{objectName}":                                                 builder,
		"GET " + p + "/integrations/{integrationId}/installations/{installationId}/operations":                             builder,
		"GET " + p + "/integrations/{integrationId}/installations/{installationId}/objects/{objectName}/backfill-progress": builder,
		"GET " + p + "/operations/{operationId}":                                                                           builder,
		"GET " + p + "/operations/{operationId}/logs":                                                                      builder,

		"GET " + p + "/connections": {class: jwtGroup,
			own: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{path: f.pp + "/connections"}, {path: f.pp + "/connections?groupRef=acme&provider=salesforce"}}
			},
			other: func(f *jwtFixture) []jwtCall { return []jwtCall{{path: f.pp + "/connections?groupRef=globex"}} }},
		"POST " + p + "/connections:generate": {class: jwtBuilder,
			probe: func(f *jwtFixture) jwtCall {
				return jwtCall{path: f.pp + "/connections:generate", body: generateBody("acme", nil)}
			}},
		"GET " + p + "/connections/{connectionId}": {class: jwtGroup,
			own:   func(f *jwtFixture) []jwtCall { return []jwtCall{{path: f.pp + "/connections/" + f.w.connID}} },
			other: func(f *jwtFixture) []jwtCall { return []jwtCall{{path: f.pp + "/connections/" + f.connB}} }},
		// :oauth-update is the group's; a plain update is the builder's.
		"PATCH " + p + "/connections/{connectionId}": {class: jwtGroup,
			own: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{path: f.pp + "/connections/" + f.w.connID + ":oauth-update"}}
			},
			other: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{path: f.pp + "/connections/" + f.connB + ":oauth-update"}}
			},
			builderOnly: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{path: f.pp + "/connections/" + f.w.connID, body: map[string]any{"updateMask": []string{"providerWorkspaceRef"},
					"connection": map[string]any{"providerWorkspaceRef": "x"}}}}
			}},
		"DELETE " + p + "/connections/{connectionId}": {class: jwtBuilder,
			builderOnly: func(f *jwtFixture) []jwtCall { return []jwtCall{{path: f.pp + "/connections/" + f.connB}} }},

		"GET " + p + "/destinations":                  builder,
		"POST " + p + "/destinations":                 builder,
		"GET " + p + "/destinations/{destination}":    builder,
		"PATCH " + p + "/destinations/{destination}":  builder,
		"DELETE " + p + "/destinations/{destination}": builder,
		"GET " + p + "/jwt-keys":                      builder,
		"POST " + p + "/jwt-keys":                     builder,
		"DELETE " + p + "/jwt-keys/{keyId}":           builder,
		"GET /v1/generate-upload-url":                 builder,
		"GET " + p + "/api-keys":                      builder,
		"POST " + p + "/api-keys":                     builder,
		"GET " + p + "/api-keys/{apiKey}":             builder,
		"PATCH " + p + "/api-keys/{apiKey}":           builder,
		"DELETE " + p + "/api-keys/{apiKey}":          builder,

		// Mounted by runtime/server (and by newJWTFixture) with
		// api.AuthorizeConnect.
		"POST /v1/oauth-connect": {class: jwtGroup,
			own: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{body: connectBody("jr", "hubspot", "acme", "u-acme")}}
			},
			other: func(f *jwtFixture) []jwtCall {
				return []jwtCall{{body: connectBody("jr", "hubspot", "globex", "u-globex")},
					{body: connectBody("jr", "hubspot", "acme", "u-globex"), names: "u-globex"}}
			}},
	}
}

func connectBody(project, provider, group, consumer string) map[string]any {
	return map[string]any{"projectIdOrName": project, "provider": provider, "groupRef": group, "consumerRef": consumer}
}

// isForbidden reports whether r is a 403 problem+json whose detail names
// every one of names.
func isForbidden(r resp, names ...string) bool {
	var pr struct {
		Type, Detail string
		Status       int
	}
	if r.status != 403 || r.ctype != "application/problem+json" || json.Unmarshal(r.body, &pr) != nil ||
		pr.Status != 403 || pr.Type != "urn:amp:problem:forbidden" {
		return false
	}
	for _, n := range names {
		if !strings.Contains(pr.Detail, `"`+n+`"`) {
			return false
		}
	}
	return true
}

// TestJWTRouteWalk walks every route the API serves with front-end tokens.
// Each route must have a row in jwtRouteTable: a route added without one
// fails here. For every route: tokens with a bad signature, expired, of an
// unknown key id or signed by another project's key are 401; another
// project's valid token is 404 on this project's paths (as another
// project's API key is) and 403 on builder routes elsewhere. Then, by
// class, builder routes answer 403 to every token, project routes serve
// group A's token, and group routes serve A on its own resources and
// answer 403 naming the group on B's, with B's resources unchanged.
func TestJWTRouteWalk(t *testing.T) {
	t.Parallel()
	table := jwtRouteTable()
	// The route list comes from a fixture's API, which has every built-in
	// route plus what the server adds (oauth-connect, hydrate).
	routes := newJWTFixture(t).e.a.AllRoutes()
	seen := map[string]bool{}
	for _, rt := range routes {
		id := rt.Method + " " + rt.Path
		seen[id] = true
		want, ok := table[id]
		if !ok {
			t.Errorf("%s has no row in jwtRouteTable: decide what a front-end JWT may do there", id)
			continue
		}
		if (want.class == jwtPublic) != (rt.Auth == api.AuthNone) {
			t.Errorf("%s: the table says public=%v, the route's Auth is %v", id, want.class == jwtPublic, rt.Auth)
			continue
		}
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			f := newJWTFixture(t)
			f.walk(t, rt, want)
		})
	}
	for id := range table {
		if !seen[id] {
			t.Errorf("jwtRouteTable has %s, which is not served", id)
		}
	}
	if len(routes) < 50 {
		t.Errorf("walked only %d routes", len(routes))
	}
}

// probe is the route's request for the generic checks.
func (f *jwtFixture) probe(rt api.RouteInfo, want jwtExpect) jwtCall {
	if want.probe != nil {
		return want.probe(f)
	}
	if want.class == jwtGroup && want.own != nil {
		return want.own(f)[0]
	}
	c := jwtCall{path: fill(rt.Path, f.vals())}
	if b := validBodies("acme", f.w.instID)[rt.Method+" "+rt.Path]; b != nil {
		c.body = b
	}
	return c
}

func (f *jwtFixture) send(rt api.RouteInfo, c jwtCall, token string) resp {
	f.e.t.Helper()
	method := c.method
	if method == "" {
		method = rt.Method
	}
	path := c.path
	if path == "" {
		path = rt.Path
	}
	body := c.body
	if body == nil && method != http.MethodGet && method != http.MethodDelete {
		body = map[string]any{}
	}
	if token == "" {
		return f.e.do(method, path, "", body)
	}
	return f.e.bearer(method, path, token, body)
}

// snapshot is what the builder's key reads of everything a refused
// request must leave alone: group B's installation and connection, and the
// builder-only resources.
func (f *jwtFixture) snapshot() []byte {
	f.e.t.Helper()
	var out []byte
	for _, path := range []string{
		f.pp + "/integrations/" + f.w.integID + "/installations/" + f.instB,
		f.pp + "/connections/" + f.connB,
		f.pp, f.pp + "/provider-apps", f.pp + "/integrations", f.pp + "/destinations", f.pp + "/jwt-keys", f.pp + "/api-keys",
	} {
		r := f.e.must(200, "GET", path, f.w.key, nil)
		out = append(append(out, r.body...), '\n')
	}
	return out
}

func (f *jwtFixture) walk(t *testing.T, rt api.RouteInfo, want jwtExpect) {
	probe := f.probe(rt, want)
	before := f.snapshot()

	if rt.Auth == api.AuthNone {
		anon := f.send(rt, probe, "")
		for name, tok := range f.bad {
			if r := f.send(rt, probe, tok); r.status != anon.status {
				t.Errorf("%s token: %d %s, want %d as without credentials", name, r.status, r.body, anon.status)
			}
		}
		if r := f.send(rt, probe, f.tokA); r.status != anon.status {
			t.Errorf("group A's token: %d %s, want %d as without credentials", r.status, r.body, anon.status)
		}
		return
	}

	for name, tok := range f.bad {
		if r := f.send(rt, probe, tok); r.status != 401 || r.ctype != "application/problem+json" {
			t.Errorf("%s token: %d %s %s, want 401 problem+json", name, r.status, r.ctype, r.body)
		}
	}
	other := 404
	if want.class == jwtBuilder && !strings.Contains(rt.Path, "{projectIdOrName}") {
		other = 403
	}
	if r := f.send(rt, probe, f.tokOther); r.status != other {
		t.Errorf("another project's token: %d %s, want %d", r.status, r.body, other)
	}

	switch want.class {
	case jwtBuilder:
		calls := []jwtCall{probe}
		if want.builderOnly != nil {
			calls = append(calls, want.builderOnly(f)...)
		}
		for _, c := range calls {
			for _, tok := range []string{f.tokA, f.tokB} {
				if r := f.send(rt, c, tok); !isForbidden(r) {
					t.Errorf("%s with a token: %d %s %s, want 403 problem+json", c.path, r.status, r.ctype, r.body)
				}
			}
		}
	case jwtProject:
		if r := f.send(rt, probe, f.tokA); r.status/100 != 2 {
			t.Errorf("%s with group A's token: %d %s, want 2xx", probe.path, r.status, r.body)
		}
	case jwtGroup:
		if want.own == nil || want.other == nil {
			t.Fatal("a group route needs own and other requests")
		}
		for _, c := range want.other(f) {
			names := []string{"acme", "globex"}
			if c.names != "" {
				names = []string{c.names}
			}
			if r := f.send(rt, c, f.tokA); !isForbidden(r, names...) {
				t.Errorf("%s %v with group A's token: %d %s %s, want 403 problem+json naming %v", c.path, c.body, r.status, r.ctype, r.body, names)
			}
		}
		if want.builderOnly != nil {
			for _, c := range want.builderOnly(f) {
				if r := f.send(rt, c, f.tokA); !isForbidden(r) {
					t.Errorf("%s %v with group A's token: %d %s, want 403", c.path, c.body, r.status, r.body)
				}
			}
		}
		if want.setup != nil {
			want.setup(f)
		}
		for _, c := range want.own(f) {
			r := f.send(rt, c, f.tokA)
			if r.status/100 != 2 {
				t.Errorf("%s %v with group A's token: %d %s, want 2xx", c.path, c.body, r.status, r.body)
			}
			for _, id := range []string{f.instB, f.connB} {
				if bytes.Contains(r.body, []byte(id)) {
					t.Errorf("%s with group A's token shows group B's %s: %s", c.path, id, r.body)
				}
			}
		}
	}

	// Refused requests changed nothing, and group A's token still works.
	if after := f.snapshot(); !bytes.Equal(before, after) {
		t.Errorf("the walk changed what it must not:\nbefore %s\nafter  %s", before, after)
	}
	if r := f.e.bearer("GET", f.pp+"/connections/"+f.w.connID, f.tokA, nil); r.status != 200 {
		t.Errorf("group A's token after the walk: %d %s, want 200", r.status, r.body)
	}
}

// TestJWTOAuthConnect drives oauth-connect, which answers the bare
// authorize URL, with front-end tokens: a token starts a connection for its
// own group and consumer only.
func TestJWTOAuthConnect(t *testing.T) {
	t.Parallel()
	f := newJWTFixture(t)
	connect := func(token string, body map[string]any) resp {
		t.Helper()
		return f.e.bearer("POST", "/v1/oauth-connect", token, body)
	}
	for _, c := range []struct {
		name   string
		token  string
		body   map[string]any
		status int
		// names are what a 403's detail must name.
		names []string
	}{
		{"A's token for group B", f.tokA, connectBody("jr", "hubspot", "globex", "u-globex"), 403, []string{"acme", "globex"}},
		{"A's token for group B, A's consumer", f.tokA, connectBody("jr", "hubspot", "globex", "u-acme"), 403, []string{"acme", "globex"}},
		{"A's token for another consumer", f.tokA, connectBody("jr", "hubspot", "acme", "u-globex"), 403, []string{"u-acme", "u-globex"}},
		{"B's token for group A", f.tokB, connectBody("jr", "hubspot", "acme", "u-acme"), 403, []string{"globex", "acme"}},
		{"another project's token naming this project", f.tokOther, connectBody("jr", "hubspot", "acme", "u-acme"), 404, nil},
		{"expired token", f.bad["expired"], connectBody("jr", "hubspot", "acme", "u-acme"), 401, nil},
		{"bad signature", f.bad["bad signature"], connectBody("jr", "hubspot", "acme", "u-acme"), 401, nil},
	} {
		r := connect(c.token, c.body)
		switch {
		case r.status != c.status || r.ctype != "application/problem+json":
			t.Errorf("%s: %d %s %s, want %d problem+json", c.name, r.status, r.ctype, r.body, c.status)
		case c.status == 403 && !isForbidden(r, c.names...):
			t.Errorf("%s: %s, want a detail naming %v", c.name, r.body, c.names)
		}
	}

	// Group A's own: the authorize URL, as text.
	r := connect(f.tokA, connectBody("jr", "hubspot", "acme", "u-acme"))
	if r.status != 200 || !strings.HasPrefix(r.ctype, "text/plain") {
		t.Fatalf("A's token for group A = %d %s %s, want 200 text/plain", r.status, r.ctype, r.body)
	}
	u, err := url.Parse(string(r.body))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		t.Fatalf("authorize URL %q does not parse as https: %v", r.body, err)
	}
	q := u.Query()
	if q.Get("client_id") != "hub-cid" || q.Get("state") == "" || q.Get("redirect_uri") != "http://127.0.0.1:1"+oauth.CallbackPath {
		t.Errorf("authorize URL %s: want client_id hub-cid, a state and the callback as redirect_uri", u)
	}
	// The group now has a pending consent, not a connection: B's token
	// still cannot see or start anything of A's.
	if r := connect(f.tokB, connectBody("jr", "hubspot", "acme", "u-acme")); !isForbidden(r, "globex", "acme") {
		t.Errorf("B's token for group A after A's connect = %d %s, want 403", r.status, r.body)
	}
	// A token never needs the builder's key for its own group's consent,
	// and the builder's key is not limited to one group.
	if r := f.e.do("POST", "/v1/oauth-connect", f.w.key, connectBody("jr", "hubspot", "globex", "u-globex")); r.status != 200 {
		t.Errorf("the builder's key for group B = %d %s, want 200", r.status, r.body)
	}
}
