// Package store opens the relational database the services keep their state in — SQLite
// (embedded default, modernc.org/sqlite) or PostgreSQL (pgx/v5 pool) — applies the versioned
// migrations of both dialects, and runs transactions with retry on serialization failures.
//
// SQL text in this project uses $1, $2 … placeholders, which both drivers accept. Timestamps are
// passed and scanned through Time, which stores a fixed-width UTC text form on SQLite (so it
// sorts and compares correctly) and timestamptz on PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL dialect of a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Limits of the connection pools and the transaction helper.
const (
	sqliteReadConns   = 8
	sqliteBusyTimeout = 10 * time.Second
	maxTxAttempts     = 10
)

// Querier is what *sql.DB and *sql.Tx have in common; repositories take one so the same code
// runs inside and outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is an open database: a writer and a reader handle (the same pool on PostgreSQL; one writer
// connection and a read-only pool on SQLite, which allows one writer at a time).
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB
	pool    *pgxpool.Pool
	schema  string
	// Prepared-statement caches of the writer and the reader (SQLite only).
	wq, rq *stmtCache
	// stopCheckpoints stops the background WAL checkpointer (SQLite files only).
	stopCheckpoints, checkpointsDone chan struct{}
	stopOnce                         sync.Once
	// replica is the PostgreSQL hot standby given WithReplica, or nil.
	replica *replica
}

// Option configures Open.
type Option func(*options)

type options struct {
	schema        string
	log           *slog.Logger
	replica       string
	replicaMaxLag time.Duration
}

// WithSchema makes a PostgreSQL connection use (and create) the given schema, so that tests can
// each have their own. It has no effect on SQLite.
func WithSchema(name string) Option { return func(o *options) { o.schema = name } }

// WithLogger gives Open a logger for its warnings, such as a SQLite database file that other
// users may read (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// The modes of what Open creates for a SQLite database file — the file, its -wal and -shm
// companions, and its directory — whatever the umask: the database holds password hashes and
// the access-token signing key.
const (
	FileMode os.FileMode = 0o600
	DirMode  os.FileMode = 0o700
)

var memSeq atomic.Int64

// Open opens the database named by dsn: "sqlite:///abs/path.db", "sqlite://rel/path.db",
// "sqlite://:memory:" or "postgres://…" (also "postgresql://…").
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		log := o.log
		if log == nil {
			log = slog.Default()
		}
		if o.replica != "" {
			return nil, fmt.Errorf("store: a read replica needs a PostgreSQL store; %s is SQLite", Redact(dsn))
		}
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"), log)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err := openPostgres(ctx, dsn, o.schema)
		if err != nil || o.replica == "" {
			return db, err
		}
		if db.replica, err = openReplica(ctx, db.write, o.replica, o.schema, o.replicaMaxLag); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	default:
		return nil, fmt.Errorf("store: unsupported DSN %q: want sqlite:///path or postgres://…", Redact(dsn))
	}
}

func openSQLite(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: sqlite DSN has no path")
	}
	// temp_store(MEMORY): a multi-row INSERT … ON CONFLICT inside a transaction keeps a statement
	// journal; on a temporary file that was a pwrite per page (70 % of the ledger writer's
	// writes, measured), in memory it is a copy.
	pragmas := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)",
		sqliteBusyTimeout.Milliseconds())
	var wdsn, rdsn string
	if path == ":memory:" {
		name := fmt.Sprintf("mem%d", memSeq.Add(1))
		wdsn = "file:" + name + "?mode=memory&cache=shared&_txlock=immediate&" + pragmas
		rdsn = "file:" + name + "?mode=memory&cache=shared&" + pragmas
	} else {
		if err := createPrivate(path); err != nil {
			return nil, err
		}
		u := "file:" + (&url.URL{Path: path}).EscapedPath()
		// Checkpoints run in the background (checkpointWAL), not in the writer's commits;
		// the writer checkpoints itself only if the WAL grows past 64 MiB regardless.
		wdsn = u + "?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(16384)&" + pragmas
		rdsn = u + "?_pragma=journal_mode(WAL)&_pragma=query_only(1)&" + pragmas
	}
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer connection creates the file and switches it to WAL before readers open it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if path != ":memory:" {
		warnIfShared(log, path)
	}
	r, err := sql.Open("sqlite", rdsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite reader: %w", err)
	}
	r.SetMaxOpenConns(sqliteReadConns)
	r.SetMaxIdleConns(sqliteReadConns)
	r.SetConnMaxIdleTime(0)
	db := newDB(SQLite, w, r, nil, "")
	if path != ":memory:" {
		db.stopCheckpoints, db.checkpointsDone = make(chan struct{}), make(chan struct{})
		go db.checkpointWAL()
	}
	return db, nil
}

