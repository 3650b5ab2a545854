package fake

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

var (
	entityKey  = regexp.MustCompile(`^\(LogicalName='([^']*)'\)(.*)$`)
	entityFilt = regexp.MustCompile(`^\s*(EntitySetName|LogicalName)\s+eq\s+'([^']*)'\s*$`)
)

// label is Dataverse's Label complex type in one language.
func label(text, id string) map[string]any {
	if text == "" {
		return map[string]any{"LocalizedLabels": []any{}, "UserLocalizedLabel": nil}
	}
	l := map[string]any{"Label": text, "LanguageCode": 1033, "IsManaged": true, "MetadataId": id, "HasChanged": nil}
	return map[string]any{"LocalizedLabels": []any{l}, "UserLocalizedLabel": l}
}

func (t *table) definition() map[string]any {
	return map[string]any{
		"MetadataId": t.metadataID, "LogicalName": t.logical, "SchemaName": t.schema, "EntitySetName": t.set,
		"PrimaryIdAttribute": t.primaryID, "PrimaryNameAttribute": t.primaryName, "IsCustomEntity": t.custom,
		"ChangeTrackingEnabled": true, "ObjectTypeCode": 10000 + t.num, "IsActivity": false, "OwnershipType": "UserOwned",
		"DisplayName": label(t.display, t.metadataID), "DisplayCollectionName": label(t.displayPlural, t.metadataID),
	}
}

// project keeps the $select'ed properties (and MetadataId, which Dataverse
// always returns).
func project(m map[string]any, sel string) map[string]any {
	if sel == "" {
		return m
	}
	out := map[string]any{"MetadataId": m["MetadataId"]}
	for name := range strings.SplitSeq(sel, ",") {
		name = strings.TrimSpace(name)
		if v, ok := m[name]; ok {
			out[name] = v
		}
	}
	return out
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "0x80060888", "The fake serves metadata read-only.")
		return
	}
	q := r.URL.Query()
	ctxBase := baseURL(r) + APIPath + "$metadata#EntityDefinitions"
	sel := q.Get("$select")
	if rest == "" {
		var only func(*table) bool
		if f := q.Get("$filter"); f != "" {
			m := entityFilt.FindStringSubmatch(f)
			if m == nil {
				writeError(w, http.StatusBadRequest, "0x80060888", "The fake filters EntityDefinitions only by EntitySetName or LogicalName eq '<name>'.")
				return
			}
			only = func(t *table) bool {
				if m[1] == "EntitySetName" {
					return t.set == m[2]
				}
				return t.logical == m[2]
			}
		}
		var value []any
		for _, t := range s.order {
			if only == nil || only(t) {
				value = append(value, project(t.definition(), sel))
			}
		}
		if value == nil {
			value = []any{}
		}
		ctx := ctxBase
		if sel != "" {
			ctx += "(" + sel + ")"
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctx, "value": value})
		return
	}
	m := entityKey.FindStringSubmatch(rest)
	if m == nil {
		writeError(w, http.StatusBadRequest, "0x80060888", "The fake does not serve EntityDefinitions"+rest+".")
		return
	}
	t := s.byLog[m[1]]
	if t == nil {
		writeError(w, http.StatusNotFound, "0x80040217", fmt.Sprintf("Could not find entity with name %s.", m[1]))
		return
	}
	ctxEntity := fmt.Sprintf("%s('%s')", ctxBase, t.logical)
	switch sub := m[2]; {
	case sub == "":
		ctx := ctxBase
		if sel != "" {
			ctx += "(" + sel + ")"
		}
		body := project(t.definition(), sel)
		body["@odata.context"] = ctx + "/$entity"
		writeJSON(w, http.StatusOK, body)
	case sub == "/Attributes":
		value := make([]any, 0, len(t.columns))
		for i := range t.columns {
			value = append(value, t.attribute(&t.columns[i]))
		}
		ctx := ctxEntity + "/Attributes"
		if sel != "" {
			ctx += "(" + sel + ")"
		}
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": ctx, "value": value})
	case strings.HasPrefix(sub, "/Attributes/Microsoft.Dynamics.CRM."):
		cast := strings.TrimPrefix(sub, "/Attributes/Microsoft.Dynamics.CRM.")
		typ := strings.TrimSuffix(cast, "AttributeMetadata")
		switch typ {
		case "Picklist", "State", "Status", "MultiSelectPicklist", "Boolean", "String", "Lookup", "DateTime", "Integer", "Money", "Memo":
		default:
			writeError(w, http.StatusBadRequest, "0x80060888", "Resource not found for the segment '"+cast+"'.")
			return
		}
		value := []any{}
		for i := range t.columns {
			c := &t.columns[i]
			if c.attrType != typ {
				continue
			}
			item := map[string]any{"LogicalName": c.name, "MetadataId": attrID(t, i)}
			if len(c.options) > 0 {
				item["OptionSet"] = map[string]any{"MetadataId": t.optionSetID, "Options": optionList(c, t, i)}
			}
			value = append(value, item)
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.context": fmt.Sprintf("%s/Attributes/Microsoft.Dynamics.CRM.%s(LogicalName,OptionSet(Options))", ctxEntity, cast),
			"value":          value,
		})
	default:
		writeError(w, http.StatusBadRequest, "0x80060888", "The fake does not serve EntityDefinitions"+rest+".")
	}
}

