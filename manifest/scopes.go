package manifest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ampforge/amp/providers"
)

// ScopeNeed is one OAuth scope an integration needs and every reason why.
type ScopeNeed struct {
	Name    string   `json:"name"`
	Reasons []string `json:"reasons"`
}

// IntegrationScopes is the minimal scope set of one integration.
type IntegrationScopes struct {
	Integration string `json:"integration"`
	Provider    string `json:"provider"`
	// Supported is false when the provider has no catalog entry, so no
	// scopes can be derived.
	Supported bool        `json:"supported"`
	Scopes    []ScopeNeed `json:"scopes"`
}

// Names returns the scope names in order.
func (s IntegrationScopes) Names() []string {
	out := make([]string, len(s.Scopes))
	for i, sc := range s.Scopes {
		out[i] = sc.Name
	}
	return out
}

// Scopes derives, per integration, the minimal OAuth scopes the manifest
// needs: the provider's base scopes, the scopes of each object it reads,
// writes or subscribes to (with the schema scopes introspection needs), and
// nothing else. Scopes are never written in the manifest. reg nil means
// providers.Default.
func Scopes(m *Manifest, reg *providers.Registry) []IntegrationScopes {
	if reg == nil {
		reg = providers.Default
	}
	var out []IntegrationScopes
	for _, in := range m.Integrations {
		if in == nil {
			continue
		}
		out = append(out, integrationScopes(in, reg))
	}
	return out
}

type scopeAcc struct {
	order   []string
	reasons map[string][]string
}

func (a *scopeAcc) add(name, reason string) {
	if name == "" {
		return
	}
	if a.reasons == nil {
		a.reasons = map[string][]string{}
	}
	if _, ok := a.reasons[name]; !ok {
		a.order = append(a.order, name)
	}
	if !slices.Contains(a.reasons[name], reason) {
		a.reasons[name] = append(a.reasons[name], reason)
	}
}

func integrationScopes(in *Integration, reg *providers.Registry) IntegrationScopes {
	res := IntegrationScopes{Integration: in.Name, Provider: in.Provider, Scopes: []ScopeNeed{}}
	spec, ok := reg.Spec(in.Provider)
	if !ok {
		return res
	}
	res.Supported = true
	module := spec.ResolveModule(in.Module)
	var acc scopeAcc
	for _, s := range spec.Scopes.Base {
		acc.add(s.Name, s.Reason)
	}
	for _, s := range spec.Scopes.Modules[module] {
		acc.add(s.Name, s.Reason)
	}
	actions := map[providers.Action]bool{
		providers.ActionRead:      in.Read != nil && len(in.Read.Objects) > 0,
		providers.ActionWrite:     in.Write != nil && len(in.Write.Objects) > 0,
		providers.ActionProxy:     in.Proxy != nil && in.Proxy.Enabled,
		providers.ActionSubscribe: in.Subscribe != nil && len(in.Subscribe.Objects) > 0,
	}
	for _, a := range []providers.Action{providers.ActionRead, providers.ActionWrite, providers.ActionProxy, providers.ActionSubscribe} {
		if actions[a] {
			for _, s := range spec.Scopes.Actions[a] {
				acc.add(s.Name, s.Reason)
			}
		}
	}
	objectScopes := func(name string) (providers.ObjectScopes, string) {
		if o, ok := spec.Object(module, name); ok {
			return o.Scopes, o.Name
		}
		return spec.Scopes.Custom, name + " (custom object)"
	}
	if in.Read != nil {
		for _, o := range in.Read.Objects {
			if o == nil || o.ObjectName == "" {
				continue
			}
			sc, label := objectScopes(o.ObjectName)
			for _, s := range sc.Read {
				acc.add(s, "read "+label)
			}
			for _, s := range sc.Schema {
				acc.add(s, "list "+label+" fields for the customer's field mapping")
			}
		}
	}
	if in.Write != nil {
		for _, o := range in.Write.Objects {
			if o == nil || o.ObjectName == "" {
				continue
			}
			sc, label := objectScopes(o.ObjectName)
			for _, s := range sc.Write {
				acc.add(s, "write "+label)
			}
			for _, s := range sc.Read {
				acc.add(s, "look up "+label+" records for write results and upserts")
			}
			for _, s := range sc.Schema {
				acc.add(s, "list "+label+" fields to map and check written values")
			}
		}
	}
	if in.Subscribe != nil {
		for _, o := range in.Subscribe.Objects {
			if o == nil || o.ObjectName == "" {
				continue
			}
			sc, label := objectScopes(o.ObjectName)
			for _, s := range sc.Read {
				acc.add(s, "receive "+label+" events")
			}
		}
	}
	slices.Sort(acc.order)
	for _, name := range acc.order {
		res.Scopes = append(res.Scopes, ScopeNeed{Name: name, Reasons: acc.reasons[name]})
	}
	return res
}

// ProviderScopes returns the union of the scopes of every integration of a
// provider: what one connection shared by those integrations must be granted.
func ProviderScopes(all []IntegrationScopes, provider string) []string {
	var out []string
	for _, s := range all {
		if s.Provider == provider {
			out = append(out, s.Names()...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// FormatScopes prints scopes as text: per integration, each scope with its reasons.
func FormatScopes(all []IntegrationScopes) string {
	var b strings.Builder
	for i, s := range all {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s (%s)\n", s.Integration, s.Provider)
		if !s.Supported {
			fmt.Fprintf(&b, "  no scopes derived: amp has no catalog entry for provider %q\n", s.Provider)
			continue
		}
		width := 0
		for _, sc := range s.Scopes {
			width = max(width, len(sc.Name))
		}
		for _, sc := range s.Scopes {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, sc.Name, strings.Join(sc.Reasons, "; "))
		}
	}
	return b.String()
}
