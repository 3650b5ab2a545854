// Package introspect reads a customer's schema through their connection:
// the objects they have, each object's fields (custom ones included), a
// revision hydrated with those fields for the installation UI, and a
// one-record sample read that tells whether the customer's user may read
// the fields an installation selects.
//
// It builds provider connectors from the registry and knows no provider by
// name: the base URL comes from Config.BaseURLs, else from the connection's
// provider metadata (instance_url for Salesforce, orgURL for Dynamics) when
// the provider accepts its host (providers.OAuthProvider.CheckBaseURL: https
// on its own API domains), else the connector's default (HubSpot's API
// host).
package introspect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ampforge/amp/providers"
	"github.com/ampforge/amp/runtime"
)

// Defaults of the describe cache.
const (
	DefaultCacheTTL  = 5 * time.Minute
	DefaultCacheSize = 1000
)

// baseURLKeys are the provider metadata keys that name a connection's API
// base, in order of preference: Salesforce's instance_url (TokenMetadata),
// Dynamics' organisation URL (dynamics.MetaOrgURL).
var baseURLKeys = []string{"instance_url", "orgURL"}

// ClientSource gives an HTTP client that authenticates as a connection.
// *oauth.Service implements it.
type ClientSource interface {
	Client(ctx context.Context, projectID, connectionID string, base *http.Client) (*http.Client, error)
}

// Config is what a Service is built with.
type Config struct {
	Store   runtime.Store
	Clients ClientSource
	// Registry is the provider catalog (nil: providers.Default); a
	// provider must implement providers.ConnectorProvider.
	Registry *providers.Registry
	// BaseURLs overrides a provider's API base URL, keyed by catalog name:
	// for the fakes. Empty for real providers.
	BaseURLs map[string]string
	// HTTPClient is the base client under the connection's credentials
	// (nil: http.DefaultClient).
	HTTPClient *http.Client
	// CacheTTL is how long an object description is reused (zero:
	// DefaultCacheTTL; negative: no cache). CacheSize bounds the entries
	// (zero: DefaultCacheSize).
	CacheTTL  time.Duration
	CacheSize int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Service introspects connections. It is safe for concurrent use.
type Service struct {
	cfg   Config
	mu    sync.Mutex
	cache map[string]cacheEntry
}

type cacheEntry struct {
	meta    *providers.ObjectMetadata
	expires time.Time
}

// New returns a Service. Config.Store and Config.Clients are required.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Clients == nil {
		return nil, errors.New("introspect: Config.Store and Config.Clients are required")
	}
	if cfg.Registry == nil {
		cfg.Registry = providers.Default
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, cache: map[string]cacheEntry{}}, nil
}

// Connection returns the project's connection; ENOTFOUND for a connection
// of another project, like a missing one.
func (s *Service) Connection(ctx context.Context, projectID, connectionID string) (*runtime.Connection, error) {
	if connectionID == "" {
		return nil, runtime.Errorf(runtime.EINVALID, "connectionId is required")
	}
	c, err := s.cfg.Store.GetConnection(ctx, projectID, connectionID)
	if runtime.ErrorCode(err) == runtime.ENOTFOUND || (err == nil && c.ProjectID != projectID) {
		return nil, runtime.Errorf(runtime.ENOTFOUND, "connection %q not found", connectionID)
	}
	return c, err
}

// Connector builds the provider connector of a connection, authenticated
// as the connection.
func (s *Service) Connector(ctx context.Context, conn *runtime.Connection) (providers.Connector, error) {
	return s.ConnectorWithQuota(ctx, conn, nil)
}

