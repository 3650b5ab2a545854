package providers

import (
	"fmt"
	"slices"
	"strings"
)

// The normalised field value types (Field.Type, FieldMetadata.ValueType),
// as in Ampersand's allFieldsMetadata.
const (
	TypeString       = "string"
	TypeBoolean      = "boolean"
	TypeSingleSelect = "singleSelect"
	TypeMultiSelect  = "multiSelect"
	TypeDate         = "date"
	TypeDateTime     = "datetime"
	TypeInt          = "int"
	TypeFloat        = "float"
	TypeReference    = "reference"
	TypeOther        = "other"
)

// ValueTypes lists every normalised value type.
var ValueTypes = []string{TypeString, TypeBoolean, TypeSingleSelect, TypeMultiSelect, TypeDate, TypeDateTime, TypeInt, TypeFloat, TypeReference, TypeOther}

// CheckSpec returns what is wrong with a catalog entry: modules declared
// once with the default among them, objects unique per module and in a
// declared module, fields unique per object with a normalised type, and
// names and display names present. Register refuses an entry it faults.
func CheckSpec(s *Spec) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{s.Name}, args...)...))
	}
	modules := map[string]bool{}
	for _, m := range s.Modules {
		if m.ID == "" || m.DisplayName == "" {
			bad("module %+v has an empty id or display name", m)
		}
		if modules[m.ID] {
			bad("module %q declared twice", m.ID)
		}
		modules[m.ID] = true
	}
	if !modules[s.DefaultModule] {
		bad("default module %q is not declared", s.DefaultModule)
	}
	objects := map[string]string{}
	for _, o := range s.Objects {
		if o.Name == "" || o.DisplayName == "" {
			bad("object %q has an empty name or display name", o.Name)
		}
		if o.Module != "" && !modules[o.Module] {
			bad("object %q is in undeclared module %q", o.Name, o.Module)
		}
		key := s.ResolveModule(o.Module) + "/" + strings.ToLower(o.Name)
		if prev, dup := objects[key]; dup {
			bad("object %q duplicates %q in module %q", o.Name, prev, s.ResolveModule(o.Module))
		}
		objects[key] = o.Name
		fields := map[string]bool{}
		for _, f := range o.Fields {
			lower := strings.ToLower(f.Name)
			if f.Name == "" || f.DisplayName == "" {
				bad("%s: field %q has an empty name or display name", o.Name, f.Name)
			}
			if fields[lower] {
				bad("%s: field %q listed twice", o.Name, f.Name)
			}
			fields[lower] = true
			if !slices.Contains(ValueTypes, f.Type) {
				bad("%s.%s: type %q is not a normalised type", o.Name, f.Name, f.Type)
			}
		}
	}
	return errs
}

// Action is one kind of work an integration asks of a provider.
type Action string

// The actions a manifest can declare for an integration.
const (
	ActionRead      Action = "read"
	ActionWrite     Action = "write"
	ActionProxy     Action = "proxy"
	ActionSubscribe Action = "subscribe"
)

// Spec is a provider's catalog entry: everything amp knows about the provider
// without calling it. It is data; connectors read it, they do not copy it.
type Spec struct {
	// Name is the catalog key used in manifests (case-sensitive), e.g. "dynamicsCRM".
	Name string
	// DisplayName is the provider's name as people write it.
	DisplayName string
	// Docs is a one-paragraph description shown by `amp providers show`.
	Docs string
	// Modules lists the provider's API modules; DefaultModule applies when a
	// manifest names none.
	Modules       []Module
	DefaultModule string
	// Support says which actions the provider supports.
	Support Support
	// OAuth describes the authorization-code flow. URLs may hold
	// {{.workspace}}-style placeholders filled per connection.
	OAuth OAuth
	// Scopes says which OAuth scopes each object and action needs.
	Scopes ScopeRules
	// Objects are the provider's standard objects with their standard fields,
	// used for offline validation and suggestions.
	Objects []Object
	// Custom says how to recognise custom objects and fields, which offline
	// validation cannot know and so lets through.
	Custom CustomRules
	// Batch holds the provider's per-call limits.
	Batch BatchLimits
	// RateLimit holds the default request budget for one connection.
	RateLimit RateLimit
}

// Module is a provider API area (for example Salesforce's Account Engagement).
type Module struct {
	ID          string
	DisplayName string
	// Aliases are names people still use for the module (Salesforce's
	// Account Engagement was Pardot), so validation can point to the ID.
	Aliases []string
	// Support overrides the provider's support flags inside this module when set.
	Support *Support
}

// Support lists the actions a provider or module supports.
type Support struct {
	Read      bool
	Write     bool
	Proxy     bool
	Subscribe bool
	// Delete is true when the provider can delete records through writes.
	Delete bool
	// BulkRead and BulkWrite are true when the provider has a bulk API.
	BulkRead  bool
	BulkWrite bool
	// MaxSubscribeObjects caps the objects one integration may subscribe to;
	// zero means no limit.
	MaxSubscribeObjects int
}

// Supports reports whether action a is supported.
func (s Support) Supports(a Action) bool {
	switch a {
	case ActionRead:
		return s.Read
	case ActionWrite:
		return s.Write
	case ActionProxy:
		return s.Proxy
	case ActionSubscribe:
		return s.Subscribe
	}
	return false
}

