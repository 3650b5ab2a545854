package providers

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Provider is what every provider package registers. Connectors add optional
// capabilities on top; the catalog entry is the one thing all share.
type Provider interface {
	// Spec returns the provider's catalog entry. Callers must not modify it.
	Spec() *Spec
}

// Registry maps catalog keys to providers. The zero value is ready to use and
// safe for concurrent use.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Provider
}

// Default is the registry provider packages add themselves to in init.
// Import providers/all to fill it with every built-in provider.
var Default = &Registry{}

// Register adds p. It panics on an empty or duplicate name, so a wiring
// mistake fails when the binary starts rather than when a customer connects.
func (r *Registry) Register(p Provider) {
	s := p.Spec()
	if s == nil || s.Name == "" {
		panic("providers: Register with an empty provider name")
	}
	if errs := CheckSpec(s); len(errs) > 0 {
		panic(fmt.Sprintf("providers: Register %q: %v", s.Name, errors.Join(errs...)))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]Provider)
	}
	if _, dup := r.m[s.Name]; dup {
		panic(fmt.Sprintf("providers: provider %q registered twice", s.Name))
	}
	r.m[s.Name] = p
}

// Lookup returns the provider registered under name (case-sensitive).
func (r *Registry) Lookup(name string) (Provider, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.m[name]
	return p, ok
}

// Spec returns the catalog entry registered under name.
func (r *Registry) Spec(name string) (*Spec, bool) {
	p, ok := r.Lookup(name)
	if !ok {
		return nil, false
	}
	return p.Spec(), true
}

// Names returns the registered names in sorted order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// StaticProvider wraps a catalog entry as a Provider. Provider packages use it
// until they have a connector of their own.
type StaticProvider struct{ S *Spec }

// Spec returns the wrapped catalog entry.
func (p StaticProvider) Spec() *Spec { return p.S }

// ElsewhereKnown lists provider keys from Ampersand's catalog that amp has no
// connector for. Manifests naming them are structurally valid and portable, so
// validation warns instead of failing; a name in neither list is an error.
var ElsewhereKnown = []string{
	"activeCampaign", "apollo", "asana", "attio", "blueshift", "brevo", "clari", "close", "copper",
	"dynamicsBusinessCentral", "freshdesk", "freshsales", "front", "gong", "googleContacts",
	"gorgias", "insightly", "instantly", "intercom", "keap", "klaviyo", "linear", "marketo",
	"microsoft", "monday", "netsuite", "notion", "outreach", "pipedrive", "pipeliner", "salesloft",
	"sageIntacct", "servicenow", "smartlead", "stripe", "zendeskSupport", "zoho", "zohoDesk", "zoom",
}
