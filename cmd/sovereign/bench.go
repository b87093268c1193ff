package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/hotcache"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

func newBench() *cobra.Command {
	c := &cobra.Command{Use: "bench", Short: "Whole-system load benchmarks"}
	var (
		o        benchLedgerOptions
		overHTTP bool
	)
	ledger := &cobra.Command{
		Use:   "ledger",
		Short: "Load the ledger with transfers and verify it afterwards",
		Long: `bench ledger opens the ledger on --store (default: a fresh SQLite file in a temporary
directory), creates and funds --accounts wallets, then --clients goroutines submit --transfers
transfers in linked batches of --batch (1 = single transfers), between random accounts or among
the first --hot accounts only. Transfer ids are "bench-RUN-COUNTER" with a zero-padded counter,
so they arrive in about the order they sort in; --random-ids makes them random 128-bit hex
instead, to measure what random client ids cost the idempotency index.

With --replicas R the ledger runs in R processes on the one store: this one and R−1 children of
this binary, each with its own connection pool and its own ledger writer, taking turns through
the event log's head lock. The accounts are set up first, by this process; the clients are then
split among the processes, each runs its share, and the clock starts once every process is set
up (so opening connections is not timed) and stops when the last share is done. Children report
their figures to this process, which merges them.

With --auditor the auditor's consumer follows the ledger's log in this process while the load
runs, as the server runs it (a step every 250 ms, each reading until caught up); at the end it
prints how far behind the auditor was when the load stopped (events, and seconds since the
oldest event it had not audited was applied), how long it took to catch up, and the flags it
raised.

It runs teg verify at the end and prints, last:
transfers/s=… p50_ms=… p99_ms=… refused=… verified=true (latencies are per submitted batch).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			dsn, cleanup, err := benchDSN(o.dsn)
			if err != nil {
				return err
			}
			defer cleanup()
			if overHTTP {
				return benchLedgerHTTP(ctx, cmd.OutOrStdout(), dsn, o)
			}
			if o.batch < 1 || o.batch > teg.MaxBatch || o.clients < 1 || o.accounts < 2 || o.transfers < 1 {
				return fmt.Errorf("bench ledger: need --batch 1..%d, --clients ≥ 1, --accounts ≥ 2, --transfers ≥ 1", teg.MaxBatch)
			}
			if o.replicas < 1 || o.replicas > o.clients {
				return fmt.Errorf("bench ledger: --replicas is 1..--clients (%d): each process runs at least one client", o.clients)
			}
			if o.replicas > 1 && strings.HasPrefix(dsn, "sqlite://:memory:") {
				return errors.New("bench ledger: --replicas > 1 needs a store other processes can open, not sqlite://:memory:")
			}
			o.dsn = dsn
			return benchLedger(ctx, cmd.OutOrStdout(), o)
		},
	}
	fl := ledger.Flags()
	fl.StringVar(&o.dsn, "store", "", "ledger store DSN (default: a fresh SQLite file); on PostgreSQL, ?search_path=SCHEMA picks an existing schema")
	fl.IntVar(&o.accounts, "accounts", 10000, "wallets to create and fund")
	fl.IntVar(&o.transfers, "transfers", 100000, "transfers to submit")
	fl.IntVar(&o.batch, "batch", teg.MaxBatch, "transfers per linked batch (1: single transfers)")
	fl.IntVar(&o.clients, "clients", 4, "concurrent submitters, split evenly among the --replicas processes")
	fl.IntVar(&o.hot, "hot", 0, "transfer among only the first K accounts (contention)")
	fl.IntVar(&o.replicas, "replicas", 1, "ledger writer processes on the same store: this one and R−1 children of this binary, "+
		"each with its own connection pool and ledger, ordered by the head lock (PostgreSQL; SQLite files work too, "+
		"the processes taking turns at the file's write lock, but not sqlite://:memory:)")
	fl.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the timed run (this process) to `FILE`, for go tool pprof")
	fl.BoolVar(&o.randomIDs, "random-ids", false, "random 128-bit hex transfer ids instead of ids in time order (the cost of random client ids)")
	fl.BoolVar(&o.auditor, "auditor", false, "run the auditor's consumer alongside and report its lag when the load stops and how long it took to catch up")
	fl.BoolVar(&overHTTP, "http", false, "drive single transfers through the HTTP API on a loopback listener (agents use JWT-SVIDs)")
	c.AddCommand(ledger, newBenchLedgerWorker(), newBenchPolicy(), newBenchDiscovery(), newBenchRelevance(), newBenchA2A(), newBenchStaking(), newBenchReputation(), newBenchFederation())
	return c
}

// benchLedgerOptions are bench ledger's flags.
type benchLedgerOptions struct {
	dsn                 string
	accounts, transfers int
	batch, clients, hot int
	replicas            int
	randomIDs           bool
	cpuProfile          string
	auditor             bool
}

// benchBalanceCache is the balance cache the server gives its ledger without Redis (in this
// process), so that the bench pays what the server's writer pays after each group.
func benchBalanceCache() tegsql.Option {
	return tegsql.WithBalanceCache(hotcache.NewMemory[teg.Account](0, tegsql.BalanceTTL), hotcache.NewMemory[bool](0, tegsql.HotTTL), 0, true)
}

// benchLedger runs bench ledger (not --http) on o.dsn, in o.replicas processes.
func benchLedger(ctx context.Context, out io.Writer, o benchLedgerOptions) error {
	db, err := store.Open(ctx, o.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := openLedger(ctx, db, benchBalanceCache())
	if err != nil {
		return err
	}
	defer l.Close()
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	ids, err := benchAccounts(ctx, l, run, o.accounts)
	if err != nil {
		return err
	}
	ids = benchInPlay(ids, o.hot)
	idKind := "ids in time order"
	if o.randomIDs {
		idKind = "random ids"
	}
	fmt.Fprintf(out, "store %s, %d accounts (%d in play), %d transfers, batch %d, %d clients, %d writer(s), one a process, %s\n",
		store.Redact(o.dsn), o.accounts, len(ids), o.transfers, o.batch, o.clients, o.replicas, idKind)

	// Share r gets clients [lo, hi) of the run's o.clients.
	shares := make([]benchShare, o.replicas)
	for r := range shares {
		shares[r] = benchShare{Run: run, Accounts: o.accounts, Hot: o.hot, Transfers: o.transfers, Batch: o.batch,
			Clients: o.clients, Lo: r * o.clients / o.replicas, Hi: (r + 1) * o.clients / o.replicas, RandomIDs: o.randomIDs}
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first failure is the run's error; it stops the other shares (killing the children).
	var failOnce sync.Once
	var firstErr error
	fail := func(err error) {
		failOnce.Do(func() { firstErr = err; cancel() })
	}
	workers := make([]*benchWorker, 0, o.replicas-1)
	defer func() {
		for _, w := range workers {
			w.kill()
		}
	}()
	for r := 1; r < o.replicas; r++ {
		w, err := startBenchWorker(ctx, r, benchJob{DSN: o.dsn, Share: shares[r]})
		if err != nil {
			return err
		}
		workers = append(workers, w)
	}
	if err := awaitBenchWorkers(ctx, workers); err != nil {
		if parent.Err() != nil {
			return fmt.Errorf("bench ledger: interrupted: %w", parent.Err())
		}
		return err
	}

	// Every process is set up: go.
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	var aud *benchAuditor
	if o.auditor {
		aud = startBenchAuditor(ctx, db, l)
		defer aud.stop()
	}
	start := time.Now()
	results := make([]benchResult, o.replicas)
	ends := make([]time.Time, o.replicas)
	var wg sync.WaitGroup
	for i, w := range workers {
		if err := w.start(); err != nil {
			fail(err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if results[i+1], ends[i+1], err = w.result(); err != nil {
				fail(err)
			}
		}()
	}
	results[0] = shares[0].run(ctx, l, ids)
	results[0].PID, ends[0] = os.Getpid(), time.Now()
	if results[0].Error != "" {
		fail(fmt.Errorf("bench ledger: %s", results[0].Error))
	}
	wg.Wait()
	if parent.Err() != nil {
		return fmt.Errorf("bench ledger: interrupted: %w", parent.Err())
	}
	if firstErr != nil {
		return firstErr
	}
	elapsed := slices.MaxFunc(ends, time.Time.Compare).Sub(start)

	var lat []int64
	var submitted, refused int64
	for r, res := range results {
		fmt.Fprintf(out, "worker %d pid=%d clients=%d transfers=%d batches=%d refused=%d\n",
			r, res.PID, shares[r].Hi-shares[r].Lo, res.Submitted, len(res.LatencyUS), res.Refused)
		lat = append(lat, res.LatencyUS...)
		submitted += res.Submitted
		refused += res.Refused
	}
	if submitted != int64(o.transfers) {
		return fmt.Errorf("bench ledger: the workers submitted %d transfers of %d", submitted, o.transfers)
	}
	if aud != nil {
		if err := aud.report(ctx, out); err != nil {
			return err
		}
	}
	rep, verr := l.Verify(ctx)
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(quantile(lat, p)) / 1000 }
	done := int64(o.transfers) - refused
	if verr != nil {
		fmt.Fprintf(out, "verify FAILED: %v\n", verr)
	} else {
		fmt.Fprintf(out, "verified %d events, supply %s\n", rep.Events, rep.Supply)
	}
	fmt.Fprintf(out, "transfers/s=%.0f p50_ms=%.2f p99_ms=%.2f refused=%d verified=%t\n",
		float64(done)/elapsed.Seconds(), pct(0.50), pct(0.99), refused, verr == nil)
	return verr
}

// benchShare is one process's part of a bench ledger run. The run's transfers are numbered
// 0..Transfers-1 and cut into batches of Batch; batch b belongs to client slot b mod Clients,
// and the share runs slots [Lo, Hi) — so the processes interleave their batches, the ids
// arrive in about their order whatever the number of processes, and a single process submits
// exactly what it did before there were several.
type benchShare struct {
	Run       string `json:"run"`
	Accounts  int    `json:"accounts"` // created by benchAccounts with Run
	Hot       int    `json:"hot"`
	Transfers int    `json:"transfers"`
	Batch     int    `json:"batch"`
	Clients   int    `json:"clients"` // client slots of the whole run
	Lo        int    `json:"lo"`
	Hi        int    `json:"hi"`
	RandomIDs bool   `json:"random_ids"`
}

// benchResult is what a share did.
type benchResult struct {
	PID       int     `json:"pid"`
	Submitted int64   `json:"submitted"`  // transfers in the batches submitted
	Refused   int64   `json:"refused"`    // of which refused
	LatencyUS []int64 `json:"latency_us"` // one per batch, µs
	Error     string  `json:"error,omitempty"`
}

// run submits the share's batches through l from Hi-Lo goroutines, among ids (the accounts in
// play). It stops at the first error that is not a refusal and reports it in Error.
func (s benchShare) run(ctx context.Context, l *tegsql.Ledger, ids []teg.AccountID) benchResult {
	slots := int64(s.Hi - s.Lo)
	batches := (int64(s.Transfers) + int64(s.Batch) - 1) / int64(s.Batch)
	batch := int64(s.Batch)
	var next atomic.Int64
	var mu sync.Mutex
	var res benchResult
	var wg sync.WaitGroup
	for range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := next.Add(1) - 1
				b := (j/slots)*int64(s.Clients) + int64(s.Lo) + j%slots // the share's j-th batch
				if b >= batches {
					return
				}
				base := b * batch
				n := min(batch, int64(s.Transfers)-base)
				cmds := make([]teg.Command, n)
				for i := range cmds {
					k := base + int64(i)
					from := ids[(k*7919)%int64(len(ids))]
					to := ids[(k*104729+1)%int64(len(ids))]
					if to == from {
						to = ids[(k*104729+2)%int64(len(ids))]
					}
					cmds[i] = teg.Command{Kind: teg.KindTransfer, ID: benchTransferID(s.Run, k, s.RandomIDs), From: from, To: to, Amount: avt.FromUnits(uint64(k%1000+1) * 1_000_000_000_000)}
				}
				t0 := time.Now()
				results, err := l.Submit(ctx, cmds, batch > 1)
				d := time.Since(t0)
				var refused int64
				if err != nil && batch == 1 {
					refused = 1
				} else if err != nil {
					mu.Lock()
					if res.Error == "" {
						res.Error = err.Error()
					}
					mu.Unlock()
					return
				}
				for _, r := range results {
					if r.Err != nil {
						refused++
					}
				}
				mu.Lock()
				res.Submitted += n
				res.Refused += refused
				res.LatencyUS = append(res.LatencyUS, d.Microseconds())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res
}

// benchTransferID is the id of a run's k-th transfer: "bench-RUN-K" with K zero-padded, so
// that ids sort in the order they are made (an index on them is appended to), or with random
// a random 128-bit hex id (inserted anywhere in the index).
func benchTransferID(run string, k int64, random bool) string {
	if random {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	return fmt.Sprintf("bench-%s-%012d", run, k)
}

// benchDSN is dsn, or when it is empty a fresh SQLite file in a temporary directory that
// cleanup removes.
func benchDSN(dsn string) (string, func(), error) {
	if dsn != "" {
		return dsn, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "sovereign-bench-")
	if err != nil {
		return "", nil, err
	}
	return "sqlite://" + filepath.Join(dir, "bench.db"), func() { os.RemoveAll(dir) }, nil
}

// benchAccountIDs are the ids of the n wallets of a run.
func benchAccountIDs(run string, n int) []teg.AccountID {
	ids := make([]teg.AccountID, n)
	for i := range ids {
		ids[i] = teg.AccountID(fmt.Sprintf("agt_bench_%s_%d", run, i))
	}
	return ids
}

// benchInPlay is the accounts transfers go between: the first hot ones, or all when hot is 0.
func benchInPlay(ids []teg.AccountID, hot int) []teg.AccountID {
	if hot > 0 && hot < len(ids) {
		return ids[:hot]
	}
	return ids
}

// benchAccounts mints supply and opens and funds n wallets.
func benchAccounts(ctx context.Context, l *tegsql.Ledger, run string, n int) ([]teg.AccountID, error) {
	if _, _, err := l.Do(ctx, teg.Command{Kind: teg.KindMint, ID: "bench-mint-" + run, Amount: avt.AVT(uint64(n) * 1_000_000)}); err != nil {
		return nil, err
	}
	ids := benchAccountIDs(run, n)
	var cmds []teg.Command
	for _, id := range ids {
		cmds = append(cmds, teg.Command{Kind: teg.KindOpen, ID: "bench-open-" + string(id), To: id},
			teg.Command{Kind: teg.KindGrant, ID: "bench-grant-" + string(id), To: id, Amount: avt.AVT(1_000_000)})
	}
	for len(cmds) > 0 {
		k := min(len(cmds), 8000)
		if _, err := l.Submit(ctx, cmds[:k], true); err != nil {
			return nil, err
		}
		cmds = cmds[k:]
	}
	return ids, nil
}

// startCPUProfile starts a CPU profile into path (nothing when path is empty); the function it
// returns stops it and may be called more than once.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}

// benchProfiles are the files a bench command records its timed phase into (none when empty).
type benchProfiles struct {
	cpu, trace string
}

// start begins the CPU profile and the execution trace; the function it returns ends both and
// may be called more than once.
func (p benchProfiles) start() (func(), error) {
	stopCPU, err := startCPUProfile(p.cpu)
	if err != nil {
		return nil, err
	}
	if p.trace == "" {
		return stopCPU, nil
	}
	f, err := os.Create(p.trace)
	if err != nil {
		stopCPU()
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		stopCPU()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			trace.Stop()
			f.Close()
			stopCPU()
		})
	}, nil
}

// quantile returns the p-quantile (0 ≤ p ≤ 1) of sorted values by nearest rank, or zero for
// none: the one rule every bench command's p50 and p99 use.
func quantile[T int64 | time.Duration](sorted []T, p float64) T {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