// OAuth describes a provider's OAuth 2.0 authorization-code flow.
type OAuth struct {
	AuthURL  string
	TokenURL string
	// RevokeURL is empty when the provider has no revocation endpoint.
	RevokeURL string
	PKCE      bool
	// ScopeSeparator joins scopes in the authorize URL.
	ScopeSeparator string
	// Inputs names the per-connection values the URLs and scopes need
	// (for example "workspace" for a Dynamics organisation).
	Inputs []Input
	// TokenExpiresIn is false when the token response has no expires_in
	// (Salesforce), so the runtime must refresh on a 401 instead of by clock.
	TokenExpiresIn bool
}

// Input is a value a customer supplies when connecting.
type Input struct {
	Name        string
	DisplayName string
	Prompt      string
	// Optional inputs have a default (Salesforce's login host is
	// production): connect UIs do not ask for them, and a connection made
	// without one is complete.
	Optional bool
}

// Scope is one OAuth scope and the reason amp asks for it.
type Scope struct {
	Name   string
	Reason string
}

// ScopeRules says which scopes a manifest's use of the provider needs.
type ScopeRules struct {
	// Base scopes are needed by every connection (sign-in, offline refresh).
	Base []Scope
	// Modules adds scopes for integrations that use a module.
	Modules map[string][]Scope
	// Actions adds scopes needed whenever an action is used at all
	// (for example Salesforce's api scope for any read or write).
	Actions map[Action][]Scope
	// Custom applies to objects that are not in the catalog (custom objects).
	Custom ObjectScopes
}

// ObjectScopes lists the scopes needed to read, write and introspect one object.
type ObjectScopes struct {
	Read   []string
	Write  []string
	Schema []string
}

// Object is a standard object of a provider.
type Object struct {
	// Name is the object name as manifests spell it (lower case for most providers).
	Name        string
	DisplayName string
	// Module is the module the object belongs to; empty means the default module.
	Module string
	// Fields are the standard fields, named as manifests spell them.
	Fields []Field
	// Scopes are this object's OAuth scopes; empty when the provider's scopes
	// are not per object.
	Scopes ObjectScopes
	// ReadOnly is true when the provider does not accept writes to the object.
	ReadOnly bool
}

// Field is a standard field of an object.
type Field struct {
	Name        string
	DisplayName string
	// Type is the normalised value type: string, boolean, singleSelect,
	// multiSelect, date, datetime, int, float, reference or other.
	Type     string
	ReadOnly bool
}

// CustomRules says how a provider names custom objects and fields.
type CustomRules struct {
	// Objects is true when customers can define objects of their own.
	Objects bool
	// ObjectSuffix, when set, is the suffix every custom object carries
	// (Salesforce "__c"); an unknown name without it is an error.
	ObjectSuffix string
	// FieldSuffix is the same for custom fields.
	FieldSuffix string
	// Fields is true when customers can add fields to standard objects.
	Fields bool
	// Note explains, in a sentence, how custom names look for this provider.
	Note string
}

// IsCustomObject reports whether name can only be a custom object.
func (c CustomRules) IsCustomObject(name string) bool {
	return c.Objects && (c.ObjectSuffix == "" || strings.HasSuffix(strings.ToLower(name), c.ObjectSuffix))
}

// IsCustomField reports whether name may be a custom field.
func (c CustomRules) IsCustomField(name string) bool {
	return c.Fields && (c.FieldSuffix == "" || strings.HasSuffix(strings.ToLower(name), c.FieldSuffix))
}

// BatchLimits are the provider's per-call sizes.
type BatchLimits struct {
	ReadPageSize    int
	MaxReadPageSize int
	WriteBatchSize  int
}

// RateLimit is a connection's default request budget: Requests per Window.
type RateLimit struct {
	Requests      int
	WindowSeconds int
	// DailyRequests is the rolling daily allocation, zero when unknown.
	DailyRequests int
}

// Module returns the module with the given id.
func (s *Spec) Module(id string) (Module, bool) {
	i := slices.IndexFunc(s.Modules, func(m Module) bool { return m.ID == id })
	if i < 0 {
		return Module{}, false
	}
	return s.Modules[i], true
}

// ModuleSupport returns the support flags in force for module id.
func (s *Spec) ModuleSupport(id string) Support {
	if m, ok := s.Module(id); ok && m.Support != nil {
		return *m.Support
	}
	return s.Support
}

// ResolveModule returns the module a manifest means: id, or the default when id is empty.
func (s *Spec) ResolveModule(id string) string {
	if id == "" {
		return s.DefaultModule
	}
	return id
}

// ObjectsIn returns the standard objects of a module (the default module when id is empty).
func (s *Spec) ObjectsIn(id string) []*Object {
	id = s.ResolveModule(id)
	var out []*Object
	for i := range s.Objects {
		if s.ResolveModule(s.Objects[i].Module) == id {
			out = append(out, &s.Objects[i])
		}
	}
	return out
}

// Object looks an object up in a module by name, ignoring case.
func (s *Spec) Object(module, name string) (*Object, bool) {
	module = s.ResolveModule(module)
	for i := range s.Objects {
		o := &s.Objects[i]
		if strings.EqualFold(o.Name, name) && s.ResolveModule(o.Module) == module {
			return o, true
		}
	}
	return nil, false
}

// Field looks a field up by name, ignoring case.
func (o *Object) Field(name string) (*Field, bool) {
	for i := range o.Fields {
		if strings.EqualFold(o.Fields[i].Name, name) {
			return &o.Fields[i], true
		}
	}
	return nil, false
}
