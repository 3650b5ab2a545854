package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Associations: seeded contact i is associated with seeded company i and
// deal i, except every third record (i%3 == 2), which has none.

func (s *Server) associations(w http.ResponseWriter, r *http.Request) {
	from, to := s.object(r.PathValue("from")), s.object(r.PathValue("to"))
	if from == nil || to == nil {
		name := r.PathValue("from")
		if from != nil {
			name = r.PathValue("to")
		}
		unknownObject(w, name)
		return
	}
	var body batchBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		invalidJSON(w, err)
		return
	}
	results := []any{}
	var errs []any
	typeID := 1
	if from.name == "contacts" && to.name == "deals" {
		typeID = 4
	}
	for _, in := range body.Inputs {
		rec, ok := s.kit.Store.Get(from.name, in.ID)
		if !ok || rec.Deleted {
			errs = append(errs, map[string]any{"status": "error", "category": "VALIDATION_ERROR", "subCategory": "crm.associations.INVALID_IDENTIFIER",
				"message": in.ID + " is not a valid ID", "context": map[string]any{"id": []string{in.ID}}})
			continue
		}
		i, seeded := seedIndex(in.ID)
		target, found := s.kit.Store.Get(to.name, strconv.Itoa(seedBase+i))
		if !seeded || i%3 == 2 || from == to || !found || target.Deleted {
			errs = append(errs, map[string]any{"status": "error", "category": "OBJECT_NOT_FOUND", "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
				"message": fmt.Sprintf("No %s is associated with %s %s.", singular(to), singular(from), in.ID),
				"context": map[string]any{"fromObjectId": []string{in.ID}, "fromObjectType": []string{singular(from)}, "toObjectType": []string{singular(to)}}})
			continue
		}
		toID, _ := strconv.ParseInt(target.ID, 10, 64)
		results = append(results, map[string]any{
			"from": map[string]any{"id": in.ID},
			"to": []any{map[string]any{"toObjectId": toID, "associationTypes": []any{
				map[string]any{"category": "HUBSPOT_DEFINED", "typeId": typeID, "label": "Primary"},
				map[string]any{"category": "HUBSPOT_DEFINED", "typeId": typeID + 278, "label": nil},
			}}},
		})
	}
	now := formatTime(s.kit.Now())
	resp := map[string]any{"completedAt": now, "status": "COMPLETE", "startedAt": now, "results": results}
	status := http.StatusOK
	if len(errs) > 0 {
		resp["errors"], resp["numErrors"], status = errs, len(errs), http.StatusMultiStatus
	}
	writeJSON(w, status, resp)
}

func singular(o *objectDef) string {
	switch o.name {
	case "contacts":
		return "contact"
	case "companies":
		return "company"
	case "deals":
		return "deal"
	}
	return o.fqn
}
