package manifest

import "strings"

// Manifest is a whole amp.yaml. Field names follow the file; the yaml tags
// are the keys. Optional scalars that change meaning when absent are
// pointers.
type Manifest struct {
	SpecVersion  string         `yaml:"specVersion" json:"specVersion"`
	Integrations []*Integration `yaml:"integrations" json:"integrations"`
}

// Integration is one integration: a provider and what the product does with it.
type Integration struct {
	Name        string       `yaml:"name" json:"name"`
	DisplayName string       `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	Provider    string       `yaml:"provider" json:"provider"`
	Module      string       `yaml:"module,omitempty" json:"module,omitempty"`
	Read        *Read        `yaml:"read,omitempty" json:"read,omitempty"`
	Write       *Write       `yaml:"write,omitempty" json:"write,omitempty"`
	Proxy       *Proxy       `yaml:"proxy,omitempty" json:"proxy,omitempty"`
	Subscribe   *Subscribe   `yaml:"subscribe,omitempty" json:"subscribe,omitempty"`
	WatchSchema *WatchSchema `yaml:"watchSchema,omitempty" json:"watchSchema,omitempty"`
}

// Read lists the objects an integration reads.
type Read struct {
	Objects []*ReadObject `yaml:"objects" json:"objects"`
}

// Write lists the objects an integration writes.
type Write struct {
	Objects []*WriteObject `yaml:"objects" json:"objects"`
}

// Proxy enables passing the builder's own API calls through the customer's connection.
type Proxy struct {
	Enabled   bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	UseModule bool `yaml:"useModule,omitempty" json:"useModule,omitempty"`
}

// Subscribe lists the objects an integration receives real-time events for.
type Subscribe struct {
	Objects []*SubscribeObject `yaml:"objects" json:"objects"`
}

// Deletes says what scheduled and backfill reads do with deleted records.
type Deletes string

// The values of read.objects[].deletes (an amp extension).
const (
	// DeletesTombstone delivers deleted records with deleted: true. It is the default.
	DeletesTombstone Deletes = "tombstone"
	// DeletesIgnore leaves deleted records out.
	DeletesIgnore Deletes = "ignore"
)

// ReadObject is one object an integration reads.
type ReadObject struct {
	ObjectName         string    `yaml:"objectName" json:"objectName"`
	Destination        string    `yaml:"destination" json:"destination"`
	Schedule           string    `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	MapToName          string    `yaml:"mapToName,omitempty" json:"mapToName,omitempty"`
	MapToDisplayName   string    `yaml:"mapToDisplayName,omitempty" json:"mapToDisplayName,omitempty"`
	RequiredFields     []*Field  `yaml:"requiredFields,omitempty" json:"requiredFields,omitempty"`
	OptionalFields     []*Field  `yaml:"optionalFields,omitempty" json:"optionalFields,omitempty"`
	OptionalFieldsAuto string    `yaml:"optionalFieldsAuto,omitempty" json:"optionalFieldsAuto,omitempty"`
	Backfill           *Backfill `yaml:"backfill,omitempty" json:"backfill,omitempty"`
	Delivery           *Delivery `yaml:"delivery,omitempty" json:"delivery,omitempty"`
	Enabled            string    `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	Deletes            Deletes   `yaml:"deletes,omitempty" json:"deletes,omitempty"`
}

// DeliveredName is the object's name in delivered records.
func (o *ReadObject) DeliveredName() string {
	if o.MapToName != "" {
		return o.MapToName
	}
	return o.ObjectName
}

// DeletesMode returns the effective deletes setting (tombstone when absent).
func (o *ReadObject) DeletesMode() Deletes {
	if o.Deletes == "" {
		return DeletesTombstone
	}
	return o.Deletes
}

// Field is a field entry. It is existent when FieldName is set (read that
// provider field, optionally delivered under MapToName) and customer-mapped
// otherwise (the customer's admin picks which field feeds MapToName).
type Field struct {
	FieldName        string `yaml:"fieldName,omitempty" json:"fieldName,omitempty"`
	MapToName        string `yaml:"mapToName,omitempty" json:"mapToName,omitempty"`
	MapToDisplayName string `yaml:"mapToDisplayName,omitempty" json:"mapToDisplayName,omitempty"`
	Prompt           string `yaml:"prompt,omitempty" json:"prompt,omitempty"`
	Default          string `yaml:"default,omitempty" json:"default,omitempty"`
}

// CustomerMapped reports whether the customer chooses the provider field.
func (f *Field) CustomerMapped() bool { return f.FieldName == "" }

// DeliveredName is the field's key in delivered records.
func (f *Field) DeliveredName() string {
	if f.MapToName != "" {
		return f.MapToName
	}
	return f.FieldName
}

// Backfill says how much history the first read of an installation fetches.
type Backfill struct {
	DefaultPeriod *Period `yaml:"defaultPeriod" json:"defaultPeriod"`
}

// Period is a backfill period: Days of history, or the full history.
type Period struct {
	Days        *int `yaml:"days,omitempty" json:"days,omitempty"`
	FullHistory bool `yaml:"fullHistory,omitempty" json:"fullHistory,omitempty"`
}

// Delivery is the deprecated per-object delivery block.
type Delivery struct {
	Mode     string `yaml:"mode,omitempty" json:"mode,omitempty"`
	PageSize int    `yaml:"pageSize,omitempty" json:"pageSize,omitempty"`
}

// WriteObject is one object an integration writes.
type WriteObject struct {
	ObjectName     string         `yaml:"objectName" json:"objectName"`
	InheritMapping bool           `yaml:"inheritMapping,omitempty" json:"inheritMapping,omitempty"`
	ValueDefaults  *ValueDefaults `yaml:"valueDefaults,omitempty" json:"valueDefaults,omitempty"`
	UpsertKey      string         `yaml:"upsertKey,omitempty" json:"upsertKey,omitempty"`
}

// ValueDefaults configures default values installations may set for writes.
type ValueDefaults struct {
	AllowAnyFields bool `yaml:"allowAnyFields,omitempty" json:"allowAnyFields,omitempty"`
}

// SubscribeObject is one object an integration receives events for.
type SubscribeObject struct {
	ObjectName              string       `yaml:"objectName" json:"objectName"`
	Destination             string       `yaml:"destination" json:"destination"`
	InheritFieldsAndMapping bool         `yaml:"inheritFieldsAndMapping,omitempty" json:"inheritFieldsAndMapping,omitempty"`
	CreateEvent             *Event       `yaml:"createEvent,omitempty" json:"createEvent,omitempty"`
	UpdateEvent             *UpdateEvent `yaml:"updateEvent,omitempty" json:"updateEvent,omitempty"`
	DeleteEvent             *Event       `yaml:"deleteEvent,omitempty" json:"deleteEvent,omitempty"`
	AssociationChangeEvent  *AssocEvent  `yaml:"associationChangeEvent,omitempty" json:"associationChangeEvent,omitempty"`
	OtherEvents             []string     `yaml:"otherEvents,omitempty" json:"otherEvents,omitempty"`
}

// EventsEnabled reports whether any event of the object is switched on.
func (s *SubscribeObject) EventsEnabled() bool {
	return (s.CreateEvent != nil && s.CreateEvent.Enabled != "") ||
		(s.UpdateEvent != nil && s.UpdateEvent.Enabled != "") ||
		(s.DeleteEvent != nil && s.DeleteEvent.Enabled != "") ||
		(s.AssociationChangeEvent != nil && s.AssociationChangeEvent.Enabled != "") ||
		len(s.OtherEvents) > 0
}

// Event switches one kind of event on.
type Event struct {
	Enabled string `yaml:"enabled,omitempty" json:"enabled,omitempty"`
}

// UpdateEvent switches update events on and says which fields to watch.
type UpdateEvent struct {
	Enabled             string   `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	WatchFieldsAuto     string   `yaml:"watchFieldsAuto,omitempty" json:"watchFieldsAuto,omitempty"`
	RequiredWatchFields []string `yaml:"requiredWatchFields,omitempty" json:"requiredWatchFields,omitempty"`
}

