package dynamics

import (
	"context"
	"strconv"
	"strings"

	"github.com/ampforge/amp/providers"
)

// Metadata. Manifests name tables by EntitySetName (accounts); metadata is
// keyed by LogicalName (account). ListObjects learns the mapping for every
// table; DescribeObject looks one table up by EntitySetName when it is not
// known yet. Both cache it for the client's lifetime.

type localizedLabel struct {
	Label string `json:"Label"`
}

type label struct {
	LocalizedLabels    []localizedLabel `json:"LocalizedLabels"`
	UserLocalizedLabel *localizedLabel  `json:"UserLocalizedLabel"`
}

// text is the user's label, else the first localised one.
func (l *label) text() string {
	if l == nil {
		return ""
	}
	if l.UserLocalizedLabel != nil && l.UserLocalizedLabel.Label != "" {
		return l.UserLocalizedLabel.Label
	}
	for _, ll := range l.LocalizedLabels {
		if ll.Label != "" {
			return ll.Label
		}
	}
	return ""
}

type entityDefinition struct {
	LogicalName           string `json:"LogicalName"`
	EntitySetName         string `json:"EntitySetName"`
	PrimaryIDAttribute    string `json:"PrimaryIdAttribute"`
	IsCustomEntity        bool   `json:"IsCustomEntity"`
	DisplayCollectionName *label `json:"DisplayCollectionName"`
}

func (d entityDefinition) info() entityInfo {
	return entityInfo{logical: d.LogicalName, set: d.EntitySetName, primaryID: d.PrimaryIDAttribute, custom: d.IsCustomEntity, display: d.DisplayCollectionName.text()}
}

const entitySelect = "LogicalName,EntitySetName,PrimaryIdAttribute,IsCustomEntity,DisplayCollectionName"

// ListObjects lists the tables that have an entity set (intersect tables
// without one cannot be queried).
func (c *Client) ListObjects(ctx context.Context) ([]providers.ObjectInfo, error) {
	var body struct {
		Value []entityDefinition `json:"value"`
	}
	if err := c.getJSON(ctx, "EntityDefinitions?$select="+entitySelect, nil, &body); err != nil {
		return nil, err
	}
	out := make([]providers.ObjectInfo, 0, len(body.Value))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range body.Value {
		if d.EntitySetName == "" {
			continue
		}
		info := d.info()
		c.entities[d.EntitySetName] = info
		out = append(out, providers.ObjectInfo{Name: d.EntitySetName, DisplayName: info.display, Custom: d.IsCustomEntity})
	}
	return out, nil
}

// entity resolves an entity set name to its table.
func (c *Client) entity(ctx context.Context, set string) (entityInfo, error) {
	c.mu.Lock()
	info, ok := c.entities[set]
	c.mu.Unlock()
	if ok {
		return info, nil
	}
	var body struct {
		Value []entityDefinition `json:"value"`
	}
	u := "EntityDefinitions?$select=" + entitySelect + "&$filter=" + queryEscape("EntitySetName eq "+odataQuote(set))
	if err := c.getJSON(ctx, u, nil, &body); err != nil {
		return entityInfo{}, err
	}
	if len(body.Value) == 0 {
		return entityInfo{}, &providers.Error{Kind: providers.KindNotFound, Provider: Name, Code: codeNotFound, Message: "no table with entity set name " + strconv.Quote(set)}
	}
	info = body.Value[0].info()
	c.mu.Lock()
	c.entities[set] = info
	c.mu.Unlock()
	return info, nil
}

type attributeDefinition struct {
	ODataType         string `json:"@odata.type"`
	LogicalName       string `json:"LogicalName"`
	AttributeType     string `json:"AttributeType"`
	AttributeTypeName *struct {
		Value string `json:"Value"`
	} `json:"AttributeTypeName"`
	Format            string   `json:"Format"`
	Targets           []string `json:"Targets"`
	IsValidForCreate  *bool    `json:"IsValidForCreate"`
	IsValidForUpdate  *bool    `json:"IsValidForUpdate"`
	IsCustomAttribute bool     `json:"IsCustomAttribute"`
	RequiredLevel     *struct {
		Value string `json:"Value"`
	} `json:"RequiredLevel"`
	DisplayName *label `json:"DisplayName"`
}

