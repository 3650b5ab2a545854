package hubspot

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/ampforge/amp/providers"
)

// Metadata comes from the properties API (GET /crm/v3/properties/{type})
// and, for custom objects, the schemas API (GET /crm/v3/schemas).

type hsProperty struct {
	Name                 string `json:"name"`
	Label                string `json:"label"`
	Type                 string `json:"type"`
	FieldType            string `json:"fieldType"`
	HubspotDefined       bool   `json:"hubspotDefined"`
	ReferencedObjectType string `json:"referencedObjectType"`
	Calculated           bool   `json:"calculated"`
	Options              []struct {
		Label  string `json:"label"`
		Value  string `json:"value"`
		Hidden bool   `json:"hidden"`
	} `json:"options"`
	ModificationMetadata struct {
		ReadOnlyValue bool `json:"readOnlyValue"`
	} `json:"modificationMetadata"`
}

type hsSchema struct {
	ObjectTypeID       string `json:"objectTypeId"`
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	MetaType           string `json:"metaType"`
	Labels             struct {
		Singular string `json:"singular"`
		Plural   string `json:"plural"`
	} `json:"labels"`
	RequiredProperties []string `json:"requiredProperties"`
}

// ListObjects returns the catalog's standard objects and the portal's
// custom objects (Custom set). Without the crm.schemas.custom.read scope
// (403 MISSING_SCOPES) it returns the standard objects alone.
func (c *Client) ListObjects(ctx context.Context) ([]providers.ObjectInfo, error) {
	var out []providers.ObjectInfo
	for _, o := range spec.ObjectsIn(moduleCRM) {
		out = append(out, providers.ObjectInfo{Name: o.Name, DisplayName: o.DisplayName})
	}
	schemas, err := c.schemas(ctx)
	if err != nil {
		if providers.KindOf(err) == providers.KindForbidden {
			return out, nil
		}
		return nil, err
	}
	for _, s := range schemas {
		out = append(out, providers.ObjectInfo{Name: s.FullyQualifiedName, DisplayName: s.Labels.Plural, Custom: true})
	}
	return out, nil
}

func (c *Client) schemas(ctx context.Context) ([]hsSchema, error) {
	u := c.base + "/crm/v3/schemas"
	_, body, err := c.do(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Results []hsSchema `json:"results"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, malformed(u, err)
	}
	return resp.Results, nil
}

// DescribeObject returns an object's properties. Objects the catalog does
// not list are custom objects, looked up in the schemas API (an unknown
// name is KindNotFound: HubSpot answers "Unable to infer object type").
func (c *Client) DescribeObject(ctx context.Context, object string) (*providers.ObjectMetadata, error) {
	meta := &providers.ObjectMetadata{Name: object}
	var required []string
	std, isStd := spec.Object(moduleCRM, object)
	if isStd {
		meta.DisplayName = std.DisplayName
	} else {
		u := c.base + "/crm/v3/schemas/" + url.PathEscape(object)
		_, body, err := c.do(ctx, "GET", u, nil)
		if err != nil {
			return nil, err
		}
		var s hsSchema
		if err := json.Unmarshal(body, &s); err != nil {
			return nil, malformed(u, err)
		}
		meta.DisplayName, meta.Custom = s.Labels.Plural, s.MetaType != "HUBSPOT"
		required = s.RequiredProperties
	}
	u := c.base + "/crm/v3/properties/" + url.PathEscape(object)
	_, body, err := c.do(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Results []hsProperty `json:"results"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, malformed(u, err)
	}
	for _, p := range resp.Results {
		f := providers.FieldMetadata{
			Name: p.Name, DisplayName: p.Label, ValueType: valueType(p), ProviderType: p.Type,
			ReadOnly: p.ModificationMetadata.ReadOnlyValue, Custom: !p.HubspotDefined,
			Required: slices.Contains(required, p.Name),
		}
		if p.FieldType != "" {
			f.ProviderType = p.Type + "/" + p.FieldType
		}
		if isStd {
			if cf, ok := std.Field(p.Name); ok && cf.Type != "" {
				f.ValueType = cf.Type // the catalog knows int from float
			}
		}
		if p.ReferencedObjectType != "" {
			f.ReferenceTo = []string{referenceObject(p.ReferencedObjectType)}
			f.ValueType = tRef
		}
		for _, o := range p.Options {
			if !o.Hidden {
				f.Values = append(f.Values, providers.FieldValue{Value: o.Value, DisplayValue: o.Label})
			}
		}
		meta.Fields = append(meta.Fields, f)
	}
	return meta, nil
}

// valueType normalises a HubSpot property type (see the catalog comment).
func valueType(p hsProperty) string {
	switch p.Type {
	case "string", "phone_number":
		return tString
	case "number":
		return tFloat
	case "date":
		return tDate
	case "datetime":
		return tDateTime
	case "bool":
		return tBool
	case "enumeration":
		switch p.FieldType {
		case "booleancheckbox":
			return tBool
		case "checkbox":
			return tMulti
		}
		return tSelect
	}
	return tOther
}

func referenceObject(t string) string {
	switch strings.ToUpper(t) {
	case "COMPANY":
		return "companies"
	case "CONTACT":
		return "contacts"
	case "DEAL":
		return "deals"
	case "TICKET":
		return "tickets"
	case "OWNER":
		return "owners"
	}
	return strings.ToLower(t)
}
