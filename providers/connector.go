package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Config is what a connector is built from: one customer's connection.
type Config struct {
	// HTTPClient carries the connection's credentials (see NewAuthClient).
	// Connectors never add tokens themselves.
	HTTPClient *http.Client
	// BaseURL is where the provider's data API lives for this connection:
	// Salesforce's instance_url, HubSpot's API host, the Dynamics
	// organisation URL. Fakes and tests point it at an httptest server.
	BaseURL string
	// Module is the manifest's module; empty means the provider's default.
	Module string
	// Metadata holds per-connection values captured at connect time
	// (workspace, portal id, API version...).
	Metadata map[string]string
	// OnQuota, when set, receives the provider's rate-limit reading from
	// every response that carries one, so the engine can pace itself.
	OnQuota func(Quota)
}

// ConnectorProvider is implemented by providers that can build connectors.
// The catalog entry alone (Provider) is enough for offline validation.
type ConnectorProvider interface {
	Provider
	// NewConnector builds a connector for one connection.
	NewConnector(cfg Config) (Connector, error)
}

// OAuthProvider is implemented by providers whose connections are made
// with the OAuth 2.0 authorization-code flow. The runtime's connect flow
// finds it in the registry, so it knows no provider by name.
type OAuthProvider interface {
	Provider
	// OAuthConfig returns the client configuration for one connection's
	// flow, with the connection's inputs (workspace, login host) filled in.
	// Inputs are typed by customers: an input that would move the
	// endpoints off the provider's own hosts is an error, never a
	// fallback (the token endpoint receives the client secret).
	OAuthConfig(clientID, clientSecret, redirectURL string, inputs map[string]string, scopes []string) (*oauth2.Config, error)
	// CheckBaseURL returns an error unless baseURL, a connection's API base
	// URL read from its provider metadata (Salesforce's instance_url,
	// Dynamics' organisation URL), is https on one of the provider's API
	// hosts: the connection's token is sent there.
	CheckBaseURL(baseURL string) error
	// InspectToken returns what to keep from a token response (metadata
	// keys as the provider package names them) and the scopes granted, nil
	// when the provider does not say. apiBase overrides the provider's API
	// host (tests against fakes); client makes any call it needs.
	InspectToken(ctx context.Context, client *http.Client, apiBase string, tok *oauth2.Token) (meta map[string]string, granted []string, err error)
}

// Connector is the base of every provider client. Capabilities are separate
// interfaces (MetadataReader, Reader, RecordGetter, BulkReader, Writer) that
// callers find by type assertion, so a connector implements only what its
// provider can do.
type Connector interface {
	// Provider returns the catalog key, e.g. "salesforce".
	Provider() string
}

// MetadataReader lists a customer's objects and describes their fields,
// custom ones included.
type MetadataReader interface {
	// ListObjects returns every object the connection can see.
	ListObjects(ctx context.Context) ([]ObjectInfo, error)
	// DescribeObject returns one object's fields. An unknown object is an
	// error of kind KindNotFound.
	DescribeObject(ctx context.Context, object string) (*ObjectMetadata, error)
}

// Reader reads one page per call.
type Reader interface {
	// Read returns the page after req.Cursor (the first page when empty).
	// Records come in a stable order; a page with Done set is the last.
	Read(ctx context.Context, req ReadRequest) (*ReadPage, error)
}

// RecordGetter reads records by id, in batches. Writers need it to see the
// current values of records before updating them (write only where a field
// is empty) and to check what an upsert left behind, without reading the
// whole object.
type RecordGetter interface {
	// GetRecords returns the records of object with the given ids that
	// exist, with fields (any case; nil: the provider's default fields,
	// those Read returns for a ReadRequest without Fields), in no
	// particular order, each once however often its id is given. Records
	// are built exactly as Read builds them (id as the provider spells it,
	// lower-case field keys, Raw, ModifiedAt). Ids that do not exist, are
	// deleted or cannot be ids of the provider are left out (not an error).
	// At most MaxGetBatch ids per call; more is an error of kind
	// KindInvalid, before any request.
	GetRecords(ctx context.Context, object string, ids []string, fields []string) ([]Record, error)
	// MaxGetBatch is the most ids one GetRecords call may carry.
	MaxGetBatch() int
}

// BulkReader reads a whole object through the provider's bulk API
// (Salesforce Bulk API 2.0), streaming records without holding them all.
type BulkReader interface {
	// BulkRead runs one bulk query and yields its records in order. The
	// sequence stops at the first error, which it yields.
	BulkRead(ctx context.Context, req ReadRequest) iter.Seq2[Record, error]
}

