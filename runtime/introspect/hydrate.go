package introspect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
)

// HydratedRevision is Ampersand's HydratedRevision: a revision whose
// content (the manifest's integration) carries one customer's schema.
type HydratedRevision struct {
	ID          string         `json:"id"`
	SpecVersion string         `json:"specVersion"`
	CreateTime  time.Time      `json:"createTime"`
	Content     map[string]any `json:"content"`
}

// FieldMetadata is Ampersand's FieldMetadata (allFieldsMetadata values and
// the fields of object metadata).
type FieldMetadata struct {
	FieldName    string       `json:"fieldName"`
	DisplayName  string       `json:"displayName"`
	ValueType    string       `json:"valueType,omitempty"`
	ProviderType string       `json:"providerType,omitempty"`
	ReadOnly     bool         `json:"readOnly"`
	IsCustom     bool         `json:"isCustom"`
	IsRequired   bool         `json:"isRequired"`
	ReferenceTo  []string     `json:"referenceTo,omitempty"`
	Values       []FieldValue `json:"values,omitempty"`
}

// FieldValue is one choice of a picklist.
type FieldValue struct {
	Value        string `json:"value"`
	DisplayValue string `json:"displayValue"`
}

// ToFieldMetadata converts a connector's field description.
func ToFieldMetadata(f providers.FieldMetadata) FieldMetadata {
	out := FieldMetadata{FieldName: f.Name, DisplayName: f.DisplayName, ValueType: f.ValueType,
		ProviderType: f.ProviderType, ReadOnly: f.ReadOnly, IsCustom: f.Custom, IsRequired: f.Required,
		ReferenceTo: f.ReferenceTo}
	if out.DisplayName == "" {
		out.DisplayName = f.Name
	}
	for _, v := range f.Values {
		out.Values = append(out.Values, FieldValue{Value: v.Value, DisplayValue: v.DisplayValue})
	}
	return out
}

// decodeContent returns a revision's content (canonical JSON, or manifest
// YAML written by other tools) as a JSON object.
func decodeContent(content []byte) (map[string]any, error) {
	var out map[string]any
	if json.Valid(content) {
		dec := json.NewDecoder(bytes.NewReader(content))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return nil, err
		}
		return out, nil
	}
	f, _ := manifest.Parse("revision", content)
	if f == nil {
		return nil, errors.New("revision content is neither JSON nor YAML")
	}
	// Round-trip through JSON so every value has a JSON type.
	b, err := json.Marshal(f.Value)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil || out == nil {
		return nil, errors.New("revision content is not an object")
	}
	return out, nil
}

// Hydrate returns rev with each read object described in the connection's
// CRM: displayName, requiredFields and optionalFields with display names,
// optionalFieldsAuto "all" expanded into optionalFields (every field not
// already required or listed), allFields and allFieldsMetadata (custom
// fields included). An object the customer lacks, or may not describe, gets
// an error string instead of failing the whole revision; refused
// credentials fail it. Write objects get their display names.
func (s *Service) Hydrate(ctx context.Context, rev *runtime.Revision, conn *runtime.Connection) (*HydratedRevision, error) {
	content, err := decodeContent(rev.Content)
	if err != nil {
		return nil, runtime.Errorf(runtime.EINTERNAL, "revision %s: %v", rev.ID, err)
	}
	if p, _ := content["provider"].(string); p != "" && p != conn.Provider {
		return nil, runtime.Errorf(runtime.EINVALID, "connection %s is to %s, but the integration reads %s", conn.ID, conn.Provider, p)
	}
	described := map[string]*providers.ObjectMetadata{}
	if read, _ := content["read"].(map[string]any); read != nil {
		objs, _ := read["objects"].([]any)
		for _, o := range objs {
			obj, _ := o.(map[string]any)
			if obj == nil {
				continue
			}
			name, _ := obj["objectName"].(string)
			meta, err := s.DescribeObject(ctx, conn, name)
			if err != nil {
				if fatal(err) {
					return nil, err
				}
				obj["error"] = objectError(conn.Provider, name, err)
				if _, ok := obj["displayName"]; !ok {
					obj["displayName"] = name
				}
				continue
			}
			described[strings.ToLower(name)] = meta
			hydrateObject(obj, meta)
		}
	}
	if write, _ := content["write"].(map[string]any); write != nil {
		objs, _ := write["objects"].([]any)
		for _, o := range objs {
			obj, _ := o.(map[string]any)
			if obj == nil {
				continue
			}
			name, _ := obj["objectName"].(string)
			meta := described[strings.ToLower(name)]
			if meta == nil {
				meta, err = s.DescribeObject(ctx, conn, name)
				if err != nil && fatal(err) {
					return nil, err
				}
			}
			obj["displayName"] = name
			if meta != nil && meta.DisplayName != "" {
				obj["displayName"] = meta.DisplayName
			}
		}
	}
	return &HydratedRevision{ID: rev.ID, SpecVersion: rev.SpecVersion, CreateTime: rev.CreateTime, Content: content}, nil
}