// ConnectorWithQuota is Connector with onQuota receiving the provider's
// rate-limit readings (providers.Config.OnQuota): the engine paces each
// connection with them.
func (s *Service) ConnectorWithQuota(ctx context.Context, conn *runtime.Connection, onQuota func(providers.Quota)) (providers.Connector, error) {
	p, ok := s.cfg.Registry.Lookup(conn.Provider)
	if !ok {
		return nil, runtime.Errorf(runtime.EINVALID, "provider %q is not in this build's catalog", conn.Provider)
	}
	cp, ok := p.(providers.ConnectorProvider)
	if !ok {
		return nil, runtime.Errorf(runtime.EINVALID, "provider %q has no connector", conn.Provider)
	}
	client, err := s.cfg.Clients.Client(ctx, conn.ProjectID, conn.ID, s.cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	meta := make(map[string]string, len(conn.ProviderMetadata))
	for k, v := range conn.ProviderMetadata {
		meta[k] = v.Value
	}
	base := s.cfg.BaseURLs[conn.Provider]
	if base == "" {
		for _, k := range baseURLKeys {
			if base = meta[k]; base != "" {
				break
			}
		}
		if base != "" {
			// The connection's token is sent there: only the provider's own
			// API hosts (Config.BaseURLs is the way to a fake).
			op, ok := p.(providers.OAuthProvider)
			if !ok {
				return nil, runtime.Errorf(runtime.EINVALID, "provider %q cannot vouch for the connection's API base URL %q", conn.Provider, base)
			}
			if err := op.CheckBaseURL(base); err != nil {
				return nil, runtime.Errorf(runtime.EINVALID, "connection %s: refusing its API base URL: %v", conn.ID, err)
			}
		}
	}
	return cp.NewConnector(providers.Config{HTTPClient: client, BaseURL: base, Metadata: meta, OnQuota: onQuota})
}

func (s *Service) metadataReader(ctx context.Context, conn *runtime.Connection) (providers.MetadataReader, error) {
	c, err := s.Connector(ctx, conn)
	if err != nil {
		return nil, err
	}
	mr, ok := c.(providers.MetadataReader)
	if !ok {
		return nil, runtime.Errorf(runtime.EINVALID, "provider %q cannot describe objects", conn.Provider)
	}
	return mr, nil
}

// ListObjects returns every object the connection can see.
func (s *Service) ListObjects(ctx context.Context, conn *runtime.Connection) ([]providers.ObjectInfo, error) {
	mr, err := s.metadataReader(ctx, conn)
	if err != nil {
		return nil, err
	}
	return mr.ListObjects(ctx)
}

// DescribeObject returns an object's fields in the connection's CRM. A
// description is reused for Config.CacheTTL; an unknown object is a
// providers.KindNotFound error. Callers must not modify the result.
func (s *Service) DescribeObject(ctx context.Context, conn *runtime.Connection, object string) (*providers.ObjectMetadata, error) {
	key := conn.ProjectID + "\x00" + conn.ID + "\x00" + strings.ToLower(object)
	if m := s.cached(key); m != nil {
		return m, nil
	}
	mr, err := s.metadataReader(ctx, conn)
	if err != nil {
		return nil, err
	}
	m, err := mr.DescribeObject(ctx, object)
	if err != nil {
		return nil, err
	}
	s.store(key, m)
	return m, nil
}

func (s *Service) cached(key string) *providers.ObjectMetadata {
	if s.cfg.CacheTTL < 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cache[key]
	if !ok {
		return nil
	}
	if !s.cfg.Now().Before(e.expires) {
		delete(s.cache, key)
		return nil
	}
	return e.meta
}

func (s *Service) store(key string, m *providers.ObjectMetadata) {
	if s.cfg.CacheTTL < 0 {
		return
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cache[key]; !ok && len(s.cache) >= s.cfg.CacheSize {
		// Drop the expired entries; when none is, the one closest to expiry.
		var oldest string
		var oldestAt time.Time
		for k, e := range s.cache {
			if !now.Before(e.expires) {
				delete(s.cache, k)
				continue
			}
			if oldest == "" || e.expires.Before(oldestAt) {
				oldest, oldestAt = k, e.expires
			}
		}
		if len(s.cache) >= s.cfg.CacheSize {
			delete(s.cache, oldest)
		}
	}
	s.cache[key] = cacheEntry{meta: m, expires: now.Add(s.cfg.CacheTTL)}
}

// SampleError is a provider's refusal of a sample read: the customer's
// user may not read the object or one of the fields.
type SampleError struct {
	Object string
	Fields []string
	// Message is the provider's own message.
	Message string
	Err     error
}

func (e *SampleError) Error() string {
	return fmt.Sprintf("reading a sample of %s failed: %s", e.Object, e.Message)
}

func (e *SampleError) Unwrap() error { return e.Err }

// SampleRead reads at most one record of object with fields, as an
// installation's scheduled read would. It returns nil when the object has
// no record. A provider refusal (an unknown or hidden field or object, a
// missing permission) is a *SampleError with the provider's message;
// transient failures (rate limits, outages, expired credentials) are
// returned as they are, so a caller does not blame the customer for them.
func (s *Service) SampleRead(ctx context.Context, conn *runtime.Connection, object string, fields []string) (*providers.Record, error) {
	c, err := s.Connector(ctx, conn)
	if err != nil {
		return nil, err
	}
	rd, ok := c.(providers.Reader)
	if !ok {
		return nil, runtime.Errorf(runtime.EINVALID, "provider %q cannot read records", conn.Provider)
	}
	page, err := rd.Read(ctx, providers.ReadRequest{Object: object, Fields: fields, PageSize: 1})
	if err != nil {
		switch providers.KindOf(err) {
		case providers.KindInvalid, providers.KindForbidden, providers.KindNotFound:
			msg := err.Error()
			var pe *providers.Error
			if errors.As(err, &pe) && pe.Message != "" {
				msg = pe.Message
			}
			return nil, &SampleError{Object: object, Fields: fields, Message: msg, Err: err}
		}
		return nil, err
	}
	if len(page.Records) == 0 {
		return nil, nil
	}
	return &page.Records[0], nil
}
