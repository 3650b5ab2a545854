package fake

import (
	"net/http"
	"strings"
)

func (s *Server) describeGlobal(w http.ResponseWriter, r *http.Request) {
	v := r.PathValue("v")
	list := make([]map[string]any, 0, len(s.order))
	for _, o := range s.order {
		list = append(list, map[string]any{
			"name": o.Name, "label": o.Label, "labelPlural": o.Plural, "custom": o.Custom, "keyPrefix": o.Prefix,
			"queryable": true, "createable": true, "updateable": true, "deletable": true, "replicateable": true,
			"retrieveable": true, "searchable": true, "triggerable": true, "customSetting": false,
			"deprecatedAndHidden": false, "feedEnabled": !o.Custom, "layoutable": true, "mergeable": !o.Custom,
			"activateable": false, "undeletable": true, "urls": urls(v, o),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list})
}

func urls(v string, o *objectDef) map[string]string {
	base := "/services/data/" + v + "/sobjects/" + o.Name
	return map[string]string{"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"}
}

// describe serves an sObject describe with Salesforce's key set.
func (s *Server) describe(w http.ResponseWriter, r *http.Request) {
	o := s.object(r.PathValue("obj"))
	if o == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	fields := make([]map[string]any, 0, len(o.Fields))
	for _, f := range o.Fields {
		fields = append(fields, describeField(f))
	}
	v := r.PathValue("v")
	writeJSON(w, http.StatusOK, map[string]any{
		"actionOverrides": []any{}, "activateable": false, "associateEntityType": nil, "associateParentEntity": nil,
		"childRelationships": []any{}, "compactLayoutable": true, "createable": true, "custom": o.Custom,
		"customSetting": false, "deepCloneable": false, "defaultImplementation": nil, "deletable": true,
		"deprecatedAndHidden": false, "extendedBy": nil, "extendsInterfaces": nil, "feedEnabled": !o.Custom,
		"fields": fields, "hasSubtypes": false, "implementedBy": nil, "implementsInterfaces": nil,
		"isInterface": false, "isSubtype": false, "keyPrefix": o.Prefix, "label": o.Label, "labelPlural": o.Plural,
		"layoutable": true, "listviewable": nil, "lookupLayoutable": nil, "mergeable": !o.Custom, "mruEnabled": !o.Custom,
		"name": o.Name, "namedLayoutInfos": []any{}, "networkScopeFieldName": nil, "queryable": true,
		"recordTypeInfos": []map[string]any{{
			"active": true, "available": true, "defaultRecordTypeMapping": true, "developerName": "Master",
			"master": true, "name": "Master", "recordTypeId": "012000000000000AAA",
			"urls": map[string]string{"layout": "/services/data/" + v + "/sobjects/" + o.Name + "/describe/layouts/012000000000000AAA"},
		}},
		"replicateable": true, "retrieveable": true, "searchLayoutable": true, "searchable": true,
		"sobjectDescribeOption": "FULL", "supportedScopes": []any{}, "triggerable": true, "undeletable": true,
		"updateable": true, "urls": urls(v, o),
	})
}

var soapTypes = map[string]string{
	"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "datetime": "xsd:dateTime", "date": "xsd:date",
	"int": "xsd:int", "currency": "xsd:double", "percent": "xsd:double", "double": "xsd:double", "address": "urn:address",
}

func describeField(f *fieldDef) map[string]any {
	soap := soapTypes[f.Type]
	if soap == "" {
		soap = "xsd:string"
	}
	picklist := make([]map[string]any, 0, len(f.Picklist))
	for i, p := range f.Picklist {
		picklist = append(picklist, map[string]any{"active": true, "defaultValue": i == 0 && f.DefaultedOnCreate, "label": p, "validFor": nil, "value": p})
	}
	refTo := f.ReferenceTo
	if refTo == nil {
		refTo = []string{}
	}
	var relName any
	if f.Type == "reference" && len(refTo) > 0 {
		relName = strings.TrimSuffix(strings.TrimSuffix(f.Name, "Id"), "__c")
		if strings.HasSuffix(f.Name, "__c") {
			relName = strings.TrimSuffix(f.Name, "__c") + "__r"
		}
	}
	length, byteLength, digits, precision, scale := 0, 0, 0, 0, 0
	switch f.Type {
	case "string", "textarea", "picklist", "email", "phone", "url", "id", "reference":
		length = f.Length
		byteLength = 3 * length
	case "int":
		digits = 9
	case "currency", "double", "percent":
		precision, scale = 18, 2
	}
	var compound, extra any
	if strings.HasPrefix(f.Name, "Billing") && f.Type != "address" {
		compound = "BillingAddress"
	}
	if f.CompoundFieldName != "" {
		compound = f.CompoundFieldName
	}
	if f.ExtraTypeInfo != "" {
		extra = f.ExtraTypeInfo
	}
	filterable := f.Type != "textarea" && f.Type != "address"
	return map[string]any{
		"aggregatable": filterable, "aiPredictionField": false, "autoNumber": false, "byteLength": byteLength,
		"calculated": f.Name == "Name" && !f.Createable, "calculatedFormula": nil, "cascadeDelete": false,
		"caseSensitive": false, "compoundFieldName": compound, "controllerName": nil, "createable": f.Createable,
		"custom": f.Custom, "defaultValue": nil, "defaultValueFormula": nil, "defaultedOnCreate": f.DefaultedOnCreate || f.Type == "boolean",
		"dependentPicklist": false, "deprecatedAndHidden": false, "digits": digits, "displayLocationInDecimal": false,
		"encrypted": false, "externalId": f.ExternalID, "extraTypeInfo": extra, "filterable": filterable,
		"filteredLookupInfo": nil, "formulaTreatNullNumberAsZero": false, "groupable": filterable,
		"highScaleNumber": false, "htmlFormatted": false, "idLookup": f.Type == "id" || f.ExternalID,
		"inlineHelpText": nil, "label": f.Label, "length": length, "mask": nil, "maskType": nil, "name": f.Name,
		"nameField": f.Name == "Name", "namePointing": false, "nillable": f.Nillable, "permissionable": f.Nillable && f.Createable,
		"picklistValues": picklist, "polymorphicForeignKey": false, "precision": precision, "queryByDistance": false,
		"referenceTargetField": nil, "referenceTo": refTo, "relationshipName": relName, "relationshipOrder": nil,
		"restrictedDelete": false, "restrictedPicklist": false, "scale": scale, "searchPrefilterable": false,
		"soapType": soap, "sortable": filterable, "type": f.Type, "unique": f.Unique, "updateable": f.Updateable,
		"writeRequiresMasterRead": false,
	}
}