// AssocEvent switches association-change events on.
type AssocEvent struct {
	Enabled            string `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	IncludeFullRecords bool   `yaml:"includeFullRecords,omitempty" json:"includeFullRecords,omitempty"`
}

// WatchSchema asks the runtime to report schema changes in customers' CRMs.
type WatchSchema struct {
	Destination string           `yaml:"destination" json:"destination"`
	Schedule    string           `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	AllObjects  *WatchAllObjects `yaml:"allObjects" json:"allObjects"`
}

// WatchAllObjects switches each kind of schema-change event on.
type WatchAllObjects struct {
	FieldCreated *Event `yaml:"fieldCreated,omitempty" json:"fieldCreated,omitempty"`
	FieldDeleted *Event `yaml:"fieldDeleted,omitempty" json:"fieldDeleted,omitempty"`
	FieldChanged *Event `yaml:"fieldChanged,omitempty" json:"fieldChanged,omitempty"`
}

// Integration returns the integration with the given name.
func (m *Manifest) Integration(name string) *Integration {
	for _, in := range m.Integrations {
		if in != nil && in.Name == name {
			return in
		}
	}
	return nil
}

// ReadObject returns the read entry for an object name.
func (in *Integration) ReadObject(name string) *ReadObject {
	if in.Read == nil {
		return nil
	}
	for _, o := range in.Read.Objects {
		// Object names are case-insensitive everywhere amp compares them,
		// as they are in the providers' APIs.
		if o != nil && strings.EqualFold(o.ObjectName, name) {
			return o
		}
	}
	return nil
}
