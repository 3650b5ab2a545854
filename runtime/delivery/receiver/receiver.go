// Package receiver is a webhook receiver of the kind a builder writes: it
// checks each message's Standard Webhooks signature with delivery's Verify,
// drops repeats by webhook-id, and keeps what arrived (records by object and
// id, notifications) so `amp demo` and the tests can show and check it. It
// can also play a destination that is down.
//
// It must not import the engine or the store: it sees only HTTP.
package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ampforge/amp/runtime/delivery"
)

// MaxBody bounds a message's body; the engine sends at most 300 KB.
const MaxBody = 4 << 20

// Message is one accepted webhook message, decoded.
type Message struct {
	ID   string
	Body []byte
	// Header holds the request's headers (signature checks in tests).
	Header http.Header
	// Read is the message when it carries records.
	Read *ReadMessage
	// NotificationType is set for notifications.
	NotificationType string
}

// ReadMessage is the part of a read's webhook message the receiver keeps.
type ReadMessage struct {
	Action         string `json:"action"`
	ProjectID      string `json:"projectId"`
	Provider       string `json:"provider"`
	InstallationID string `json:"installationId"`
	ObjectName     string `json:"objectName"`
	RawObjectName  string `json:"rawObjectName"`
	OperationID    string `json:"operationId"`
	ReadType       string `json:"readType"`
	ResultInfo     struct {
		Type       string `json:"type"`
		NumRecords int    `json:"numRecords"`
	} `json:"resultInfo"`
	Result []Entry `json:"result"`
}

// Entry is one delivered record.
type Entry struct {
	ID           string         `json:"id"`
	Deleted      bool           `json:"deleted"`
	Fields       map[string]any `json:"fields"`
	MappedFields map[string]any `json:"mappedFields"`
	Raw          map[string]any `json:"raw"`
}

// Receiver is an http.Handler receiving webhook messages.
type Receiver struct {
	key []byte
	// OnMessage, when set, is called with each new (not repeated) message,
	// outside the receiver's lock.
	OnMessage func(*Message)
	// Tolerance is how far a timestamp may be from now (default 5 min).
	Tolerance time.Duration

	mu         sync.Mutex
	down       int // status to answer while down; 0 when up
	seen       map[string]bool
	messages   []*Message
	records    map[string]map[string]Entry // object -> id -> latest entry
	arrivals   map[string]int              // object|id -> deliveries counted after de-duplication
	repeats    int
	rejected   int
	tombstones int
	total      int
}

// New returns a receiver verifying with secret (the destination's whsec_
// signing secret).
func New(secret string) (*Receiver, error) {
	key, err := delivery.ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	return &Receiver{key: key, seen: map[string]bool{}, records: map[string]map[string]Entry{}, arrivals: map[string]int{}}, nil
}

// SetDown makes the receiver answer every message with status (503, say)
// until SetDown(0).
func (r *Receiver) SetDown(status int) {
	r.mu.Lock()
	r.down = status
	r.mu.Unlock()
}

// ServeHTTP accepts one message.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	down := r.down
	r.mu.Unlock()
	if down != 0 {
		http.Error(w, "receiver is down", down)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxBody+1))
	if err != nil || len(body) > MaxBody {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	tol := r.Tolerance
	if tol == 0 {
		tol = 5 * time.Minute
	}
	id := req.Header.Get(delivery.HeaderID)
	if err := Verify(r.key, id, req.Header.Get(delivery.HeaderTimestamp), req.Header.Get(delivery.HeaderSignature), body, time.Now(), tol); err != nil {
		r.mu.Lock()
		r.rejected++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	m := &Message{ID: id, Body: body, Header: req.Header.Clone()}
	var probe struct {
		NotificationType string `json:"notificationType"`
		Action           string `json:"action"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		http.Error(w, "body is not JSON", http.StatusBadRequest)
		return
	}
	if probe.NotificationType != "" {
		m.NotificationType = probe.NotificationType
	} else {
		var rm ReadMessage
		if err := json.Unmarshal(body, &rm); err != nil {
			http.Error(w, "not a read message", http.StatusBadRequest)
			return
		}
		m.Read = &rm
	}
	r.mu.Lock()
	if r.seen[id] {
		r.repeats++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	r.seen[id] = true
	r.messages = append(r.messages, m)
	if m.Read != nil {
		obj := m.Read.ObjectName
		if r.records[obj] == nil {
			r.records[obj] = map[string]Entry{}
		}
		for _, e := range m.Read.Result {
			r.records[obj][e.ID] = e
			r.arrivals[obj+"|"+e.ID]++
			r.total++
			if e.Deleted {
				r.tombstones++
			}
		}
	}
	r.mu.Unlock()
	if r.OnMessage != nil {
		r.OnMessage(m)
	}
	w.WriteHeader(http.StatusNoContent)
}

// Stats is a summary of what arrived.
type Stats struct {
	// Messages counts distinct messages; Repeats the deliveries of a
	// webhook-id already seen; Rejected those with a bad signature.
	Messages, Repeats, Rejected int
	// Records counts delivered entries (after de-duplication by
	// webhook-id); Distinct the distinct object/id pairs; Tombstones the
	// entries with deleted: true.
	Records, Distinct, Tombstones int
}

// Stats returns the summary so far.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Messages: len(r.messages), Repeats: r.repeats, Rejected: r.rejected,
		Records: r.total, Distinct: len(r.arrivals), Tombstones: r.tombstones}
}

// Messages returns the distinct messages in arrival order.
func (r *Receiver) Messages() []*Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Message(nil), r.messages...)
}

// Records returns the latest entry of each record of an object.
func (r *Receiver) Records(object string) map[string]Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Entry, len(r.records[object]))
	for id, e := range r.records[object] {
		out[id] = e
	}
	return out
}

// Duplicates returns the object/id pairs that arrived more than once (in
// distinct messages), sorted.
func (r *Receiver) Duplicates() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, n := range r.arrivals {
		if n > 1 {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Notifications returns the notification types received, in order.
func (r *Receiver) Notifications() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.messages {
		if m.NotificationType != "" {
			out = append(out, m.NotificationType)
		}
	}
	return out
}

// Verify checks a Standard Webhooks signature the way a receiver does: the
// timestamp (Unix seconds) within tolerance of now, and one of the
// space-separated "v1,<base64>" signatures equal to the HMAC-SHA256 of
// "id.timestamp.body" under key, compared in constant time.
func Verify(key []byte, id, timestamp, signatures string, body []byte, now time.Time, tolerance time.Duration) error {
	if id == "" || timestamp == "" || signatures == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not a number")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook-timestamp is too far from now")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(signatures) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}
