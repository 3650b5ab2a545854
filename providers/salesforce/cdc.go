package salesforce

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ChangeEvent is a decoded Change Data Capture event (Pub/Sub API payload
// after Avro decoding): which records of which object changed how.
type ChangeEvent struct {
	Object     string // lower case, as manifests spell it
	ChangeType string // CREATE, UPDATE, DELETE, UNDELETE, GAP_*...
	RecordIDs  []string
	// ChangedFields are lower-case field names; compound fields keep their
	// dotted path (name.lastname).
	ChangedFields []string
	CommitTime    time.Time
	CommitUser    string
	// Fields are the event's field values under lower-case names, without
	// the header.
	Fields map[string]any
}

// ParseChangeEvent decodes one CDC event payload.
func ParseChangeEvent(data []byte) (*ChangeEvent, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("salesforce: change event: %w", err)
	}
	var h struct {
		EntityName      string   `json:"entityName"`
		ChangeType      string   `json:"changeType"`
		ChangedFields   []string `json:"changedFields"`
		RecordIDs       []string `json:"recordIds"`
		CommitTimestamp int64    `json:"commitTimestamp"`
		CommitUser      string   `json:"commitUser"`
	}
	raw, ok := m["ChangeEventHeader"]
	if !ok {
		return nil, fmt.Errorf("salesforce: change event has no ChangeEventHeader")
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("salesforce: change event header: %w", err)
	}
	ev := &ChangeEvent{Object: strings.ToLower(h.EntityName), ChangeType: h.ChangeType, RecordIDs: h.RecordIDs,
		CommitUser: h.CommitUser, CommitTime: time.UnixMilli(h.CommitTimestamp).UTC(), Fields: map[string]any{}}
	for _, f := range h.ChangedFields {
		ev.ChangedFields = append(ev.ChangedFields, strings.ToLower(f))
	}
	for k, v := range m {
		if k == "ChangeEventHeader" {
			continue
		}
		var val any
		if err := json.Unmarshal(v, &val); err != nil {
			return nil, fmt.Errorf("salesforce: change event field %s: %w", k, err)
		}
		ev.Fields[strings.ToLower(k)] = val
	}
	return ev, nil
}
