package providers_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ampforge/amp/providers"
	_ "github.com/ampforge/amp/providers/all"
)

func ExampleRegistry_Names() {
	for _, name := range providers.Default.Names() {
		fmt.Println(name)
	}
	// Output:
	// dynamicsCRM
	// hubspot
	// salesforce
}

func TestRegisterPanicsOnEmptyName(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]providers.Provider{
		"nil spec":   providers.StaticProvider{},
		"empty name": providers.StaticProvider{S: &providers.Spec{DisplayName: "Nameless"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := &providers.Registry{}
			if !panics(func() { r.Register(p) }) {
				t.Fatal("Register did not panic")
			}
			if got := r.Names(); len(got) != 0 {
				t.Errorf("Names() = %v after a failed Register, want none", got)
			}
		})
	}
}

// minimal returns the smallest catalog entry Register accepts.
func minimal(name string) *providers.Spec {
	return &providers.Spec{Name: name, Modules: []providers.Module{{ID: "crm", DisplayName: "CRM"}}, DefaultModule: "crm"}
}

func TestRegisterPanicsOnBadSpec(t *testing.T) {
	t.Parallel()
	s := minimal("acme")
	s.Objects = []providers.Object{{Name: "thing", DisplayName: "Thing", Fields: []providers.Field{{Name: "size", DisplayName: "Size", Type: "bigint"}}}}
	if !panics(func() { (&providers.Registry{}).Register(providers.StaticProvider{S: s}) }) {
		t.Fatal("Register of an entry with an unknown field type did not panic")
	}
	if errs := providers.CheckSpec(s); len(errs) != 1 || !strings.Contains(errs[0].Error(), `"bigint"`) {
		t.Errorf("CheckSpec = %v, want one error naming the type", errs)
	}
}

func TestRegisterPanicsOnDuplicateName(t *testing.T) {
	t.Parallel()
	r := &providers.Registry{}
	first := providers.StaticProvider{S: minimal("acme")}
	r.Register(first)
	if !panics(func() { r.Register(providers.StaticProvider{S: minimal("acme")}) }) {
		t.Fatal("Register of a duplicate name did not panic")
	}
	got, ok := r.Lookup("acme")
	if !ok || got.Spec() != first.S {
		t.Error("the first registration was replaced")
	}
	// Names are case-sensitive: "Acme" is a different provider.
	r.Register(providers.StaticProvider{S: minimal("Acme")})
	if names := r.Names(); len(names) != 2 {
		t.Errorf("Names() = %v, want Acme and acme", names)
	}
}

func TestDefaultHasBuiltIns(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"salesforce", "hubspot", "dynamicsCRM"} {
		s, ok := providers.Default.Spec(name)
		if !ok || s.Name != name {
			t.Errorf("providers.Default.Spec(%q) = %v, %v", name, s, ok)
		}
	}
}

// panics reports whether f panics.
func panics(f func()) (panicked bool) {
	defer func() { panicked = recover() != nil }()
	f()
	return false
}
