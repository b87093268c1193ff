package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// Read replicas (PostgreSQL streaming replication).
//
// A DB opened WithReplica sends the queries that ask for Replica — lists, histories, the change
// feed the discovery index follows — to a hot standby, and everything else to the primary. Two
// rules keep answers right:
//
//   - The standby is used only while it is at most MaxLag behind the primary (measured every
//     ReplicaProbeInterval); a standby that falls behind, or cannot be reached, is bypassed until
//     it catches up.
//   - A caller that has just written reads from the primary: code that knows (an HTTP middleware)
//     marks the context with ReadPrimary for ReadYourWritesWindow after the caller's last write,
//     which is longer than the lag the standby is allowed plus one probe interval, so by the
//     time a caller's reads may go to the standby again, the standby has replayed the write.

// Replica defaults.
const (
	// DefaultReplicaMaxLag is the replay lag above which the standby is bypassed.
	DefaultReplicaMaxLag = 2 * time.Second
	// ReplicaProbeInterval is how often the standby's lag is measured.
	ReplicaProbeInterval = 500 * time.Millisecond
)

// ReadYourWritesWindow is how long after a caller's write its reads must go to the primary for
// a standby allowed maxLag of replay lag: the lag, one probe interval, and a second of slack for
// clocks and scheduling.
func ReadYourWritesWindow(maxLag time.Duration) time.Duration {
	return maxLag + ReplicaProbeInterval + time.Second
}

// WithReplica gives Open the DSN of a PostgreSQL hot standby of the primary, and the replay lag
// above which it is bypassed (0: DefaultReplicaMaxLag). Only PostgreSQL stores take a replica.
func WithReplica(dsn string, maxLag time.Duration) Option {
	return func(o *options) { o.replica, o.replicaMaxLag = dsn, maxLag }
}

type primaryKey struct{}

// ReadPrimary marks ctx so that Replica reads go to the primary (the caller has just written).
func ReadPrimary(ctx context.Context) context.Context {
	return context.WithValue(ctx, primaryKey{}, true)
}

// ReadsPrimary reports whether ctx was marked by ReadPrimary.
func ReadsPrimary(ctx context.Context) bool {
	v, _ := ctx.Value(primaryKey{}).(bool)
	return v
}

// replica is the standby handle and what the last probe found.
type replica struct {
	primary *sql.DB
	// history holds the primary's recent WAL positions (only the probing goroutine touches it).
	history []lsnAt
	db      *sql.DB
	pool    *pgxpool.Pool
	maxLag  time.Duration
	// lag is the last measured replay lag in nanoseconds; healthy whether it was at most maxLag
	// and the standby answered.
	lag     atomic.Int64
	healthy atomic.Bool
	reads   atomic.Int64
	// watching is set before the probing goroutine starts; done closes when it returns.
	watching bool
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// The standby's staleness is measured against the primary's WAL position, not against the
// time of the last replayed transaction (an idle primary writes nothing, so that time ages while
// the standby is fully caught up): each probe reads the primary's current WAL position and keeps
// it with the time it was read; the standby's staleness is how long ago the newest position it
// has replayed was the primary's. Every write committed before that moment is on the standby.
const (
	primaryLSNQuery = `SELECT pg_current_wal_lsn()::text`
	// standbyLSNQuery fails its scan (NULL) on a server that is not in recovery, so a DSN naming
	// a primary by mistake is reported, not silently used.
	standbyLSNQuery = `SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END`
	// lsnHistory bounds the remembered primary positions (at one a probe).
	lsnHistory = 64
)

type lsnAt struct {
	lsn uint64
	at  time.Time
}

func openReplica(ctx context.Context, primary *sql.DB, dsn, schema string, maxLag time.Duration) (*replica, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse replica DSN: %w", err)
	}
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect replica: %w", err)
	}
	if maxLag <= 0 {
		maxLag = DefaultReplicaMaxLag
	}
	r := &replica{primary: primary, db: stdlib.OpenDBFromPool(pool), pool: pool, maxLag: maxLag,
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := r.probe(ctx); err != nil {
		r.close()
		return nil, fmt.Errorf("store: replica %s: %w", Redact(dsn), err)
	}
	r.watching = true
	go r.watch()
	return r, nil
}

// parseLSN reads a pg_lsn's text form, "X/Y" in hexadecimal.
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("malformed WAL position %q", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed WAL position %q", s)
	}
	return h<<32 | l, nil
}

// probe measures the standby's staleness once and records whether it may serve reads.
func (r *replica) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := r.measure(ctx)
	if err != nil {
		r.healthy.Store(false)
	}
	return err
}

func (r *replica) measure(ctx context.Context) error {
	var ptext string
	now := time.Now()
	if err := r.primary.QueryRowContext(ctx, primaryLSNQuery).Scan(&ptext); err != nil {
		return fmt.Errorf("read the primary's WAL position: %w", err)
	}
	plsn, err := parseLSN(ptext)
	if err != nil {
		return err
	}
	r.history = append(r.history, lsnAt{plsn, now})
	if len(r.history) > lsnHistory {
		r.history = r.history[len(r.history)-lsnHistory:]
	}
	var stext sql.NullString
	if err := r.db.QueryRowContext(ctx, standbyLSNQuery).Scan(&stext); err != nil {
		return err
	}
	if !stext.Valid {
		return fmt.Errorf("the server is not a standby (pg_is_in_recovery() is false)")
	}
	slsn, err := parseLSN(stext.String)
	if err != nil {
		return err
	}
	// The newest primary position the standby has replayed; its age is the staleness.
	lag := time.Since(r.history[0].at)
	for i := len(r.history) - 1; i >= 0; i-- {
		if r.history[i].lsn <= slsn {
			lag = time.Since(r.history[i].at)
			break
		}
	}
	r.lag.Store(int64(lag))
	r.healthy.Store(lag <= r.maxLag)
	return nil
}

func (r *replica) watch() {
	defer close(r.done)
	t := time.NewTicker(ReplicaProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			_ = r.probe(context.Background())
		}
	}
}

func (r *replica) close() error {
	r.once.Do(func() { close(r.stop) })
	if r.watching {
		<-r.done
	}
	err := r.db.Close()
	r.pool.Close()
	return err
}

// ReplicaStatus is what the last probe of the standby found.
type ReplicaStatus struct {
	// Configured is false when the DB has no replica (the other fields are then zero).
	Configured bool
	// Healthy is whether reads go to the standby (it answered and its lag is within MaxLag).
	Healthy bool
	Lag     time.Duration
	MaxLag  time.Duration
	// Reads counts the queries sent to the standby.
	Reads int64
}

// ReplicaStatus reports the standby's state, for readiness checks and metrics.
func (db *DB) ReplicaStatus() ReplicaStatus {
	r := db.replica
	if r == nil {
		return ReplicaStatus{}
	}
	return ReplicaStatus{Configured: true, Healthy: r.healthy.Load(), Lag: time.Duration(r.lag.Load()), MaxLag: r.maxLag, Reads: r.reads.Load()}
}

// Replica is a Querier for read-only queries that may be served by the standby: the standby
// when one is configured, healthy, and ctx is not marked ReadPrimary; otherwise the same as Read.
// Use it for reads whose callers tolerate the standby's bounded lag (lists, histories, feeds),
// never inside a read-modify-write.
func (db *DB) Replica(ctx context.Context) Querier {
	r := db.replica
	if r == nil || !r.healthy.Load() || ReadsPrimary(ctx) {
		return db.Read()
	}
	r.reads.Add(1)
	return r.db
}
