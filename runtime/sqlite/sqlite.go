package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ampforge/amp/runtime"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Default settings; see Open.
const (
	// DefaultBusyTimeout is how long a connection waits for another
	// connection's lock before failing with SQLITE_BUSY.
	DefaultBusyTimeout = 5 * time.Second
	// DefaultReadConns is the size of the read pool.
	DefaultReadConns = 4
)

// Page and cache sizes of the writer; see Open.
const (
	pageSize       = 16 << 10
	writerCacheKiB = 16 << 10
)

// Store is a runtime.Store on one SQLite file. Its methods are safe for
// concurrent use.
type Store struct {
	path  string
	write *sql.DB // one connection: every write transaction
	read  *sql.DB // a few query_only connections: every read outside a write
	now   func() time.Time
}

// An Option changes a setting of Open.
type Option func(*options)

type options struct {
	now         func() time.Time
	busyTimeout time.Duration
	readConns   int
}

// WithNow sets the clock the store reads for CreateTime and UpdateTime
// (default time.Now). Tests use it for deterministic times.
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithBusyTimeout sets how long a connection waits for a lock held by another
// connection (another process on the same file, or a checkpoint) before the
// call fails with a retryable error (default DefaultBusyTimeout).
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithReadConns sets the size of the read pool (default DefaultReadConns).
func WithReadConns(n int) Option { return func(o *options) { o.readConns = n } }

