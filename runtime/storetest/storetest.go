package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ampforge/amp/runtime"
)

// Run runs the suite. newStore must return a new, empty store on every call
// (each subtest calls it once, and subtests run in parallel) and close it
// with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) runtime.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Project", projectTests},
		{"ProviderApp", providerAppTests},
		{"Deploy", deployTests},
		{"Installation", installationTests},
		{"Connection", connectionTests},
		{"Destination", destinationTests},
		{"APIKey", apiKeyTests},
		{"JWTKey", jwtKeyTests},
		{"Upload", uploadTests},
		{"OAuthState", oauthStateTests},
		{"Operation", operationTests},
		{"ReadState", readStateTests},
		{"Outbox", outboxTests},
		{"WriteOperation", writeOperationTests},
		{"WriteState", writeStateTests},
		{"TenantIsolation", isolationTests},
		{"Concurrency", concurrencyTests},
		{"Times", timeTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.run(t, setup(t, newStore(t)))
				})
			}
		})
	}
}

// test is one conformance test.
type test struct {
	name string
	run  func(t *testing.T, f *fixture)
}

// fixture is a store with two projects, A and B, and helpers that create
// rows or fail the test.
type fixture struct {
	s    runtime.Store
	ctx  context.Context
	a, b *runtime.Project
	n    int // for unique names
}

func setup(t *testing.T, s runtime.Store) *fixture {
	t.Helper()
	f := &fixture{s: s, ctx: t.Context()}
	f.a = f.project(t, "project-a")
	f.b = f.project(t, "project-b")
	return f
}

func (f *fixture) next() int { f.n++; return f.n }

func (f *fixture) project(t *testing.T, name string) *runtime.Project {
	t.Helper()
	p := &runtime.Project{Name: name, AppName: "App " + name}
	if err := f.s.CreateProject(f.ctx, p); err != nil {
		t.Fatalf("CreateProject(%s): %v", name, err)
	}
	return p
}

func (f *fixture) providerApp(t *testing.T, projectID, provider string) *runtime.ProviderApp {
	t.Helper()
	a := &runtime.ProviderApp{
		ProjectID:    projectID,
		Provider:     provider,
		ClientID:     "client-" + provider,
		ClientSecret: []byte("sealed-client-secret-" + provider),
		Scopes:       []string{"api", "refresh_token"},
		Metadata: runtime.ProviderAppMetadata{
			ProviderParams: map[string]string{"packageInstallURL": "https://login.example.com/install"},
		},
	}
	if err := f.s.CreateProviderApp(f.ctx, a); err != nil {
		t.Fatalf("CreateProviderApp(%s): %v", provider, err)
	}
	return a
}

// manifest returns a small manifest text for an integration.
func manifest(name, provider string, version int) []byte {
	return fmt.Appendf(nil, "specVersion: 1.0.0\nintegrations:\n  - name: %s\n    provider: %s\n    read:\n      objects:\n        - objectName: account\n          schedule: \"*/%d * * * *\"\n",
		name, provider, 10+version)
}

func deployOf(name, provider string, version int) runtime.IntegrationDeploy {
	return runtime.IntegrationDeploy{Name: name, Provider: provider, SpecVersion: "1.0.0", Content: manifest(name, provider, version)}
}

func (f *fixture) deploy(t *testing.T, projectID string, ds ...runtime.IntegrationDeploy) []runtime.DeployResult {
	t.Helper()
	res, err := f.s.DeployIntegrations(f.ctx, projectID, ds)
	if err != nil {
		t.Fatalf("DeployIntegrations: %v", err)
	}
	if len(res) != len(ds) {
		t.Fatalf("DeployIntegrations returned %d results for %d deploys", len(res), len(ds))
	}
	return res
}

func (f *fixture) integration(t *testing.T, projectID, name, provider string) *runtime.Integration {
	t.Helper()
	res := f.deploy(t, projectID, deployOf(name, provider, 1))
	return &res[0].Integration
}

func (f *fixture) connection(t *testing.T, projectID, provider, groupRef string) *runtime.Connection {
	t.Helper()
	c := &runtime.Connection{
		ProjectID:            projectID,
		Provider:             provider,
		ProviderAppID:        "app-1",
		GroupRef:             groupRef,
		GroupName:            "Group " + groupRef,
		ConsumerRef:          "user-1",
		ConsumerName:         "Ada",
		ProviderWorkspaceRef: "acme-dev-ed",
		AuthScheme:           runtime.AuthSchemeOAuth2AuthorizationCode,
		Status:               runtime.ConnectionCreated,
		Tokens:               []byte("sealed-tokens-v1"),
		TokenExpiry:          time.Now().Add(time.Hour),
		Scopes:               []string{"api", "refresh_token"},
		ProviderMetadata: map[string]runtime.ProviderMetadataInfo{
			"instanceURL": {Value: "https://acme.my.example.com", Source: "token", DisplayName: "Instance URL"},
		},
	}
	if err := f.s.CreateConnection(f.ctx, c); err != nil {
		t.Fatalf("CreateConnection(%s, %s): %v", provider, groupRef, err)
	}
	return c
}