// createPrivate creates the directory of a SQLite database file (DirMode) and the file itself
// (FileMode) when they do not exist, before SQLite opens it: SQLite would create the file 0644
// less the umask, and it gives the -wal and -shm files the database file's mode.
func createPrivate(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return fmt.Errorf("store: create directory for %s: %w", path, err)
		}
		// MkdirAll's mode is narrowed by the umask, never widened; set it exactly.
		if err := os.Chmod(dir, DirMode); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil // an existing database keeps its mode (warnIfShared says if it is too wide)
	case err != nil:
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		return fmt.Errorf("store: %w", err)
	}
	return f.Close()
}

// warnIfShared logs a warning for each of the database file, its -wal and -shm files and its
// directory that other users may read, write or (for the directory) enter — an installation
// from before the files were created private, or a hand-made one. It changes nothing: the
// operator may share them on purpose. Files behind a directory no one else may pass through (a
// private home directory, say) are not open to others, whatever their own modes: no warning.
func warnIfShared(log *slog.Logger, path string) {
	if closedAbove(filepath.Dir(path)) {
		return
	}
	for _, p := range []string{filepath.Dir(path), path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		want := FileMode
		if fi.IsDir() {
			want = DirMode
		}
		log.Warn("store: a database file is open to other users; it holds password hashes and the token signing key",
			"path", p, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()), "fix", fmt.Sprintf("chmod %o %s", want, p))
	}
}

// closedAbove reports whether a directory above dir (dir's parent up to the root) lets neither
// its group nor others pass through, so that nothing under it is reachable by other users.
func closedAbove(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && fi.Mode().Perm()&0o011 == 0 {
			return true
		}
		if parent := filepath.Dir(d); parent == d {
			return false
		}
	}
}

// The background checkpointer's interval: checkpointInterval while there are writes, backing off
// to checkpointIdle when there are none (an idle server does not poll 20 times a second).
const (
	checkpointInterval = 50 * time.Millisecond
	checkpointIdle     = 2 * time.Second
)

// checkpointWAL copies committed WAL frames into the database file (a PASSIVE checkpoint, which
// never blocks the writer or readers), so the copy and its fsync run beside the writer instead
// of inside whichever commit crosses SQLite's auto-checkpoint threshold. Measured on the
// ledger's batched writes: the auto-checkpoint was 5 % of the writer's time.
func (db *DB) checkpointWAL() {
	defer close(db.checkpointsDone)
	wait := checkpointInterval
	t := time.NewTimer(wait)
	defer t.Stop()
	prev := -1
	for {
		select {
		case <-db.stopCheckpoints:
			return
		case <-t.C:
			var busy, frames, done int
			err := db.read.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done)
			if err == nil && frames == prev && done == frames {
				wait = min(2*wait, checkpointIdle) // nothing written since the last one
			} else {
				wait = checkpointInterval
			}
			prev = frames
			t.Reset(wait)
		}
	}
}

func openPostgres(ctx context.Context, dsn, schema string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse postgres DSN: %w", err)
	}
	if schema != "" {
		if !validIdent(schema) {
			return nil, fmt.Errorf("store: invalid schema name %q", schema)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect postgres: %w", err)
	}
	if schema != "" {
		if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
			pool.Close()
			return nil, fmt.Errorf("store: create schema %s: %w", schema, err)
		}
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect postgres %s: %w", Redact(dsn), err)
	}
	db := stdlib.OpenDBFromPool(pool)
	return newDB(Postgres, db, db, pool, schema), nil
}

