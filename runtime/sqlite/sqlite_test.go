package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampforge/amp/runtime"
	"github.com/ampforge/amp/runtime/storetest"
)

// openTest opens a store on a new file in t's temporary directory (never
// :memory:, where each pooled connection would get its own database) and
// closes it when the test ends.
func openTest(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "amp.db"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) runtime.Store { return openTest(t) })
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	for _, tc := range []struct {
		db         *sql.DB
		pool, name string
		want       string
	}{
		{s.write, "writer", "journal_mode", "wal"},
		{s.write, "writer", "foreign_keys", "1"},
		{s.write, "writer", "synchronous", "1"}, // NORMAL
		{s.write, "writer", "busy_timeout", "5000"},
		{s.write, "writer", "query_only", "0"},
		{s.write, "writer", "page_size", "16384"},
		{s.write, "writer", "cache_size", "-16384"},
		{s.read, "reader", "journal_mode", "wal"},
		{s.read, "reader", "foreign_keys", "1"},
		{s.read, "reader", "busy_timeout", "5000"},
		{s.read, "reader", "query_only", "1"},
	} {
		if got := pragma(t, tc.db, tc.name); got != tc.want {
			t.Errorf("%s: PRAGMA %s = %s, want %s", tc.pool, tc.name, got, tc.want)
		}
	}
	if n := s.write.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
	if n := s.read.Stats().MaxOpenConnections; n != DefaultReadConns {
		t.Errorf("read pool allows %d connections, want %d", n, DefaultReadConns)
	}
}

func TestWriterUsesImmediateTransactions(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := t.Context()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// An immediate transaction holds the write lock before its first write:
	// another connection cannot begin one.
	other, err := sql.Open("sqlite", dsn(s.path, map[string][]string{"_txlock": {"immediate"}, "_busy_timeout": {"0"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, "BEGIN IMMEDIATE"); err == nil || !runtime.IsRetryable(mapErr(err)) {
		t.Fatalf("BEGIN IMMEDIATE on a second connection during a writer transaction: %v, want SQLITE_BUSY", err)
	}
}

func TestReadPoolIsQueryOnly(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	_, err := s.read.ExecContext(t.Context(), `INSERT INTO projects (id, name, app_name, create_time, update_time) VALUES ('x', 'x', 'x', 0, 0)`)
	if err == nil {
		t.Fatal("a write through the read pool succeeded")
	}
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "amp.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p := &runtime.Project{Name: "default", AppName: "Default"}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	res, err := s.DeployIntegrations(ctx, p.ID, []runtime.IntegrationDeploy{{Name: "x", Provider: "salesforce", SpecVersion: "1.0.0", Content: []byte("a: 1\n")}})
	if err != nil {
		t.Fatal(err)
	}
	c := &runtime.Connection{ProjectID: p.ID, Provider: "salesforce", GroupRef: "acme", AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode,
		Status: runtime.ConnectionCreated, Tokens: []byte{0, 1, 2, 3}}
	if err := s.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing the last connection checkpoints the WAL into the main file.
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("the -wal file holds %d bytes after Close, want it checkpointed", fi.Size())
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	gotP, err := s.GetProjectByName(ctx, "default")
	if err != nil || *gotP != *p {
		t.Fatalf("project after reopen: %+v, %v; want %+v", gotP, err, p)
	}
	gotI, err := s.GetIntegrationByName(ctx, p.ID, "x")
	if err != nil || gotI.LatestRevisionID != res[0].Integration.LatestRevisionID {
		t.Fatalf("integration after reopen: %+v, %v", gotI, err)
	}
	gotC, err := s.GetConnection(ctx, p.ID, c.ID)
	if err != nil || string(gotC.Tokens) != string(c.Tokens) || gotC.TokenVersion != 1 {
		t.Fatalf("connection after reopen: %+v, %v", gotC, err)
	}
	// The same deploy is still "unchanged".
	res, err = s.DeployIntegrations(ctx, p.ID, []runtime.IntegrationDeploy{{Name: "x", Provider: "salesforce", SpecVersion: "1.0.0", Content: []byte("a: 1\n")}})
	if err != nil || res[0].Changed {
		t.Fatalf("redeploy after reopen: %+v, %v; want unchanged", res, err)
	}
}

func migrationNames(t *testing.T, s *Store) []string {
	t.Helper()
	names, err := s.appliedMigrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestMigrationsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "amp.db")
	embedded, err := migrationFS.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range embedded {
		want = append(want, e.Name())
	}
	for i := range 3 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		got := migrationNames(t, s)
		s.Close()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("open %d: migrations %v, want %v", i, got, want)
		}
	}

	// Two stores opening the same new file at once apply each migration once.
	path2 := filepath.Join(t.TempDir(), "amp.db")
	errs := make(chan error, 2)
	stores := make(chan *Store, 2)
	for range 2 {
		go func() {
			s, err := Open(ctx, path2)
			errs <- err
			stores <- s
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
		s := <-stores
		defer s.Close()
		if got := migrationNames(t, s); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("concurrent open: migrations %v, want %v", got, want)
		}
	}
}

func TestNewerDatabaseRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "amp.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO migrations (name, apply_time) VALUES ('9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open accepted a database migrated by a newer amp")
	} else if !strings.Contains(err.Error(), "9999_future.sql") {
		t.Fatalf("Open: %v, want it to name the unknown migration", err)
	}
}

func TestBusyIsRetryable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openTest(t, WithBusyTimeout(50*time.Millisecond))
	// Another process holds the write lock.
	other, err := sql.Open("sqlite", dsn(s.path, map[string][]string{"_busy_timeout": {"0"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	err = s.CreateProject(ctx, &runtime.Project{Name: "blocked", AppName: "x"})
	if err == nil {
		t.Fatal("CreateProject succeeded while another connection held the write lock")
	}
	if !runtime.IsRetryable(err) || runtime.ErrorCode(err) != runtime.EINTERNAL {
		t.Fatalf("CreateProject while locked: %v (retryable %v, code %s), want a retryable EINTERNAL", err, runtime.IsRetryable(err), runtime.ErrorCode(err))
	}
	// Reads go on meanwhile (WAL).
	if _, err := s.ListProjects(ctx); err != nil {
		t.Fatalf("ListProjects while another connection held the write lock: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(ctx, &runtime.Project{Name: "unblocked", AppName: "x"}); err != nil {
		t.Fatalf("CreateProject after the lock was released: %v", err)
	}
}

func TestContextBoundsLockWait(t *testing.T) {
	t.Parallel()
	s := openTest(t) // 5 s busy timeout
	other, err := sql.Open("sqlite", dsn(s.path, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.CreateProject(ctx, &runtime.Project{Name: "blocked", AppName: "x"}); err == nil {
		t.Fatal("CreateProject succeeded while another connection held the write lock")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("CreateProject waited %v for the lock, beyond its context's 100ms", d)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, path := range []string{"", ":memory:", "file:amp.db", filepath.Join(dir, "missing", "amp.db")} {
		if s, err := Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestOpenPathWithURIMetacharacters(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "amp.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.CreateProject(t.Context(), &runtime.Project{Name: "p", AppName: "P"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at %s: %v", path, err)
	}
}

func TestWithNow(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 678912345, time.UTC)
	s := openTest(t, WithNow(func() time.Time { return fixed }))
	p := &runtime.Project{Name: "p", AppName: "P"}
	if err := s.CreateProject(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if want := runtime.Millis(fixed); !p.CreateTime.Equal(want) {
		t.Fatalf("CreateTime = %v, want %v", p.CreateTime, want)
	}
}

// TestSecretsStoredAsGiven checks the columns hold the caller's sealed bytes
// as BLOBs, untouched.
func TestSecretsStoredAsGiven(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openTest(t)
	p := &runtime.Project{Name: "p", AppName: "P"}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	sealed := []byte{0x01, 0xde, 0xad, 0x00, 0xbe, 0xef}
	c := &runtime.Connection{ProjectID: p.ID, Provider: "hubspot", GroupRef: "g", AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode,
		Status: runtime.ConnectionCreated, Tokens: sealed}
	if err := s.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	var typ string
	var raw []byte
	if err := s.read.QueryRowContext(ctx, `SELECT typeof(tokens), tokens FROM connections WHERE id = ?`, c.ID).Scan(&typ, &raw); err != nil {
		t.Fatal(err)
	}
	if typ != "blob" || string(raw) != string(sealed) {
		t.Fatalf("tokens column: %s %x, want blob %x", typ, raw, sealed)
	}
}

func BenchmarkCreateInstallation(b *testing.B) {
	ctx := b.Context()
	s := openTest(b)
	p := &runtime.Project{Name: "bench", AppName: "Bench"}
	if err := s.CreateProject(ctx, p); err != nil {
		b.Fatal(err)
	}
	res, err := s.DeployIntegrations(ctx, p.ID, []runtime.IntegrationDeploy{{Name: "x", Provider: "salesforce", SpecVersion: "1.0.0", Content: []byte("a: 1\n")}})
	if err != nil {
		b.Fatal(err)
	}
	integ := res[0].Integration
	content := runtime.ConfigContent{Provider: "salesforce", Read: &runtime.ReadConfig{Objects: map[string]runtime.ReadConfigObject{
		"account": {ObjectName: "account", SelectedFields: map[string]bool{"phone": true}, SelectedFieldMappings: map[string]string{"country": "billingcountry"}},
	}}}
	conns := make([]*runtime.Connection, b.N)
	for i := range b.N {
		c := &runtime.Connection{ProjectID: p.ID, Provider: "salesforce", GroupRef: fmt.Sprintf("g%d", i),
			AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode, Status: runtime.ConnectionCreated, Tokens: []byte("t")}
		if err := s.CreateConnection(ctx, c); err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	b.ResetTimer()
	for i := range b.N {
		in := &runtime.Installation{ProjectID: p.ID, IntegrationID: integ.ID, GroupRef: conns[i].GroupRef, ConnectionID: conns[i].ID,
			Config: runtime.InstallationConfig{Content: content}}
		if err := s.CreateInstallation(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateInstallationParallel(b *testing.B) {
	ctx := b.Context()
	s := openTest(b)
	p := &runtime.Project{Name: "bench", AppName: "Bench"}
	if err := s.CreateProject(ctx, p); err != nil {
		b.Fatal(err)
	}
	res, err := s.DeployIntegrations(ctx, p.ID, []runtime.IntegrationDeploy{{Name: "x", Provider: "salesforce", SpecVersion: "1.0.0", Content: []byte("a: 1\n")}})
	if err != nil {
		b.Fatal(err)
	}
	integ := res[0].Integration
	content := runtime.ConfigContent{Provider: "salesforce"}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g := fmt.Sprintf("g%d", n.Add(1))
			c := &runtime.Connection{ProjectID: p.ID, Provider: "salesforce", GroupRef: g,
				AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode, Status: runtime.ConnectionCreated, Tokens: []byte("t")}
			if err := s.CreateConnection(ctx, c); err != nil {
				b.Error(err)
				return
			}
			in := &runtime.Installation{ProjectID: p.ID, IntegrationID: integ.ID, GroupRef: g, ConnectionID: c.ID,
				Config: runtime.InstallationConfig{Content: content}}
			if err := s.CreateInstallation(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkFindGroupConnection looks up one group's connection among 10,000
// of the project's, as the OAuth flow does before creating one: it must not
// grow with the number of connections.
func BenchmarkFindGroupConnection(b *testing.B) {
	ctx := b.Context()
	s := openTest(b)
	p := &runtime.Project{Name: "bench", AppName: "Bench"}
	if err := s.CreateProject(ctx, p); err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	for i := range n {
		c := &runtime.Connection{ProjectID: p.ID, Provider: "salesforce", GroupRef: fmt.Sprintf("g%d", i),
			AuthScheme: runtime.AuthSchemeOAuth2AuthorizationCode, Status: runtime.ConnectionCreated, Tokens: []byte("t")}
		if err := s.CreateConnection(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; b.Loop(); i++ { // b.Loop times only the loop
		cs, err := s.ListConnections(ctx, p.ID, runtime.ConnectionFilter{Provider: "salesforce", GroupRef: fmt.Sprintf("g%d", i%n)})
		if err != nil || len(cs) != 1 {
			b.Fatalf("%d connections, %v", len(cs), err)
		}
	}
}
