package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/runtime"
)

// Sampler reads one record of object with fields through the project's
// connection, as an installation's scheduled read would. It returns nil
// when the read works (or the object has no record), a runtime EINVALID
// error whose message carries the provider's refusal and names the object
// (a field the customer's user cannot see, an unknown object), an
// *UnavailableError when the provider is throttling or down, and any other
// error as it is. runtime/server sets it from runtime/introspect.
type Sampler func(ctx context.Context, projectID, connectionID, object string, fields []string) error

// SetSampler installs the sample read installation saves run (unless the
// request says skipSampling=true). Without one, saves do not sample.
func (a *API) SetSampler(s Sampler) { a.sampler = s }

// UnavailableError is a transient failure of a provider (throttling, an
// outage, a timeout): answered 503 with retryable true, and Retry-After
// when known.
type UnavailableError struct {
	// Message is safe to show to the caller.
	Message    string
	RetryAfter time.Duration
	Err        error
}

func (e *UnavailableError) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *UnavailableError) Unwrap() error { return e.Err }

func (e *UnavailableError) problem(w http.ResponseWriter) *Problem {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	return &Problem{Type: problemTypeBase + "unavailable", Status: http.StatusServiceUnavailable,
		Detail: e.Message, Retryable: true}
}

// sampleTarget is one object a save samples: the provider object and the
// fields the installation will read.
type sampleTarget struct {
	object string
	fields []string
}

// sampleTargets returns the scheduled read objects of content under the
// revision: the manifest's read objects with a schedule (in the manifest
// or the installation's config) that the installation reads (configured
// and not disabled), and those with enabled: always. Each comes with the
// manifest's required fields, the customer's choices for customer-mapped
// fields and the selected optional fields. changed, when not nil, limits
// the result to the config keys it reports as changed.
func sampleTargets(in *manifest.Integration, content runtime.ConfigContent, changed func(key string) bool) []sampleTarget {
	if in == nil || in.Read == nil {
		return nil
	}
	var out []sampleTarget
	for _, mo := range in.Read.Objects {
		if mo == nil || mo.ObjectName == "" {
			continue
		}
		key, cfg, ok := findReadConfig(content, mo.ObjectName)
		always := mo.Enabled == "always"
		switch {
		case !always && (!ok || cfg.Disabled):
			continue
		case mo.Schedule == "" && cfg.Schedule == "" && !always:
			continue
		case changed != nil && !changed(key):
			continue
		}
		var fields []string
		add := func(f string) {
			if f != "" && !slices.ContainsFunc(fields, func(g string) bool { return strings.EqualFold(f, g) }) {
				fields = append(fields, f)
			}
		}
		for _, f := range mo.RequiredFields {
			switch {
			case f == nil:
			case f.CustomerMapped():
				add(cfg.SelectedFieldMappings[f.MapToName])
			default:
				add(f.FieldName)
			}
		}
		// The customer's choices for optional customer-mapped fields, then
		// the selected optional fields, in a stable order.
		rest := make([]string, 0, len(cfg.SelectedFieldMappings)+len(cfg.SelectedFields))
		for _, f := range cfg.SelectedFieldMappings {
			rest = append(rest, f)
		}
		for f, on := range cfg.SelectedFields {
			if on {
				rest = append(rest, f)
			}
		}
		slices.Sort(rest)
		for _, f := range rest {
			add(f)
		}
		out = append(out, sampleTarget{object: mo.ObjectName, fields: fields})
	}
	return out
}

// findReadConfig finds the installation's read config of a manifest
// object: by key, else by objectName, ignoring case.
func findReadConfig(content runtime.ConfigContent, object string) (string, runtime.ReadConfigObject, bool) {
	if content.Read == nil {
		return "", runtime.ReadConfigObject{}, false
	}
	if o, ok := content.Read.Objects[object]; ok {
		return object, o, true
	}
	for k, o := range content.Read.Objects {
		if strings.EqualFold(k, object) || strings.EqualFold(o.ObjectName, object) {
			return k, o, true
		}
	}
	return "", runtime.ReadConfigObject{}, false
}

// revisionIntegration decodes a revision's content (the manifest's
// integration).
func (a *API) revisionIntegration(ctx context.Context, projectID, integrationID, revisionID string) (*manifest.Integration, error) {
	rev, err := a.store.GetRevision(ctx, projectID, integrationID, revisionID)
	if err != nil {
		return nil, err
	}
	var in manifest.Integration
	if err := json.Unmarshal(toRevision(rev).Content, &in); err != nil {
		return nil, fmt.Errorf("revision %s: decode content: %w", rev.ID, err)
	}
	return &in, nil
}

// sample runs the sample read of each target, unless the request says
// skipSampling=true or no sampler is set. The first refusal or failure
// stops it.
//
// A connection of another group than groupRef (the installation's) is
// refused here, before any provider call, with the store's message: the
// sample read must not run with another customer's credentials.
func (a *API) sample(r *http.Request, projectID, groupRef, connectionID string, in *manifest.Integration, content runtime.ConfigContent, changed func(string) bool) error {
	skip, err := queryBool(r, "skipSampling")
	if err != nil || skip || a.sampler == nil {
		return err
	}
	// A connection the store will refuse (another project, provider or a
	// missing one) is not sampled: the store's answer is the clearer one.
	conn, err := a.store.GetConnection(r.Context(), projectID, connectionID)
	if err != nil || conn.ProjectID != projectID || conn.Provider != content.Provider {
		return nil
	}
	if conn.GroupRef != groupRef {
		return runtime.Errorf(runtime.EINVALID, "connection %q belongs to another group than %q", connectionID, groupRef)
	}
	for _, t := range sampleTargets(in, content, changed) {
		if err := a.sampler(r.Context(), projectID, connectionID, t.object, t.fields); err != nil {
			return err
		}
	}
	return nil
}

// readObjectsChanged reports, per config key, whether the read config of
// that key differs between old and new.
func readObjectsChanged(old, new runtime.ConfigContent) func(string) bool {
	return func(key string) bool {
		var o, n any
		if old.Read != nil {
			if v, ok := old.Read.Objects[key]; ok {
				o = v
			}
		}
		if new.Read != nil {
			if v, ok := new.Read.Objects[key]; ok {
				n = v
			}
		}
		ob, _ := json.Marshal(o)
		nb, _ := json.Marshal(n)
		return string(ob) != string(nb)
	}
}