// ResumableBulkReader reads a whole object through the provider's bulk API
// in chunks that can be fetched again after a crash: the job's results stay
// at the provider (Salesforce keeps them for seven days), so a reader that
// saved the job ID and a chunk's locator resumes exactly where it stopped.
type ResumableBulkReader interface {
	// StartBulkRead submits one bulk query for req (Object, Fields, Since,
	// Until, IncludeDeleted) and waits until its results are ready. It
	// returns the job's ID and its record count (-1 when unknown).
	StartBulkRead(ctx context.Context, req ReadRequest) (jobID string, total int, err error)
	// BulkReadChunk returns the chunk of the job's results at locator
	// (empty: the first) with at most maxRecords records (zero: the
	// provider's default). The page's NextCursor is the next chunk's
	// locator; Done is set on the last chunk. Fetching the same locator
	// again returns the same records in the same order.
	BulkReadChunk(ctx context.Context, jobID, locator string, maxRecords int) (*ReadPage, error)
}

// BulkAheadReader is a ResumableBulkReader that names the next chunk's
// locator as soon as the response carries it, before the chunk is decoded
// (ReadRequest.Ahead for bulk chunks): the caller can have the next chunk on
// its way meanwhile.
type BulkAheadReader interface {
	// BulkReadChunkAhead is BulkReadChunk, calling ahead (at most once,
	// before it returns) with the next chunk's locator when there is one.
	BulkReadChunkAhead(ctx context.Context, jobID, locator string, maxRecords int, ahead func(locator string)) (*ReadPage, error)
}

// Writer writes batches of records.
type Writer interface {
	// Write applies req and returns one result per input record, in input
	// order. A request-level failure (auth, rate limit, malformed request)
	// is returned as an error; per-record failures are in the results.
	Write(ctx context.Context, req WriteRequest) ([]WriteResult, error)
	// MaxBatch is the most records one Write may carry (one provider call).
	MaxBatch() int
}

// BulkWriter writes batches of any size through the provider's bulk API
// (Salesforce Bulk API 2.0 ingest), for loads where one call per
// MaxBatch records would waste the provider's request allocation.
type BulkWriter interface {
	// BulkWrite runs one bulk job for req and returns one result per input
	// record, in input order. It blocks until the job finishes or ctx ends.
	BulkWrite(ctx context.Context, req WriteRequest) ([]WriteResult, error)
}

// AllOrNoneWriter is implemented by writers that report whether they honour
// WriteRequest.AllOrNone (Salesforce and Dynamics do; HubSpot has no such
// mode, so callers that need atomic batches must not rely on it there).
type AllOrNoneWriter interface {
	Writer
	SupportsAllOrNone() bool
}

// ReadRequest asks for one page of an object.
type ReadRequest struct {
	Object string
	// Fields are the provider field names to read (any case). The record id
	// and modified time are always read.
	Fields []string
	// Since and Until bound the records' modified time: Since exclusive,
	// Until inclusive; zero means unbounded.
	Since, Until time.Time
	// Cursor continues a previous read; empty starts one.
	Cursor string
	// PageSize is a hint; zero means the provider's default.
	PageSize int
	// IncludeDeleted also returns deleted records (Record.Deleted set).
	IncludeDeleted bool
	// Checkpoint continues change tracking from a previous read's
	// ReadPage.Checkpoint (Dynamics delta links). Where the provider tracks
	// changes by token rather than by time, it is what makes deletions
	// exact; Since still bounds the records when it is empty.
	Checkpoint string
	// Ahead, when set, is called at most once, before Read returns, with
	// the next page's cursor as soon as the response names it and before
	// the page's records are decoded: the caller can have the next page
	// on its way while this one decodes. It is a hint; the returned
	// page's NextCursor is what counts. Connectors may ignore it.
	Ahead func(cursor string)
}

// ReadPage is one page of records.
type ReadPage struct {
	Records []Record
	// NextCursor continues the read; empty when Done.
	NextCursor string
	Done       bool
	// Total is the provider's count of matching records when it says, or -1.
	Total int
	// Checkpoint, on the last page, is an opaque token from which a later
	// read continues tracking changes (ReadRequest.Checkpoint); empty when
	// the provider tracks changes by time only.
	Checkpoint string
}

// Record is one provider record.
type Record struct {
	ID string
	// Fields holds the requested fields under lower-case names, with JSON
	// values (string, float64, bool, nil, map[string]any, []any).
	Fields map[string]any
	// Raw is the record as the provider sent it.
	Raw json.RawMessage
	// ModifiedAt is the provider's modified time (SystemModstamp,
	// lastmodifieddate, modifiedon).
	ModifiedAt time.Time
	// Deleted is true for a record the provider reports as deleted.
	Deleted bool
}

// WriteOp is a kind of write.
type WriteOp string

// The write operations.
const (
	WriteCreate WriteOp = "create"
	WriteUpdate WriteOp = "update"
	WriteUpsert WriteOp = "upsert"
	WriteDelete WriteOp = "delete"
)

