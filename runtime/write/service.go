package write

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ampforge/amp/manifest"
	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/engine"
	"github.com/ampforge/amp/runtime/mapping"
)

// Connectors builds a connection's connector, authenticated as the
// connection (*introspect.Service implements it).
type Connectors interface {
	ConnectorWithQuota(ctx context.Context, conn *runtime.Connection, onQuota func(providers.Quota)) (providers.Connector, error)
}

// Describer describes an object of a customer's CRM, with a cache
// (*introspect.Service implements it).
type Describer interface {
	DescribeObject(ctx context.Context, conn *runtime.Connection, object string) (*providers.ObjectMetadata, error)
}

// Defaults of Config.
const (
	DefaultBulkThreshold  = 2000
	DefaultRetryBase      = time.Second
	DefaultRetryMax       = 5 * time.Minute
	DefaultSyncAttempts   = 3
	DefaultSyncRetryMax   = 5 * time.Second
	DefaultLease          = time.Minute
	DefaultEchoTTL        = 24 * time.Hour
	DefaultIdempotencyTTL = 24 * time.Hour
)

// Config is what a Service is built with. Store and Connectors are
// required.
type Config struct {
	// Store holds installations, revisions, connections and operations;
	// required.
	Store runtime.Store
	// State keeps idempotency records and echoes; nil turns both off
	// (an Idempotency-Key header is then refused).
	State runtime.WriteStateStore
	// Connectors builds the connection's authenticated connector; required.
	Connectors Connectors
	// Describer checks records against the customer's schema; nil skips
	// those checks.
	Describer Describer
	// Wake tells the engine an asynchronous write is queued.
	Wake func()
	// BulkThreshold is the number of records in one asynchronous
	// operation from which a provider with a bulk API (Salesforce Bulk API
	// 2.0 ingest) gets them in one bulk job (negative: never). An
	// operation holds at most MaxBatch records (a request's batch, or an
	// auto-batch), so the default is never reached and the Bulk API is in
	// effect off unless this is set to MaxBatch or less: a bulk job costs
	// several API calls (create, upload, close, polls, results), more
	// than the one sObject Collections call 100 records need.
	BulkThreshold int
	// DeadlineCap, when positive, caps every asynchronous write's retry
	// deadline, and AutoBatchDelayCap every autoBatchPolicy's delay
	// (tests shorten hours and minutes to seconds with them).
	DeadlineCap       time.Duration
	AutoBatchDelayCap time.Duration
	// RetryBase and RetryMax bound the jittered back-off between the
	// attempts of an asynchronous write.
	RetryBase, RetryMax time.Duration
	// SyncAttempts is how many times a synchronous write tries a refused
	// chunk; SyncRetryMax the longest it waits between two tries.
	SyncAttempts int
	SyncRetryMax time.Duration
	// Lease is the engine's lease length: a progress commit extends the
	// lease by it.
	Lease time.Duration
	// EchoTTL is how long an echo waits for the read it suppresses;
	// IdempotencyTTL how long an Idempotency-Key is remembered.
	EchoTTL, IdempotencyTTL time.Duration
	// Now is the clock (nil: time.Now); Logger receives the service's logs,
	// which never hold record values or secrets (nil: discarded).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service serves the Write API and runs asynchronous writes.
type Service struct {
	cfg  Config
	log  *slog.Logger
	revs revisionCache
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Connectors == nil {
		return nil, errors.New("write: Config.Store and Config.Connectors are required")
	}
	if cfg.BulkThreshold == 0 {
		cfg.BulkThreshold = DefaultBulkThreshold
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defd(&cfg.RetryBase, DefaultRetryBase)
	defd(&cfg.RetryMax, DefaultRetryMax)
	defd(&cfg.SyncRetryMax, DefaultSyncRetryMax)
	defd(&cfg.Lease, DefaultLease)
	defd(&cfg.EchoTTL, DefaultEchoTTL)
	defd(&cfg.IdempotencyTTL, DefaultIdempotencyTTL)
	if cfg.SyncAttempts <= 0 {
		cfg.SyncAttempts = DefaultSyncAttempts
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("component", "write")}, nil
}

// answerError is an error that is answered as it is (a refused request,
// an unavailable provider).
type answerError struct{ a Answer }

func (e *answerError) Error() string { return string(e.a.Body) }

// Serve handles one Write API call. It returns the answer, or an error the
// API answers as a problem by its runtime code (the group has no
// installation: ENOTFOUND; anything else is internal).
func (s *Service) Serve(ctx context.Context, call Call) (Answer, error) {
	if call.IdempotencyKey == "" {
		return s.serve(ctx, call)
	}
	return s.serveIdempotent(ctx, call)
}

// serve decodes, checks and runs the call.
func (s *Service) serve(ctx context.Context, call Call) (Answer, error) {
	a, err := s.run(ctx, call)
	if err != nil {
		var ie *inputError
		if errors.As(err, &ie) {
			return ie.answer(), nil
		}
		var ae *answerError
		if errors.As(err, &ae) {
			return ae.a, nil
		}
		return Answer{}, err
	}
	return a, nil
}

func (s *Service) run(ctx context.Context, call Call) (Answer, error) {
	in, err := decodeRequest(call.Body)
	if err != nil {
		return Answer{}, err
	}
	t, err := s.resolve(ctx, call, in)
	if err != nil {
		return Answer{}, err
	}
	recs, err := t.shaper.shape(in)
	if err != nil {
		return Answer{}, err
	}
	if in.async {
		return s.enqueue(ctx, t, in, recs)
	}
	return s.writeNow(ctx, t, in, recs)
}

// target is what a request writes to, resolved from its path and group.
type target struct {
	inst  *runtime.Installation
	conn  *runtime.Connection
	integ *runtime.Integration
	// object is the provider object; key its write config's key; name
	// how the request named it.
	object, key, name string
	wobj              *manifest.WriteObject
	connector         providers.Connector
	writer            providers.Writer
	shaper            *shaper
	// readKey is the installation's read config key of the object (""
	// when it does not read it): echoes are kept under it. echoFields
	// are the provider fields that read reads (nil: all).
	readKey    string
	echoFields map[string]bool
}

// resolve finds the installation, write object, config, mapping, schema
// and connector a request needs; what is missing or refused is an issue.
func (s *Service) resolve(ctx context.Context, call Call, in *input) (*target, error) {
	integ, err := s.cfg.Store.GetIntegration(ctx, call.ProjectID, call.IntegrationID)
	if err != nil {
		return nil, err
	}
	ins, err := s.cfg.Store.ListInstallations(ctx, call.ProjectID, runtime.InstallationFilter{IntegrationID: integ.ID, GroupRef: in.groupRef})
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "group %q has no installation of integration %s; create one first", in.groupRef, integ.Name)
	}
	t := &target{inst: ins[0], integ: integ, name: call.ObjectName}
	content := t.inst.Config.Content
	mi, err := s.revision(ctx, t.inst, integ)
	if err != nil {
		return nil, err
	}
	var is issues
	t.wobj = findWriteObject(mi, call.ObjectName)
	if t.wobj == nil {
		is.add("path", "objectName", "integration %s writes no object %q; %s", integ.Name, call.ObjectName, writeObjectList(mi))
		return nil, is.err()
	}
	t.object = t.wobj.ObjectName
	var wcfg runtime.WriteConfigObject
	var ok bool
	t.key, wcfg, ok = findWriteConfig(content, t.object)
	if !ok {
		is.add("path", "objectName", "the installation of group %s does not write %s: add config.content.write.objects.%s to it (PATCH the installation)", in.groupRef, t.object, t.object)
		return nil, is.err()
	}
	if in.op == providers.WriteDelete && (wcfg.DeletionSettings == nil || !wcfg.DeletionSettings.Enabled) {
		is.add("body", "type", "the installation of group %s does not allow deleting %s records: config.content.write.objects.%s.deletionSettings.enabled is not true", in.groupRef, t.object, t.key)
	}
	if in.op == providers.WriteUpsert && t.wobj.UpsertKey == "" {
		is.add("body", "type", "write object %s has no upsertKey in the manifest, so it cannot upsert; use create or update, or add upsertKey", t.object)
	}
	if err := is.err(); err != nil {
		return nil, err
	}
	// The read mapping: reversed for writes that inherit it, and the
	// fields a read compares against echoes.
	var plan *mapping.Plan
	robj := engine.ReadObject(mi, t.object)
	var rcfg *runtime.ReadConfigObject
	if k, c, ok := findReadConfig(content, t.object); ok {
		t.readKey, rcfg = k, &c
	}
	if robj != nil {
		p, perr := mapping.Compile(robj, rcfg)
		switch {
		case perr == nil:
			plan = p
		case t.wobj.InheritMapping:
			is.add("path", "objectName", "the write inherits the read mapping of %s, which the installation of group %s does not complete: %s", t.object, in.groupRef, runtime.ErrorMessage(perr))
			return nil, is.err()
		}
	}
	if plan != nil && t.readKey != "" && !plan.AllFields() {
		t.echoFields = map[string]bool{}
		for _, f := range plan.Fields() {
			t.echoFields[f] = true
		}
	}
	if plan == nil {
		// Echoes need a read to compare with.
		t.readKey = ""
	}
	if !t.wobj.InheritMapping {
		plan = nil
	}
	allowAny := t.wobj.ValueDefaults != nil && t.wobj.ValueDefaults.AllowAnyFields
	t.conn, err = s.cfg.Store.GetConnection(ctx, t.inst.ProjectID, t.inst.ConnectionID)
	if err != nil {
		return nil, fmt.Errorf("connection of installation %s: %w", t.inst.ID, err)
	}
	if t.conn.Status == runtime.ConnectionBadCredentials {
		// Writing would only meet the same refusal: say what to do.
		return nil, runtime.Errorf(runtime.ECONFLICT, "%s refused connection %s's credentials: the customer of group %q must reconnect (the connection's :oauth-update) before anything can be written",
			t.conn.Provider, t.conn.ID, t.inst.GroupRef)
	}
	t.connector, err = s.cfg.Connectors.ConnectorWithQuota(ctx, t.conn, nil)
	if err != nil {
		return nil, s.providerTrouble(t, "connect to", err)
	}
	t.writer, ok = t.connector.(providers.Writer)
	if !ok {
		is.add("path", "objectName", "provider %s cannot write records", t.conn.Provider)
		return nil, is.err()
	}
	if in.allOrNone {
		aon, ok := t.writer.(providers.AllOrNoneWriter)
		if !ok || !aon.SupportsAllOrNone() {
			is.add("body", "batchPolicy.allOrNone", "%s cannot roll a batch back: it applies each record on its own, so allOrNone cannot be honoured; send allOrNone false (the default) and check each record's result", t.conn.Provider)
		} else if len(in.records) > t.writer.MaxBatch() {
			is.add("body", "batchPolicy.allOrNone", "%s takes at most %d records in one all-or-none batch", t.conn.Provider, t.writer.MaxBatch())
		}
		if err := is.err(); err != nil {
			return nil, err
		}
	}
	var meta *providers.ObjectMetadata
	if s.cfg.Describer != nil {
		meta, err = s.cfg.Describer.DescribeObject(ctx, t.conn, t.object)
		if err != nil {
			if providers.KindOf(err) == providers.KindNotFound {
				is.add("path", "objectName", "this customer's %s has no object %s", t.conn.Provider, t.object)
				return nil, is.err()
			}
			return nil, s.providerTrouble(t, "describe "+t.object+" in", err)
		}
	}
	t.shaper = newShaper(t.conn.Provider, t.object, call.ObjectName, plan, !allowAny, wcfg.SelectedFieldSettings, t.wobj.UpsertKey, meta)
	return t, nil
}

