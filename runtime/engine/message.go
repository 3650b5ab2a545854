package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/mapping"
)

// DefaultMaxMessageBytes is the largest webhook message the engine sends;
// a page that maps to more is split.
const DefaultMaxMessageBytes = 300_000

// messageHeader is every key of a read's webhook message except result and
// resultInfo (webhook_webhook.yaml's WebhookMessage).
type messageHeader struct {
	Action                 string `json:"action"`
	ProjectID              string `json:"projectId"`
	Provider               string `json:"provider"`
	Workspace              string `json:"workspace,omitempty"`
	GroupRef               string `json:"groupRef"`
	GroupName              string `json:"groupName"`
	InstallationID         string `json:"installationId"`
	InstallationUpdateTime string `json:"installationUpdateTime"`
	ObjectName             string `json:"objectName"`
	RawObjectName          string `json:"rawObjectName"`
	OperationID            string `json:"operationId"`
	ReadType               string `json:"readType"`
	ConsumerRef            string `json:"consumerRef"`
	ConsumerName           string `json:"consumerName"`
	OperationTime          string `json:"operationTime"`
}

// messageID derives a page part's webhook-id from the operation, the page's
// sequence number and the part: a page read again after a crash gets the
// same ids, so a receiver that de-duplicates on webhook-id sees it once.
func messageID(operationID string, page, part int) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d", operationID, page, part)
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// splitter packs encoded result entries into messages of at most max bytes.
type splitter struct {
	prefix []byte // the header's JSON without its closing brace
	max    int
	buf    bytes.Buffer
	n      int
	out    [][]byte
}

func newSplitter(h *messageHeader, max int) (*splitter, error) {
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode message header: %w", err)
	}
	return &splitter{prefix: b[:len(b)-1], max: max}, nil
}

// suffixRoom is what the closing of a message takes at most.
const suffixRoom = len(`],"resultInfo":{"type":"inline","numRecords":}}`) + 20

func (s *splitter) add(entry []byte) {
	if s.n > 0 && s.buf.Len()+1+len(entry)+suffixRoom > s.max {
		s.flush()
	}
	if s.n == 0 {
		s.buf.Grow(min(s.max, len(s.prefix)+len(entry)+suffixRoom+64<<10))
		s.buf.Write(s.prefix)
		s.buf.WriteString(`,"result":[`)
	} else {
		s.buf.WriteByte(',')
	}
	s.buf.Write(entry)
	s.n++
}

func (s *splitter) flush() {
	if s.n == 0 {
		return
	}
	s.buf.WriteString(`],"resultInfo":{"type":"inline","numRecords":`)
	s.buf.WriteString(strconv.Itoa(s.n))
	s.buf.WriteString(`}}`)
	s.out = append(s.out, bytes.Clone(s.buf.Bytes()))
	s.buf.Reset()
	s.n = 0
}

// messages closes the last message and returns the page's messages.
func (s *splitter) messages(projectID, destinationID, operationID string, page int) []*runtime.OutboxMessage {
	s.flush()
	msgs := make([]*runtime.OutboxMessage, len(s.out))
	for i, body := range s.out {
		msgs[i] = &runtime.OutboxMessage{
			ID: messageID(operationID, page, i), ProjectID: projectID, DestinationID: destinationID,
			OperationID: operationID, Body: body,
		}
	}
	s.out = s.out[:0]
	return msgs
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// recentSet is a checkpoint's records near the watermark (id -> modified,
// unix ms). It is written with every page commit and can hold tens of
// thousands of entries after a mass update, so it encodes itself: in map
// order rather than encoding/json's sorted keys, which cost more than the
// rest of the commit.
type recentSet map[string]int64

// MarshalJSON writes the set as a JSON object.
func (r recentSet) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(r)*32)
	b = append(b, '{')
	for id, ms := range r {
		if len(b) > 1 {
			b = append(b, ',')
		}
		if plainJSONString(id) {
			b = append(b, '"')
			b = append(b, id...)
			b = append(b, '"')
		} else {
			q, err := json.Marshal(id)
			if err != nil {
				return nil, err
			}
			b = append(b, q...)
		}
		b = append(b, ':')
		b = strconv.AppendInt(b, ms, 10)
	}
	return append(b, '}'), nil
}

// plainJSONString reports whether s needs no escaping in a JSON string
// (provider record ids nearly always).
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return false
		}
	}
	return true
}

// encode is json.Marshal(cp) with the Recent set written directly:
// encoding/json validates again whatever a MarshalJSON returns, which for a
// large set costs twice the writing.
func (cp *checkpoint) encode() ([]byte, error) {
	c := *cp
	c.Recent = nil
	b, err := json.Marshal(&c)
	if err != nil || len(cp.Recent) == 0 {
		return b, err
	}
	if len(b) < 2 || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("encode a checkpoint: unexpected %.40q", b)
	}
	sep := `,"recent":`
	if len(b) == 2 {
		sep = `"recent":`
	}
	set, err := cp.Recent.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b[:len(b)-1], sep...)
	b = append(b, set...)
	return append(b, '}'), nil
}

// appendEntry appends e's JSON as json.Marshal writes it, except that Raw
// is copied as the connector handed it over, not compacted or HTML-escaped
// (the same JSON value): connectors give valid JSON (the conformance suite
// checks every record's Raw), and encoding/json's compaction and
// validation of each raw record took a tenth of a bulk read's CPU.
func appendEntry(b []byte, e *mapping.Entry) ([]byte, error) {
	fields, err := json.Marshal(e.Fields)
	if err != nil {
		return nil, err
	}
	b = append(b, `{"fields":`...)
	b = append(b, fields...)
	if e.MappedFields != nil {
		mapped, err := json.Marshal(e.MappedFields)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"mappedFields":`...)
		b = append(b, mapped...)
	}
	if len(e.Raw) > 0 {
		b = append(b, `,"raw":`...)
		b = append(b, e.Raw...)
	}
	b = append(b, `,"id":`...)
	if plainJSONString(e.ID) && !strings.ContainsAny(e.ID, "<>&") {
		b = append(b, '"')
		b = append(b, e.ID...)
		b = append(b, '"')
	} else {
		id, err := json.Marshal(e.ID)
		if err != nil {
			return nil, err
		}
		b = append(b, id...)
	}
	if e.Deleted {
		b = append(b, `,"deleted":true`...)
	}
	return append(b, '}'), nil
}