// sampleContent is a config content that uses every kind of field of
// config_config.yaml, including empty maps and lists that must come back
// as empty, not as absent.
func sampleContent(provider string) runtime.ConfigContent {
	days := 30
	amp := "amp"
	return runtime.ConfigContent{
		Provider: provider,
		Read: &runtime.ReadConfig{Objects: map[string]runtime.ReadConfigObject{
			"account": {
				ObjectName:            "account",
				Schedule:              "*/15 * * * *",
				Destination:           "accountWebhook",
				SelectedFields:        map[string]bool{"phone": true, "industry": true},
				SelectedValueMappings: map[string]map[string]string{},
				DynamicMappingsInput:  []runtime.DynamicMappingsInputEntry{},
				SelectedFieldMappings: map[string]string{"country": "billingcountry"},
				Backfill:              &runtime.BackfillConfig{DefaultPeriod: runtime.DefaultPeriodConfig{Days: &days}},
				FieldFilters:          []runtime.ReadFilter{{FieldName: "status", Operator: "eq", Value: json.RawMessage(`"active"`)}},
			},
			"contact": {
				ObjectName:         "contact",
				Disabled:           true,
				SelectedFieldsAuto: runtime.SelectedFieldsAll,
				SelectedValueMappings: map[string]map[string]string{
					"stage": {"won": "closedWon"},
				},
				DynamicMappingsInput: []runtime.DynamicMappingsInputEntry{{
					MapToName: "country", MapToDisplayName: "Country", Prompt: "Pick one",
					MappedValues: []runtime.DynamicMappingsInputMappedValue{{MappedValue: "us", MappedDisplayValue: "US"}},
				}},
			},
		}},
		Write: &runtime.WriteConfig{Objects: map[string]runtime.WriteConfigObject{
			"account": {
				ObjectName:       "account",
				DeletionSettings: &runtime.DeletionSettings{Enabled: true},
				SelectedFieldSettings: map[string]runtime.FieldSetting{
					"source": {Default: &runtime.FieldSettingDefault{StringValue: &amp}, WriteOnUpdate: "never"},
				},
			},
		}},
		Subscribe: json.RawMessage(`{"objects":{}}`),
		Proxy:     &runtime.ProxyConfig{Enabled: true},
	}
}

func (f *fixture) installation(t *testing.T, integ *runtime.Integration, conn *runtime.Connection) *runtime.Installation {
	t.Helper()
	in := &runtime.Installation{
		ProjectID:     integ.ProjectID,
		IntegrationID: integ.ID,
		GroupRef:      conn.GroupRef,
		GroupName:     conn.GroupName,
		ConnectionID:  conn.ID,
		CreatedBy:     "consumer:" + conn.ConsumerRef,
		Config: runtime.InstallationConfig{
			CreatedBy: "consumer:" + conn.ConsumerRef,
			Content:   sampleContent(integ.Provider),
		},
	}
	if err := f.s.CreateInstallation(f.ctx, in); err != nil {
		t.Fatalf("CreateInstallation(%s, %s): %v", integ.Name, conn.GroupRef, err)
	}
	return in
}

func (f *fixture) destination(t *testing.T, projectID, name string) *runtime.Destination {
	t.Helper()
	d := &runtime.Destination{
		ProjectID:     projectID,
		Name:          name,
		Type:          runtime.DestinationWebhook,
		Metadata:      runtime.DestinationMetadata{URL: "https://hooks.example.com/" + name, Headers: map[string]string{"X-Env": "test"}},
		SigningSecret: []byte("sealed-signing-secret-" + name),
	}
	if err := f.s.CreateDestination(f.ctx, d); err != nil {
		t.Fatalf("CreateDestination(%s): %v", name, err)
	}
	return d
}

func (f *fixture) apiKey(t *testing.T, projectID, key string) *runtime.APIKey {
	t.Helper()
	k := &runtime.APIKey{ProjectID: projectID, KeyHash: keyHash(key), Label: "key " + key, Scopes: []string{"full"}, Active: true}
	if err := f.s.CreateAPIKey(f.ctx, k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return k
}

func (f *fixture) oauthState(t *testing.T, projectID string, expire time.Time) *runtime.OAuthState {
	t.Helper()
	st := &runtime.OAuthState{
		State:                fmt.Sprintf("state-%s-%d-0123456789abcdef", projectID, f.next()),
		ProjectID:            projectID,
		Provider:             "salesforce",
		ProviderAppID:        "app-1",
		GroupRef:             "acme",
		GroupName:            "Acme",
		ConsumerRef:          "user-1",
		ConsumerName:         "Ada",
		ProviderWorkspaceRef: "acme-dev-ed",
		ProviderMetadata:     map[string]runtime.ProviderMetadataInfo{"workspace": {Value: "acme-dev-ed", Source: "input"}},
		Scopes:               []string{"api", "refresh_token"},
		PKCEVerifier:         []byte("sealed-verifier"),
		RedirectURI:          "https://amp.example.com/callbacks/v1/oauth",
		ExpireTime:           expire,
	}
	if err := f.s.CreateOAuthState(f.ctx, st); err != nil {
		t.Fatalf("CreateOAuthState: %v", err)
	}
	return st
}

// wantCode fails the test unless err has the code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := runtime.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q, want %q (error: %v)", what, got, code, err)
	}
}

// noErr fails the test on an error.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// same fails the test when got differs from want.
func same[T any](t *testing.T, what string, want, got T) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, diff)
	}
}

// clockSlack is how far a store's clock may be from the test's: a store may
// take times from its database server.
const clockSlack = time.Minute

// wantTime fails the test unless tm was set by the store during [before,
// after] (give or take clockSlack), at millisecond precision, in UTC.
func wantTime(t *testing.T, what string, tm, before, after time.Time) {
	t.Helper()
	if tm.IsZero() {
		t.Fatalf("%s is not set", what)
	}
	if tm.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, tm.Location())
	}
	if tm.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("%s = %v has sub-millisecond digits", what, tm)
	}
	if tm.Before(runtime.Millis(before).Add(-clockSlack)) || tm.After(after.Add(clockSlack)) {
		t.Errorf("%s = %v, want within [%v, %v]", what, tm, before, after)
	}
}

func ptr[T any](v T) *T { return &v }

// keyHash hashes an API key as runtime/apikey does; to the store it is 32
// opaque bytes.
func keyHash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}