// newDB wraps the handles. On SQLite, Write and Read go through prepared-statement caches
// (parsing is most of a point query's cost there); on PostgreSQL, pgx already caches prepared
// statements per connection, so the handles are used as they are.
func newDB(d Dialect, w, r *sql.DB, pool *pgxpool.Pool, schema string) *DB {
	db := &DB{dialect: d, write: w, read: r, pool: pool, schema: schema}
	if d == SQLite {
		db.wq, db.rq = &stmtCache{db: w}, &stmtCache{db: r}
	}
	return db
}

func validIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Dialect reports which SQL dialect the database speaks.
func (db *DB) Dialect() Dialect { return db.dialect }

// Writer is the handle for statements that write (the single writer connection on SQLite).
func (db *DB) Writer() *sql.DB { return db.write }

// Reader is the handle for read-only queries (a read-only pool on SQLite).
func (db *DB) Reader() *sql.DB { return db.read }

// Write is a Querier on the writer that prepares each query text once and reuses it.
func (db *DB) Write() Querier {
	if db.wq == nil {
		return db.write
	}
	return db.wq
}

// Read is a Querier on the reader that prepares each query text once and reuses it.
func (db *DB) Read() Querier {
	if db.rq == nil {
		return db.read
	}
	return db.rq
}

// TxQuerier is a Querier for tx (begun by InTx) that reuses the writer's prepared statements.
func (db *DB) TxQuerier(tx *sql.Tx) Querier { return txQuerier{tx: tx, cache: db.wq} }

// Pool is the pgx pool on PostgreSQL and nil on SQLite, for code that needs pgx directly
// (COPY, batches).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close closes every handle. It waits for queries in flight.
func (db *DB) Close() error {
	if db.stopCheckpoints != nil {
		db.stopOnce.Do(func() { close(db.stopCheckpoints) })
		<-db.checkpointsDone
	}
	if db.wq != nil {
		db.wq.close()
		db.rq.close()
	}
	var errs []error
	if db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	if db.pool != nil {
		db.pool.Close()
	}
	if db.replica != nil {
		errs = append(errs, db.replica.close())
	}
	return errors.Join(errs...)
}

// DropSchema drops the schema the DB was opened with (WithSchema) and everything in it; tests
// call it on cleanup. It does nothing on SQLite or without a schema.
func (db *DB) DropSchema(ctx context.Context) error {
	if db.pool == nil || db.schema == "" {
		return nil
	}
	_, err := db.pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+db.schema+" CASCADE")
	return err
}

// InTx runs fn in a transaction on the writer and commits it. When the database reports a
// serialization failure or deadlock (PostgreSQL 40001/40P01) or a busy database (SQLite), the
// whole transaction is retried with backoff, up to a fixed number of attempts; fn must therefore
// have no effects outside the transaction.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTx(ctx, nil, fn)
}

// InSerializableTx is InTx at SERIALIZABLE isolation on PostgreSQL, for read-modify-write
// transactions that must not lose updates. (SQLite transactions are serializable already: there
// is one writer at a time.)
func (db *DB) InSerializableTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.dialect == Postgres {
		return db.inTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable}, fn)
	}
	return db.inTx(ctx, nil, fn)
}

func (db *DB) inTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	backoff := 2 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := db.tryTx(ctx, opts, fn)
		if err == nil || !Retryable(err) || attempt == maxTxAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

func (db *DB) tryTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.write.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Retryable reports whether err is a transient conflict after which the transaction may be
// retried as a whole.
func Retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		code := sqErr.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	return false
}

// Unreachable reports whether err is PostgreSQL being unreachable rather than a statement
// failing: no connection could be made, the server is starting up or shutting down, or it cut
// the connection (an administrator's command, a crash, a restart). The request may succeed
// when tried again once the server is back; an HTTP answer says 503, not 500.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot
		// connect now (starting up, shutting down).
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint violation on either dialect.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Redact hides the password of a DSN so it can be printed or logged.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Strings runs a query of one text column and returns its values in order.
func Strings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