func attrID(t *table, i int) string {
	return fmt.Sprintf("%08x-%04x-4000-8000-%012x", guidSalt, 0x100+t.num, i)
}

// attribute is one item of EntityDefinitions(...)/Attributes, with the
// keys the recordings show plus AttributeType, RequiredLevel and
// IsCustomAttribute.
func (t *table) attribute(c *column) map[string]any {
	i := 0
	for j := range t.columns {
		if &t.columns[j] == c {
			i = j
		}
	}
	var targets any
	if len(c.targets) > 0 {
		targets = c.targets
	}
	return map[string]any{
		"@odata.type": c.odataType(), "MetadataId": attrID(t, i),
		"LogicalName": c.name, "SchemaName": c.schema, "Targets": targets,
		"IsValidForCreate": c.create, "IsValidForUpdate": c.update, "IsValidForRead": c.attrType != "Virtual",
		"AttributeType": c.attrType, "AttributeTypeName": map[string]any{"Value": c.attrType + "Type"},
		"DisplayName": label(c.display, attrID(t, i)), "Format": c.format,
		"IsCustomAttribute": c.custom || t.custom,
		"RequiredLevel":     map[string]any{"Value": c.required, "CanBeChanged": c.required != "SystemRequired", "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
		"IsPrimaryId":       c.name == t.primaryID, "IsPrimaryName": c.name == t.primaryName,
	}
}

func optionList(c *column, t *table, i int) []any {
	out := make([]any, 0, len(c.options))
	for k, o := range c.options {
		item := map[string]any{
			"Value": o.value, "Color": nil, "IsManaged": true, "ExternalValue": nil, "ParentValues": []any{}, "Tag": nil,
			"IsHidden": false, "MetadataId": nil, "HasChanged": nil,
			"Label":       label(o.label, fmt.Sprintf("%08x-%04x-%04x-8000-%012x", guidSalt, 0x200+t.num, k, i)),
			"Description": label("", ""),
		}
		switch c.attrType {
		case "State":
			item["@odata.type"] = "#Microsoft.Dynamics.CRM.StateOptionMetadata"
			item["DefaultStatus"] = o.defaultStatus
			item["InvariantName"] = o.label
		case "Status":
			item["@odata.type"] = "#Microsoft.Dynamics.CRM.StatusOptionMetadata"
			item["State"] = o.state
			item["TransitionData"] = nil
		}
		out = append(out, item)
	}
	return out
}