// providerTrouble is the answer when the provider cannot be used right
// now: its refusal of the credentials (422, the customer must reconnect)
// or an outage (503, retry later).
func (s *Service) providerTrouble(t *target, what string, err error) error {
	if providers.KindOf(err) == providers.KindAuth {
		var is issues
		is.add("body", "groupRef", "%s refused the credentials of connection %s; the customer must reconnect", t.conn.Provider, t.conn.ID)
		return is.err()
	}
	if code := runtime.ErrorCode(err); code != runtime.EINTERNAL {
		return err
	}
	s.log.Warn("provider unavailable for a write", "provider", t.conn.Provider, "installation", t.inst.ID, "err", err)
	return &answerError{a: unavailable(fmt.Sprintf("cannot %s %s right now: %s; retry later", what, t.conn.Provider, errorOf(err).Message))}
}

// findWriteObject finds the write object name stands for: its objectName,
// or the mapToName of the read object it inherits the mapping of; exactly,
// then ignoring case.
func findWriteObject(mi *manifest.Integration, name string) *manifest.WriteObject {
	if mi == nil || mi.Write == nil {
		return nil
	}
	for _, exact := range []bool{true, false} {
		eq := func(a, b string) bool { return a == b || (!exact && strings.EqualFold(a, b)) }
		for _, o := range mi.Write.Objects {
			if o != nil && eq(o.ObjectName, name) {
				return o
			}
		}
		if mi.Read == nil {
			continue
		}
		for _, ro := range mi.Read.Objects {
			if ro == nil || ro.MapToName == "" || !eq(ro.MapToName, name) {
				continue
			}
			for _, o := range mi.Write.Objects {
				if o != nil && o.InheritMapping && strings.EqualFold(o.ObjectName, ro.ObjectName) {
					return o
				}
			}
		}
	}
	return nil
}