// Open opens (creating it if needed) the SQLite database at path, applies the
// embedded migrations that it lacks, and returns the Store. The directory
// must exist. Close the store when done.
//
// # Why two pools, and why these DSN settings
//
// SQLite allows one writer at a time per file. WAL mode lets readers run
// alongside that writer, each on a snapshot, but does not make two writers
// possible. The store therefore keeps:
//
//   - a writer pool of exactly one connection (SetMaxOpenConns(1)). Every
//     write transaction goes through it, so writers in this process queue in
//     database/sql's pool, in Go, honouring each call's context, instead of
//     colliding inside SQLite. This is what River's SQLite tests do, and what
//     the project's dependency notes (DEPS.md, "concurrent writers")
//     measured with this driver: with 8 pooled writer connections and
//     deferred transactions, 3135 of 3200 read-then-write transactions failed
//     with SQLITE_BUSY, because a transaction that started as a reader and
//     then writes gets BUSY at once when another connection wrote since its
//     snapshot: SQLite cannot wait it out (the busy handler is not called),
//     since waiting would not make the snapshot fresh again.
//   - a read pool of a few connections (DefaultReadConns) for Get and List
//     calls, so reads never wait behind a write transaction, and a slow read
//     never delays a write.
//
// Writer DSN, key by key:
//
//   - _txlock=immediate: BEGIN IMMEDIATE takes the write lock when the
//     transaction starts, not at its first write. A transaction that reads
//     then writes (check a hash, then insert a revision) can then never hit
//     the snapshot-upgrade BUSY above, even if a second process opens the
//     same file, and lock waits happen up front, where busy_timeout applies.
//   - _busy_timeout=5000: when another connection holds the lock (another
//     process, the sqlite3 shell, a WAL checkpoint), wait up to 5 s before
//     failing with SQLITE_BUSY. modernc.org/sqlite's busy handler stops
//     early when the call's context is done. A BUSY that still escapes is
//     reported as retryable (runtime.IsRetryable).
//   - _journal_mode=WAL: readers do not block the writer and the writer does
//     not block readers; commits append to the -wal file. The mode is
//     persistent in the file, so setting it once is enough, but it is cheap
//     to assert on every connection. The switch of a new file to WAL takes
//     its lock without the busy handler, so Open retries that first connect
//     (pingRetryBusy).
//   - _foreign_keys=1: SQLite does not enforce foreign keys unless each
//     connection asks. The schema relies on them: composite keys on
//     (project_id, id) keep every reference inside one project.
//   - _synchronous=NORMAL: in WAL mode a commit is durable against a crash
//     of the process and, apart from the last transactions before a power
//     loss, of the machine, while fsync happens only at checkpoints. FULL
//     would fsync on every commit for little gain in our use (tokens can be
//     refreshed again, a deploy repeated).
//   - _pragma=page_size = 16384: the outbox moves webhook bodies of up to a
//     few hundred kilobytes through the file (a backfill of a million
//     records, about 1 GB), written once, read once and deleted. SQLite
//     stores a body as a chain of overflow pages, and each page costs a WAL
//     frame (two write calls, a checksum) on commit and again at the
//     checkpoint; 16 KiB pages need a quarter of the 4 KiB default's.
//     BenchmarkCommitPage (commit, claim, ack of 7 x 280 KB) measured about
//     2.2 times the throughput, and BenchmarkCommitPageSmall (300 x 4 KB)
//     1.3 times. The page size only applies when the file is created (it
//     runs before the switch to WAL); an older file keeps its page size.
//   - _pragma=cache_size = -16384: a 16 MiB page cache for the writer
//     (the default is 2 MiB), so that a page's bodies are still cached when
//     delivery claims them moments later on the same connection, and the
//     pages freed by acknowledged messages are reused without reading them
//     back. Readers keep the default.
//
// Reader DSN: _busy_timeout (a reader can briefly wait while a WAL file is
// recovered or reset) and _query_only=1, so a write sent to the read pool by
// mistake fails loudly instead of racing the single writer. It keeps the
// default deferred transactions: BEGIN IMMEDIATE would take the write lock
// and queue readers behind the writer. Readers see every transaction the
// writer has committed before the read starts, so a read after a write
// returns sees it.
//
// Times are stored as unix milliseconds in INTEGER columns, never as
// time.Time values: the driver would write those with t.String(), which can
// carry the monotonic clock reading and compares badly as text.
//
// The path goes into a file: URI (percent-encoded), so names with '?', '#'
// or '%' work; the driver reads its underscore keys from the URI's query and
// SQLite ignores them.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, busyTimeout: DefaultBusyTimeout, readConns: DefaultReadConns}
	for _, opt := range opts {
		opt(&o)
	}
	if o.readConns < 1 {
		o.readConns = 1
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// :memory: gives every pooled connection its own empty database.
		return nil, fmt.Errorf("sqlite: open: %q is not a file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if fi, err := os.Stat(filepath.Dir(abs)); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("sqlite: open %s: %s is not a directory", path, filepath.Dir(abs))
	}

	busy := strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)
	writeDSN := dsn(abs, url.Values{
		"_txlock":       {"immediate"},
		"_busy_timeout": {busy},
		"_journal_mode": {"WAL"},
		"_foreign_keys": {"1"},
		"_synchronous":  {"NORMAL"},
		"_pragma":       {"page_size = " + strconv.Itoa(pageSize), "cache_size = " + strconv.Itoa(-writerCacheKiB)},
	})
	readDSN := dsn(abs, url.Values{
		"_busy_timeout": {busy},
		"_foreign_keys": {"1"},
		"_query_only":   {"1"},
	})

	s := &Store{path: abs, now: o.now}
	// The writer opens first: it creates the file, switches it to WAL and
	// migrates it before any reader looks at the schema.
	if s.write, err = sql.Open("sqlite", writeDSN); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	s.write.SetConnMaxIdleTime(0)
	if err := pingRetryBusy(ctx, s.write, o.busyTimeout); err != nil {
		s.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if s.read, err = sql.Open("sqlite", readDSN); err != nil {
		s.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.read.SetMaxOpenConns(o.readConns)
	s.read.SetMaxIdleConns(o.readConns)
	if err := s.read.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, mapErr(err))
	}
	return s, nil
}

