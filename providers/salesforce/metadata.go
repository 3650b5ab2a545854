package salesforce

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/ampforge/amp/providers"
)

// describeGlobal is the answer of GET /sobjects/.
type describeGlobal struct {
	Encoding     string `json:"encoding"`
	MaxBatchSize int    `json:"maxBatchSize"`
	SObjects     []struct {
		Name        string `json:"name"`
		Label       string `json:"label"`
		LabelPlural string `json:"labelPlural"`
		Custom      bool   `json:"custom"`
		Queryable   bool   `json:"queryable"`
	} `json:"sobjects"`
}

// sobjectDescribe is the part of GET /sobjects/{SObject}/describe amp uses.
type sobjectDescribe struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Custom bool   `json:"custom"`
	Fields []struct {
		Name              string   `json:"name"`
		Label             string   `json:"label"`
		Type              string   `json:"type"`
		Custom            bool     `json:"custom"`
		Nillable          bool     `json:"nillable"`
		Createable        bool     `json:"createable"`
		Updateable        bool     `json:"updateable"`
		DefaultedOnCreate bool     `json:"defaultedOnCreate"`
		Calculated        bool     `json:"calculated"`
		ReferenceTo       []string `json:"referenceTo"`
		PicklistValues    []struct {
			Active bool   `json:"active"`
			Label  string `json:"label"`
			Value  string `json:"value"`
		} `json:"picklistValues"`
	} `json:"fields"`
}

// ListObjects lists the org's sObjects (describeGlobal), named in lower
// case as manifests spell them; custom objects end in __c and are flagged.
func (c *Client) ListObjects(ctx context.Context) ([]providers.ObjectInfo, error) {
	var g describeGlobal
	if err := c.doJSON(ctx, http.MethodGet, c.data+"/sobjects/", nil, &g, "describeGlobal"); err != nil {
		return nil, err
	}
	out := make([]providers.ObjectInfo, 0, len(g.SObjects))
	for _, o := range g.SObjects {
		out = append(out, providers.ObjectInfo{Name: strings.ToLower(o.Name), DisplayName: o.Label, Custom: o.Custom})
	}
	return out, nil
}

// DescribeObject describes one sObject's fields. An unknown object is
// KindNotFound (Salesforce answers 404 NOT_FOUND).
func (c *Client) DescribeObject(ctx context.Context, object string) (*providers.ObjectMetadata, error) {
	var d sobjectDescribe
	if err := c.doJSON(ctx, http.MethodGet, c.data+"/sobjects/"+url.PathEscape(APIObjectName(object))+"/describe", nil, &d, "describe "+object); err != nil {
		return nil, err
	}
	return d.metadata(), nil
}

func (d *sobjectDescribe) metadata() *providers.ObjectMetadata {
	m := &providers.ObjectMetadata{Name: strings.ToLower(d.Name), DisplayName: d.Label, Custom: d.Custom,
		Fields: make([]providers.FieldMetadata, 0, len(d.Fields))}
	for _, f := range d.Fields {
		fm := providers.FieldMetadata{
			Name: strings.ToLower(f.Name), DisplayName: f.Label,
			ValueType: valueType(f.Type), ProviderType: f.Type,
			ReadOnly: !f.Createable && !f.Updateable, Custom: f.Custom,
			Required:    !f.Nillable && f.Createable && !f.DefaultedOnCreate && f.Type != "boolean",
			ReferenceTo: f.ReferenceTo,
		}
		for _, p := range f.PicklistValues {
			if p.Active {
				fm.Values = append(fm.Values, providers.FieldValue{Value: p.Value, DisplayValue: p.Label})
			}
		}
		m.Fields = append(m.Fields, fm)
	}
	return m
}

// valueType normalises a describe field type (see the catalog's table).
func valueType(t string) string {
	switch t {
	case "id", "string", "textarea", "email", "phone", "url", "encryptedstring", "time":
		return tString
	case "picklist", "combobox":
		return tSelect
	case "multipicklist":
		return tMulti
	case "boolean":
		return tBool
	case "int", "long":
		return tInt
	case "double", "currency", "percent":
		return tFloat
	case "date":
		return tDate
	case "datetime":
		return tDateTime
	case "reference":
		return tRef
	}
	return tOther
}