// writeObjectList names an integration's write objects for a message.
func writeObjectList(mi *manifest.Integration) string {
	if mi == nil || mi.Write == nil || len(mi.Write.Objects) == 0 {
		return "it has no write objects: add write.objects to the manifest"
	}
	var names []string
	for _, o := range mi.Write.Objects {
		if o == nil {
			continue
		}
		n := o.ObjectName
		if o.InheritMapping && mi.Read != nil {
			if ro := engine.ReadObject(mi, o.ObjectName); ro != nil && ro.MapToName != "" {
				n += " (" + ro.MapToName + ")"
			}
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return "it writes " + strings.Join(names, ", ")
}

// findWriteConfig returns the installation's write config of the provider
// object: its key, or the entry whose objectName it is.
func findWriteConfig(c runtime.ConfigContent, object string) (string, runtime.WriteConfigObject, bool) {
	if c.Write == nil {
		return "", runtime.WriteConfigObject{}, false
	}
	if o, ok := c.Write.Objects[object]; ok {
		return object, o, true
	}
	for _, k := range slices.Sorted(maps.Keys(c.Write.Objects)) {
		o := c.Write.Objects[k]
		if strings.EqualFold(k, object) || strings.EqualFold(o.ObjectName, object) {
			return k, o, true
		}
	}
	return "", runtime.WriteConfigObject{}, false
}

// findReadConfig is findWriteConfig for the read half.
func findReadConfig(c runtime.ConfigContent, object string) (string, runtime.ReadConfigObject, bool) {
	if c.Read == nil {
		return "", runtime.ReadConfigObject{}, false
	}
	if o, ok := c.Read.Objects[object]; ok {
		return object, o, true
	}
	for _, k := range slices.Sorted(maps.Keys(c.Read.Objects)) {
		o := c.Read.Objects[k]
		if strings.EqualFold(k, object) || strings.EqualFold(o.ObjectName, object) {
			return k, o, true
		}
	}
	return "", runtime.ReadConfigObject{}, false
}

// revisionCache keeps decoded revisions, which never change.
type revisionCache struct {
	mu sync.Mutex
	m  map[string]*manifest.Integration
}

// revision returns the installation's revision of the integration,
// decoded.
func (s *Service) revision(ctx context.Context, in *runtime.Installation, integ *runtime.Integration) (*manifest.Integration, error) {
	revID := in.Config.RevisionID
	if revID == "" {
		revID = integ.LatestRevisionID
	}
	if revID == "" {
		return nil, runtime.Errorf(runtime.EINVALID, "integration %s has no revision; deploy it", integ.Name)
	}
	rev, err := s.cfg.Store.GetRevision(ctx, in.ProjectID, integ.ID, revID)
	if err != nil {
		return nil, fmt.Errorf("revision %s of integration %s: %w", revID, integ.Name, err)
	}
	key := rev.ID + "\x00" + rev.Hash
	s.revs.mu.Lock()
	mi, ok := s.revs.m[key]
	s.revs.mu.Unlock()
	if ok {
		return mi, nil
	}
	mi, err = engine.DecodeIntegration(rev.Content)
	if err != nil {
		return nil, fmt.Errorf("revision %s: %w", rev.ID, err)
	}
	s.revs.mu.Lock()
	if s.revs.m == nil || len(s.revs.m) > 1000 {
		s.revs.m = map[string]*manifest.Integration{}
	}
	s.revs.m[key] = mi
	s.revs.mu.Unlock()
	return mi, nil
}

// statusOf is the HTTP status of a synchronous write's answer: 200 when
// some record was written, 422 when none was (Ampersand's single-record
// failure, and its batch failure).
func statusOf(ok int) int {
	if ok > 0 {
		return http.StatusOK
	}
	return http.StatusUnprocessableEntity
}