// WriteRequest is one batch of writes to one object.
type WriteRequest struct {
	Object string
	Op     WriteOp
	// UpsertKey is the field that identifies records for WriteUpsert.
	UpsertKey string
	// AllOrNone rolls the whole batch back when one record fails, where
	// the provider supports it.
	AllOrNone bool
	Records   []WriteRecord
}

// WriteRecord is one record to write. ID is required for update and
// delete; for upsert the key's value is in Fields[UpsertKey].
type WriteRecord struct {
	ID     string
	Fields map[string]any
}

// WriteResult is the outcome of one record of a batch.
type WriteResult struct {
	Success bool
	// ID is the provider's record id, when known.
	ID string
	// Created is true when an upsert inserted the record.
	Created bool
	// Errors are the provider's reasons for a failure.
	Errors []RecordError
}

// RecordError is a provider's reason one record failed.
type RecordError struct {
	// Code is the provider's error code (REQUIRED_FIELD_MISSING, CONFLICT...).
	Code    string
	Message string
	// Fields names the offending fields, when the provider says.
	Fields []string
	// Kind classifies the failure.
	Kind ErrorKind
}

// ObjectInfo names one object of a connection.
type ObjectInfo struct {
	Name        string // as manifests spell it
	DisplayName string
	Custom      bool
}

// ObjectMetadata is an object's schema in one customer's CRM.
type ObjectMetadata struct {
	Name        string
	DisplayName string
	Custom      bool
	Fields      []FieldMetadata
}

// FieldMetadata describes one field, in the shape of Ampersand's
// allFieldsMetadata.
type FieldMetadata struct {
	Name        string
	DisplayName string
	// ValueType is the normalised type (see Field.Type).
	ValueType string
	// ProviderType is the provider's own type name (picklist, enumeration...).
	ProviderType string
	ReadOnly     bool
	Custom       bool
	Required     bool
	ReferenceTo  []string
	Values       []FieldValue
}

// FieldValue is one choice of a picklist.
type FieldValue struct {
	Value        string
	DisplayValue string
}

// Quota is a provider's rate-limit reading from one response.
type Quota struct {
	// Used and Limit count what the limit counts in Window: requests for
	// most, milliseconds of execution time for Dynamics' time budget (Source
	// says which). Zero Limit means unknown.
	Used, Limit int
	Window      time.Duration
	// Source names the header it came from, e.g. "Sforce-Limit-Info".
	Source string
}

// CheckHTTPSHost is a helper for CheckBaseURL: it returns an error unless
// baseURL is an https URL without user info or a port other than 443 whose
// host is one of hosts or ends in one of suffixes (".salesforce.com"),
// compared case-insensitively.
func CheckHTTPSHost(provider, baseURL string, hosts, suffixes []string) error {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Hostname() == "" || (u.Port() != "" && u.Port() != "443") {
		return fmt.Errorf("%s: base URL %q is not an https URL on a %s host", provider, baseURL, provider)
	}
	host := strings.ToLower(u.Hostname())
	for _, h := range hosts {
		if host == h {
			return nil
		}
	}
	for _, s := range suffixes {
		if strings.HasSuffix(host, s) && len(host) > len(s) {
			return nil
		}
	}
	return fmt.Errorf("%s: base URL %q is not on a %s host", provider, baseURL, provider)
}

// hostLabel is one DNS label: letters, digits and inner hyphens, at most 63.
var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// ValidHostLabel reports whether s can be put in a host name as one label
// (a Dynamics organisation, a Salesforce My Domain name): no dots, slashes,
// ports or anything else that would move a URL to another host.
func ValidHostLabel(s string) bool { return hostLabel.MatchString(s) }

// ErrOutcomeUnknown marks a write failure that came after the provider may
// already have applied some of the records (a bulk job that was created,
// then failed to report its results): a caller must not send those records
// again as if nothing had been written. Test with errors.Is.
var ErrOutcomeUnknown = errors.New("the provider may have applied the write")

// GetIDs checks a GetRecords call and returns the ids worth asking for:
// object must be set and ids at most max; ids that normalize (trims, case)
// to false are left out, since they cannot name a record of the provider,
// and repeats are asked once. Connectors call it first, so the three
// refuse and filter alike.
func GetIDs(provider, object string, ids []string, max int, normalize func(id string) (string, bool)) ([]string, error) {
	if object == "" {
		return nil, &Error{Kind: KindInvalid, Provider: provider, Message: "GetRecords: object is empty"}
	}
	if len(ids) > max {
		return nil, &Error{Kind: KindInvalid, Provider: provider,
			Message: fmt.Sprintf("get %s: %d ids; one call takes at most %d", object, len(ids), max)}
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if n, ok := normalize(id); ok && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}
