package runtime

import "encoding/json"

// ConfigContent is an installation's config content, field for field
// Ampersand's ConfigContent (config_config.yaml): which objects are read and
// how (selected fields, field and value mappings, schedule, backfill), which
// are written, and whether the proxy is on.
//
// Maps and slices use omitzero, not omitempty: an empty map the client sent
// ({}) comes back as {}, and only an absent one is left out.
type ConfigContent struct {
	// Provider is the integration's provider; required.
	Provider string       `json:"provider"`
	Read     *ReadConfig  `json:"read,omitzero"`
	Write    *WriteConfig `json:"write,omitzero"`
	// Subscribe is kept verbatim (compacted JSON): amp does not run
	// subscriptions yet.
	Subscribe json.RawMessage `json:"subscribe,omitzero"`
	Proxy     *ProxyConfig    `json:"proxy,omitzero"`
}

// Validate returns an EINVALID error when the content breaks a rule of
// config_config.yaml that the types alone do not enforce.
func (c *ConfigContent) Validate() error {
	if c.Provider == "" {
		return Errorf(EINVALID, "config content provider is required")
	}
	if c.Read != nil {
		for name, o := range c.Read.Objects {
			if o.ObjectName == "" {
				return Errorf(EINVALID, "config content read.objects.%s: objectName is required", name)
			}
			if o.SelectedFieldsAuto != "" && o.SelectedFieldsAuto != SelectedFieldsAll {
				return Errorf(EINVALID, "config content read.objects.%s: selectedFieldsAuto must be %q", name, SelectedFieldsAll)
			}
		}
	}
	if c.Write != nil {
		for name, o := range c.Write.Objects {
			if o.ObjectName == "" {
				return Errorf(EINVALID, "config content write.objects.%s: objectName is required", name)
			}
		}
	}
	if len(c.Subscribe) > 0 && !json.Valid(c.Subscribe) {
		return Errorf(EINVALID, "config content subscribe is not valid JSON")
	}
	return nil
}

// ReadConfig is the read half of ConfigContent.
type ReadConfig struct {
	// Objects maps an object name (the key a client uses in update masks
	// such as config.content.read.objects.<name>) to its config.
	Objects map[string]ReadConfigObject `json:"objects"`
}

// MarshalJSON encodes a nil Objects as {}: @amp-labs/react crashes on a
// present read whose objects is not a map.
func (r ReadConfig) MarshalJSON() ([]byte, error) {
	type plain ReadConfig
	if r.Objects == nil {
		r.Objects = map[string]ReadConfigObject{}
	}
	return json.Marshal(plain(r))
}

// SelectedFieldsAll is the only value of ReadConfigObject.SelectedFieldsAuto:
// read every field.
const SelectedFieldsAll = "all"

// ReadConfigObject is one read object's config.
type ReadConfigObject struct {
	ObjectName string `json:"objectName"`
	// Schedule is a cron expression.
	Schedule string `json:"schedule,omitzero"`
	// Disabled pauses scheduled reads and refuses on-demand reads.
	Disabled bool `json:"disabled,omitzero"`
	// Destination names the project's destination the records go to.
	Destination string `json:"destination,omitzero"`
	// SelectedFields maps a provider field name to whether it is read.
	SelectedFields map[string]bool `json:"selectedFields,omitzero"`
	// SelectedValueMappings maps a field name to its value mapping (the
	// value delivered -> the provider's value).
	SelectedValueMappings map[string]map[string]string `json:"selectedValueMappings,omitzero"`
	DynamicMappingsInput  []DynamicMappingsInputEntry  `json:"dynamicMappingsInput,omitzero"`
	// SelectedFieldMappings maps a mapTo name (the builder's field) to the
	// provider field the customer chose.
	SelectedFieldMappings map[string]string `json:"selectedFieldMappings,omitzero"`
	SelectedFieldsAuto    string            `json:"selectedFieldsAuto,omitzero"`
	Backfill              *BackfillConfig   `json:"backfill,omitzero"`
	FieldFilters          []ReadFilter      `json:"fieldFilters,omitzero"`
}

// DynamicMappingsInputEntry is one mapping the builder's UI offered.
type DynamicMappingsInputEntry struct {
	MapToName        string                            `json:"mapToName"`
	MapToDisplayName string                            `json:"mapToDisplayName,omitzero"`
	Prompt           string                            `json:"prompt,omitzero"`
	MappedValues     []DynamicMappingsInputMappedValue `json:"mappedValues,omitzero"`
	FieldName        string                            `json:"fieldName,omitzero"`
}

// DynamicMappingsInputMappedValue is one value a mapping offered.
type DynamicMappingsInputMappedValue struct {
	MappedValue        string `json:"mappedValue"`
	MappedDisplayValue string `json:"mappedDisplayValue"`
}

// BackfillConfig says how far back the first read goes.
type BackfillConfig struct {
	DefaultPeriod DefaultPeriodConfig `json:"defaultPeriod"`
	FieldFilters  []ReadFilter        `json:"fieldFilters,omitzero"`
}

// DefaultPeriodConfig is a backfill period: Days back, or the full history.
type DefaultPeriodConfig struct {
	// Days is nil when not set; 0 means no backfill.
	Days        *int `json:"days,omitzero"`
	FullHistory bool `json:"fullHistory,omitzero"`
}

// ReadFilter is one equality condition on reads.
type ReadFilter struct {
	FieldName string `json:"fieldName"`
	Operator  string `json:"operator"`
	// Value is a JSON string, boolean or number, kept as sent.
	Value json.RawMessage `json:"value,omitzero"`
}

// WriteConfig is the write half of ConfigContent.
type WriteConfig struct {
	Objects map[string]WriteConfigObject `json:"objects"`
}

// MarshalJSON encodes a nil Objects as {}, like ReadConfig.
func (w WriteConfig) MarshalJSON() ([]byte, error) {
	type plain WriteConfig
	if w.Objects == nil {
		w.Objects = map[string]WriteConfigObject{}
	}
	return json.Marshal(plain(w))
}

// WriteConfigObject is one write object's config.
type WriteConfigObject struct {
	ObjectName       string            `json:"objectName"`
	DeletionSettings *DeletionSettings `json:"deletionSettings,omitzero"`
	// SelectedValueDefaults is deprecated in Ampersand's API; kept verbatim.
	SelectedValueDefaults map[string]json.RawMessage `json:"selectedValueDefaults,omitzero"`
	SelectedFieldSettings map[string]FieldSetting    `json:"selectedFieldSettings,omitzero"`
}

// DeletionSettings says whether deletes are allowed on a write object.
type DeletionSettings struct {
	Enabled bool `json:"enabled"`
}

// FieldSetting is a write field's default and when it applies.
type FieldSetting struct {
	Default *FieldSettingDefault `json:"default,omitzero"`
	// WriteOnCreate is always (the default) or never.
	WriteOnCreate string `json:"writeOnCreate,omitzero"`
	// WriteOnUpdate is always (the default), never or ifEmpty.
	WriteOnUpdate string `json:"writeOnUpdate,omitzero"`
}

// FieldSettingDefault is a default value; one of its fields is set.
type FieldSettingDefault struct {
	StringValue  *string `json:"stringValue,omitzero"`
	IntegerValue *int64  `json:"integerValue,omitzero"`
	BooleanValue *bool   `json:"booleanValue,omitzero"`
}

// ProxyConfig turns the proxy on or off.
type ProxyConfig struct {
	Enabled bool `json:"enabled"`
}