// pingRetryBusy connects db, retrying while SQLite answers SQLITE_BUSY, for
// up to timeout. Switching a new file from the rollback journal to WAL (the
// writer's _journal_mode) needs an exclusive lock that SQLite takes without
// calling the busy handler, so two processes opening the same new file at
// the same moment can get BUSY at once. It happens once per file: WAL mode
// is then recorded in the file.
func pingRetryBusy(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	delay := 2 * time.Millisecond
	for {
		err := mapErr(db.PingContext(ctx))
		if err == nil || !runtime.IsRetryable(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// dsn returns a file: URI for the absolute path with the query.
func dsn(abs string, q url.Values) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter: file:///C:/...
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close closes the read pool, then the writer. Closing the last connection
// checkpoints the WAL into the database file.
func (s *Store) Close() error {
	var errs []error
	if s.read != nil {
		if err := s.read.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close read pool: %w", err))
		}
	}
	if s.write != nil {
		if err := s.write.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close writer: %w", err))
		}
	}
	return errors.Join(errs...)
}

// migrate applies, in name order, each embedded migration that the
// migrations table does not list, each in its own transaction together with
// its row in the table. Re-opening a migrated file applies nothing. A file
// migrated by a newer amp (it lists a migration this binary lacks) is
// refused, because this binary does not know the newer schema.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		name       TEXT PRIMARY KEY,
		apply_time INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("create migrations table: %w", mapErr(err))
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)
	known := make(map[string]bool, len(names))
	for _, n := range names {
		known[filepath.Base(n)] = true
	}

	applied, err := s.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	for _, name := range applied {
		if !known[name] {
			return fmt.Errorf("the database has migration %s, which this amp does not know: it was written by a newer amp", name)
		}
	}

	for _, n := range names {
		name := filepath.Base(n)
		body, err := migrationFS.ReadFile(n)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", name, err)
		}
		err = s.writeTx(ctx, func(tx *sql.Tx) error {
			// Checked inside the immediate transaction: two processes
			// opening the same new file apply each migration once.
			var one int
			switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM migrations WHERE name = ?`, name).Scan(&one); {
			case err == nil:
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, apply_time) VALUES (?, ?)`, name, s.now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) appliedMigrations(ctx context.Context) ([]string, error) {
	rows, err := s.write.QueryContext(ctx, `SELECT name FROM migrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read migrations table: %w", mapErr(err))
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("read migrations table: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read migrations table: %w", err)
	}
	return names, nil
}

// writeTx runs fn in a transaction on the writer connection (BEGIN
// IMMEDIATE) and commits it when fn returns nil. fn must use tx for every
// query: the writer has one connection, so a query on s.write or a second
// transaction inside fn would wait for itself. Errors are returned as fn
// gave them, or mapped by mapErr for Begin and Commit.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return mapErr(err)
	}
	return nil
}

// nowMillis returns the store's clock at millisecond precision, in UTC.
func (s *Store) nowMillis() time.Time { return runtime.Millis(s.now()) }

// busyError marks an SQLITE_BUSY or SQLITE_LOCKED failure as retryable
// (runtime.IsRetryable).
type busyError struct{ err error }

func (e *busyError) Error() string   { return e.err.Error() + " (database busy; retryable)" }
func (e *busyError) Unwrap() error   { return e.err }
func (e *busyError) Retryable() bool { return true }

// sqliteCode returns the SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var se *sqlitedrv.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// mapErr turns driver errors the caller can act on into runtime errors:
// sql.ErrNoRows is left to the callers (they know what was not found),
// SQLITE_BUSY and SQLITE_LOCKED become retryable, a foreign key violation
// becomes ECONFLICT. Unique violations are mapped by each caller, which
// knows which name was taken.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var re *runtime.Error
	if errors.As(err, &re) {
		return err
	}
	switch c := sqliteCode(err); {
	case c&0xff == sqlite3.SQLITE_BUSY, c&0xff == sqlite3.SQLITE_LOCKED:
		return &busyError{err: err}
	case c == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", runtime.Errorf(runtime.ECONFLICT, "the change would break a reference between rows"), err)
	}
	return err
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// checkProject returns ENOTFOUND unless the project exists.
func checkProject(ctx context.Context, q querier, projectID string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM projects WHERE id = ?`, projectID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return runtime.Errorf(runtime.ENOTFOUND, "project %q not found", projectID)
	}
	return mapErr(err)
}

// idOrNew returns id, or a new ID when id is empty.
func idOrNew(id string) string {
	if id == "" {
		return runtime.NewID()
	}
	return id
}

// affectedOne returns an ENOTFOUND error built by notFound when res changed
// no row.
func affectedOne(res sql.Result, notFound func() error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound()
	}
	return nil
}

// queryList runs a query on q and scans each row with scan.
func queryList[T any](ctx context.Context, q querier, scan func(scanner) (*T, error), query string, args ...any) ([]*T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// Values stored in columns.

// millis returns t as unix milliseconds, or nil for the zero time.
func millis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// fromMillis turns a nullable unix-millisecond column into a UTC time.
func fromMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64).UTC()
}

// blob returns b for a BLOB column: nil (NULL) when empty.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// jsonText encodes v for a TEXT column.
func jsonText(v any) (string, error) {
	b, err := marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