// typeName is the attribute's type without the "Type" suffix (String,
// Picklist...).
func (a *attributeDefinition) typeName() string {
	if a.AttributeTypeName != nil && a.AttributeTypeName.Value != "" {
		return strings.TrimSuffix(a.AttributeTypeName.Value, "Type")
	}
	return a.AttributeType
}

// valueType normalises a Dataverse attribute type (see catalog.go).
func valueType(typ, format string) string {
	switch typ {
	case "String", "Memo", "Uniqueidentifier":
		return tString
	case "Integer", "BigInt":
		return tInt
	case "Decimal", "Double", "Money":
		return tFloat
	case "Boolean":
		return tBool
	case "DateTime":
		if format == "DateOnly" {
			return tDate
		}
		return tDateTime
	case "Lookup", "Customer", "Owner":
		return tRef
	case "Picklist", "State", "Status":
		return tSelect
	case "MultiSelectPicklist":
		return tMulti
	}
	return tOther
}

type optionSets struct {
	Value []struct {
		LogicalName string `json:"LogicalName"`
		OptionSet   *struct {
			Options []struct {
				Value int    `json:"Value"`
				Label *label `json:"Label"`
			} `json:"Options"`
		} `json:"OptionSet"`
	} `json:"value"`
}

// optionCasts are the typed attribute metadata classes whose option sets
// DescribeObject reads.
var optionCasts = []string{"PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata"}

// DescribeObject describes a table by entity set name: its display name,
// whether it is custom, and every attribute with its option set.
func (c *Client) DescribeObject(ctx context.Context, object string) (*providers.ObjectMetadata, error) {
	info, err := c.entity(ctx, strings.ToLower(object))
	if err != nil {
		return nil, err
	}
	ent := "EntityDefinitions(LogicalName=" + odataQuote(info.logical) + ")"
	var def struct {
		IsCustomEntity        *bool  `json:"IsCustomEntity"`
		DisplayCollectionName *label `json:"DisplayCollectionName"`
	}
	if err := c.getJSON(ctx, ent+"?$select=DisplayCollectionName,IsCustomEntity", nil, &def); err != nil {
		return nil, err
	}
	meta := &providers.ObjectMetadata{Name: info.set, DisplayName: def.DisplayCollectionName.text(), Custom: info.custom}
	if def.IsCustomEntity != nil {
		meta.Custom = *def.IsCustomEntity
	}
	var attrs struct {
		Value []attributeDefinition `json:"value"`
	}
	if err := c.getJSON(ctx, ent+"/Attributes?$select=LogicalName,SchemaName,AttributeType,AttributeTypeName,RequiredLevel,IsValidForCreate,IsValidForUpdate,DisplayName,Targets,IsCustomAttribute,Format", nil, &attrs); err != nil {
		return nil, err
	}
	values := map[string][]providers.FieldValue{}
	for _, cast := range optionCasts {
		var sets optionSets
		u := ent + "/Attributes/Microsoft.Dynamics.CRM." + cast + "?$select=LogicalName&$expand=" + queryEscape("OptionSet($select=Options)")
		if err := c.getJSON(ctx, u, nil, &sets); err != nil {
			return nil, err
		}
		for _, a := range sets.Value {
			if a.OptionSet == nil {
				continue
			}
			for _, o := range a.OptionSet.Options {
				values[a.LogicalName] = append(values[a.LogicalName], providers.FieldValue{Value: strconv.Itoa(o.Value), DisplayValue: o.Label.text()})
			}
		}
	}
	meta.Fields = make([]providers.FieldMetadata, 0, len(attrs.Value))
	for i := range attrs.Value {
		a := &attrs.Value[i]
		typ := a.typeName()
		create := a.IsValidForCreate != nil && *a.IsValidForCreate
		update := a.IsValidForUpdate != nil && *a.IsValidForUpdate
		f := providers.FieldMetadata{
			Name: a.LogicalName, DisplayName: a.DisplayName.text(), ValueType: valueType(typ, a.Format), ProviderType: typ,
			ReadOnly: !create && !update, Custom: a.IsCustomAttribute,
			ReferenceTo: a.Targets, Values: values[a.LogicalName],
		}
		if a.RequiredLevel != nil {
			f.Required = a.RequiredLevel.Value == "SystemRequired" || a.RequiredLevel.Value == "ApplicationRequired"
		}
		meta.Fields = append(meta.Fields, f)
	}
	return meta, nil
}