// fatal reports whether a describe failure concerns the whole connection
// (credentials, cancellation, our own errors) rather than one object.
func fatal(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		return true
	}
	return pe.Kind == providers.KindAuth
}

// objectError is the error string of an object that could not be described.
func objectError(provider, object string, err error) string {
	var pe *providers.Error
	msg := err.Error()
	if errors.As(err, &pe) && pe.Message != "" {
		msg = pe.Message
	}
	if providers.KindOf(err) == providers.KindNotFound {
		return fmt.Sprintf("object %q does not exist in this %s account or is not visible to the connected user: %s", object, provider, msg)
	}
	return fmt.Sprintf("could not describe object %q: %s", object, msg)
}

// hydrateObject fills one read object from its description.
func hydrateObject(obj map[string]any, meta *providers.ObjectMetadata) {
	byName := make(map[string]providers.FieldMetadata, len(meta.Fields))
	all := make([]any, 0, len(meta.Fields))
	allMeta := make(map[string]FieldMetadata, len(meta.Fields))
	for _, f := range meta.Fields {
		byName[strings.ToLower(f.Name)] = f
		fm := ToFieldMetadata(f)
		allMeta[f.Name] = fm
		all = append(all, map[string]any{"fieldName": f.Name, "displayName": fm.DisplayName})
	}
	if meta.DisplayName != "" {
		obj["displayName"] = meta.DisplayName
	} else if _, ok := obj["displayName"]; !ok {
		obj["displayName"] = obj["objectName"]
	}
	listed := map[string]bool{}
	hydrateFields := func(key string) []any {
		fields, _ := obj[key].([]any)
		for _, f := range fields {
			field, _ := f.(map[string]any)
			name, _ := field["fieldName"].(string)
			if name == "" {
				continue // customer-mapped: the customer picks from allFields
			}
			listed[strings.ToLower(name)] = true
			if _, ok := field["displayName"]; ok {
				continue
			}
			field["displayName"] = name
			if fm, ok := byName[strings.ToLower(name)]; ok && fm.DisplayName != "" {
				field["displayName"] = fm.DisplayName
			}
		}
		return fields
	}
	hydrateFields("requiredFields")
	optional := hydrateFields("optionalFields")
	if auto, _ := obj["optionalFieldsAuto"].(string); auto == "all" {
		for _, f := range meta.Fields {
			if listed[strings.ToLower(f.Name)] {
				continue
			}
			listed[strings.ToLower(f.Name)] = true
			optional = append(optional, map[string]any{"fieldName": f.Name, "displayName": allMeta[f.Name].DisplayName})
		}
		obj["optionalFields"] = optional
	}
	obj["allFields"] = all
	obj["allFieldsMetadata"] = allMeta
}
