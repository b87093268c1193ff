//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/soak"
	"github.com/sovereign-stack/sovereign/store/pgcluster"
)

// soakOptions are the soak command's flags.
type soakOptions struct {
	minutes          float64
	report           string
	seed             uint64
	workers          int
	rate             float64
	svidTTL          time.Duration
	bin, pgBin       string
	redisBin, keep   string
	movers, payers   int
	faultPause       time.Duration
	recoveryTimeout  time.Duration
	commandLineShown string
}

func newSoak() *cobra.Command {
	var o soakOptions
	c := &cobra.Command{
		Use:   "soak",
		Short: "Run the split services on a private PostgreSQL and Redis under mixed load and faults, and check nothing acknowledged was lost",
		Long: `soak starts, as processes of this binary, two TEG replicas (teg serve) on one ledger
database and two registries in two trust domains — registry A (registry serve, on the TEG
replicas, sharing their builtin CA) and registry B (up) — peered by federation, on a private
PostgreSQL cluster (initdb in a temporary directory, a free port) and a private redis-server.
It registers agents on registry A and runs a mixed load for --minutes: discovery searches and
federated queries on both registries, transfers between agents with idempotency keys on both
TEG replicas, paid A2A tasks (a hold on the TEG, posted by a paid agent this process serves),
and card publishes. SVIDs live --svid-ttl and rotate at half of it throughout. On a schedule,
each fault in a named window: registry A killed (kill -9) and restarted on its data, TEG
replica 2 killed (kill -9) in the middle of its commits and restarted, PostgreSQL stopped and
started, Redis stopped and started. A fault window lasts until every
service's /readyz answers again plus a short grace.

The load keeps a journal of every acknowledged write. At the end it resends the transfers
that got no answer with their idempotency keys (so that each one's outcome is known), then
checks that every acknowledged transfer is in the ledger exactly once, that no transfer
between the agents is there that was not acknowledged, that each agent's balance is what the
journal says, that every acknowledged card is in its registry and every paid task's hold was
posted once; then runs 'teg verify' on the ledger. It prints a report (per operation: rate,
p50, p99; per window: operations, errors, error rate) and writes it as markdown with
--report. It exits non-zero when the error rate outside the fault windows is 1 % or more, or
any check fails. PostgreSQL's server binaries (initdb, pg_ctl: --postgres-bin,
SOVEREIGN_PG_BIN, or /usr/lib/postgresql/*/bin) and redis-server (--redis-bin) are needed.`,
		Example: `  sovereign soak --minutes 3 --report soak.md
  sovereign soak --minutes 0.5 --svid-ttl 20s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.commandLineShown = "sovereign " + strings.Join(os.Args[1:], " ")
			return runSoak(cmd, o)
		},
	}
	f := c.Flags()
	f.Float64Var(&o.minutes, "minutes", 3, "how long the load runs, in minutes (fractions allowed; the faults' recovery may add a little)")
	f.StringVar(&o.report, "report", "", "also write the report (markdown) to this file")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the load's random choices")
	f.IntVar(&o.workers, "workers", 4, "concurrent load workers")
	f.Float64Var(&o.rate, "rate", 40, "operations per second the workers aim at together")
	f.DurationVar(&o.svidTTL, "svid-ttl", 30*time.Second, "lifetime of the services' X.509-SVIDs (rotated at half of it)")
	f.StringVar(&o.bin, "bin", "", "the sovereign binary the services run (default: this one)")
	f.StringVar(&o.pgBin, "postgres-bin", "", "directory of PostgreSQL's initdb and pg_ctl (default $SOVEREIGN_PG_BIN, the newest /usr/lib/postgresql/*/bin, or PATH)")
	f.StringVar(&o.redisBin, "redis-bin", "", "the redis-server binary (default: redis-server on PATH)")
	f.StringVar(&o.keep, "keep", "", "keep the services' data and logs in this directory (default: a temporary one, removed unless the run fails)")
	f.IntVar(&o.movers, "agents", 8, "agents that transfer among themselves")
	f.IntVar(&o.payers, "payers", 2, "agents that pay for A2A tasks")
	f.DurationVar(&o.faultPause, "fault-pause", 2*time.Second, "how long a stopped service stays down before it is started again")
	f.DurationVar(&o.recoveryTimeout, "recovery-timeout", 90*time.Second, "how long the services may take to answer again after a fault")
	return c
}

// soakFault is one fault of the schedule: inject breaks something and brings it back.
type soakFault struct {
	name   string
	inject func() error
}

func runSoak(cmd *cobra.Command, o soakOptions) (err error) {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "[%s] %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	if o.minutes <= 0 || o.workers < 1 || o.rate <= 0 || o.movers < 2 || o.payers < 1 {
		return errors.New("soak: --minutes and --rate must be positive, --workers and --payers at least 1, --agents at least 2")
	}
	if o.bin == "" {
		if o.bin, err = os.Executable(); err != nil {
			return err
		}
	}
	if o.redisBin == "" {
		if o.redisBin, err = exec.LookPath("redis-server"); err != nil {
			return errors.New("soak: redis-server not found on PATH; install redis-server or give --redis-bin")
		}
	} else if _, err := exec.LookPath(o.redisBin); err != nil {
		return fmt.Errorf("soak: --redis-bin %s: %w", o.redisBin, err)
	}
	if o.pgBin != "" {
		os.Setenv("SOVEREIGN_PG_BIN", o.pgBin)
	}
	pgBin, err := pgcluster.Find()
	if err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	for _, tool := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(pgBin, tool)); err != nil {
			return fmt.Errorf("soak: PostgreSQL's %s is not in %s (--postgres-bin or SOVEREIGN_PG_BIN names the directory of initdb and pg_ctl)", tool, pgBin)
		}
	}
	o.pgBin = pgBin
	dir := o.keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sovereign-soak-"); err != nil {
			return err
		}
		defer func() {
			if err == nil {
				os.RemoveAll(dir)
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "soak: the services' logs are kept in %s\n", dir)
			}
		}()
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	say("starting the stack in %s", dir)
	st, err := startSoakStack(ctx, dir, soakStackOptions{bin: o.bin, pgBin: o.pgBin, redisBin: o.redisBin, svidTTL: o.svidTTL, out: say})
	if err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	defer st.close()
	load, stopLoad, err := newSoakLoad(ctx, st, o.movers, o.payers, say)
	if err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	defer stopLoad()
	initial, err := load.balances(ctx)
	if err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	rot0 := scrapeRotations(ctx, st.services())

	faults := []soakFault{
		{"registry-kill", func() error {
			st.regA.kill()
			time.Sleep(o.faultPause)
			return st.regA.start()
		}},
		// A ledger writer killed mid-load (teg-2: registry A's ledger calls go to teg-1): what it
		// acknowledged before must all be in the ledger, and its keys replay after it is back.
		{"teg-kill", func() error {
			st.teg2.kill()
			time.Sleep(o.faultPause)
			return st.teg2.start()
		}},
		{"postgres-restart", func() error { return st.restartPostgres(o.faultPause) }},
		{"redis-restart", func() error {
			st.redis.stop()
			time.Sleep(o.faultPause)
			return st.redis.start()
		}},
	}
	total := time.Duration(o.minutes * float64(time.Minute))
	slot := total / time.Duration(2*len(faults)+1)
	say("load: %d workers at %.0f ops/s for %s; a fault every %s (%s); SVIDs live %s", o.workers, o.rate, total.Round(time.Second),
		(2 * slot).Round(time.Second), strings.Join(faultNames(faults), ", "), o.svidTTL)
	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	begin := time.Now()
	load.rec.Open("steady-0", false, begin)
	wg.Add(1)
	last := soakRotations{}
	for name, results := range rot0 {
		last[name] = maps.Clone(results)
	}
	go func() { defer wg.Done(); noteRotations(lctx, st.services(), last, load.rec) }()
	interval := time.Duration(float64(time.Second) * float64(o.workers) / o.rate)
	for w := 0; w < o.workers; w++ {
		wg.Add(1)
		go func() { defer wg.Done(); load.worker(lctx, o.seed*1000+uint64(w), interval) }()
	}
	var faultErr error
	for i, f := range faults {
		if err := sleepCtx(ctx, time.Until(begin.Add(time.Duration(2*i+1)*slot))); err != nil {
			faultErr = err
			break
		}
		t0 := time.Now()
		load.rec.Open(f.name, true, t0)
		say("fault %s", f.name)
		if err := f.inject(); err != nil {
			faultErr = fmt.Errorf("fault %s: %w", f.name, err)
			break
		}
		if err := waitReady(ctx, o.recoveryTimeout, st.all()...); err != nil {
			faultErr = fmt.Errorf("after fault %s: %w", f.name, err)
			break
		}
		recovered := time.Since(t0)
		time.Sleep(2 * time.Second) // grace: pools reconnect, caches refill
		load.rec.Open(fmt.Sprintf("steady-%d", i+1), false, time.Now())
		say("recovered from %s in %s", f.name, recovered.Round(100*time.Millisecond))
	}
	if faultErr == nil {
		end := begin.Add(total)
		if min := time.Now().Add(slot); end.Before(min) {
			end = min // the last steady window is never shorter than the others
		}
		faultErr = sleepCtx(ctx, time.Until(end))
	}
	stop()
	wg.Wait()
	load.rec.Close(time.Now())
	if faultErr != nil {
		return fmt.Errorf("soak: %w", faultErr)
	}
	say("load over; resolving transfers without an answer, then checking the journal")

	rep := soak.Report{Command: o.commandLineShown, Summary: load.rec.Summarize(),
		Setup: fmt.Sprintf("Private PostgreSQL %s and Redis; 2 TEG replicas (teg serve) on one ledger database, registry A (registry serve, trust domain a.soak.test) on them, registry B (up, b.soak.test), peered; %d transfer agents, %d payers, 1 paid agent; %d workers aiming at %.0f ops/s; SVID TTL %s.",
			pgVersion(o.pgBin), o.movers, o.payers, o.workers, o.rate, o.svidTTL)}
	replayed, applied, refused, unresolved := load.resolveInDoubt(ctx)
	rep.Checks = append(rep.Checks, soak.NamedCheck{Name: "transfers without an answer", OK: len(unresolved) == 0,
		Detail: strings.TrimSpace(fmt.Sprintf("%d resent with their idempotency keys: %d replayed (the first request had been applied), %d applied now, %d refused, %d still unanswered %s",
			replayed+applied+refused+len(unresolved), replayed, applied, refused, len(unresolved), strings.Join(unresolved, "; ")))})
	stores, err := load.stores(ctx, initial)
	if err != nil {
		return fmt.Errorf("soak: reading the stores: %w", err)
	}
	rep.Journal = load.journal.Check(stores)
	rot1 := scrapeRotations(ctx, st.services())
	// Each split service rotates at half its SVID's lifetime: a load that long must see one.
	rep.Checks = append(rep.Checks, rotationCheck(rot0, rot1, time.Since(begin) > o.svidTTL/2+5*time.Second))
	verify := exec.CommandContext(ctx, o.bin, "teg", "verify", "--store", st.tegDSN)
	verify.Env = soakEnv(nil)
	vout, verr := verify.CombinedOutput()
	rep.Verify, rep.VerifyOK = strings.TrimSpace(string(vout)), verr == nil
	rep.LoadAverage = loadAverage()
	md := rep.Markdown()
	fmt.Fprintln(out)
	fmt.Fprint(out, md)
	if o.report != "" {
		if err := os.WriteFile(o.report, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if f := rep.Failures(); len(f) > 0 {
		return fmt.Errorf("soak: FAILED: %s", strings.Join(f, "; "))
	}
	return nil
}

func faultNames(fs []soakFault) []string {
	var n []string
	for _, f := range fs {
		n = append(n, f.name)
	}
	return n
}

// pgVersion is the PostgreSQL version of the server binaries ("?" when unknown).
func pgVersion(dir string) string {
	b, err := exec.Command(filepath.Join(dir, "postgres"), "--version").Output()
	if err != nil {
		return "?"
	}
	// "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return f[2]
}

// soakRotations are a service's SVID rotations by result, from its metrics.
type soakRotations map[string]map[string]float64

// scrapeRotations reads sovereign_svid_rotations_total from each service's metrics listener.
func scrapeRotations(ctx context.Context, procs []*soakProc) soakRotations {
	r := soakRotations{}
	for _, p := range procs {
		r[p.name] = map[string]float64{}
		if p.metrics == "" {
			continue
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.metrics, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			rest, ok := strings.CutPrefix(line, `sovereign_svid_rotations_total{result="`)
			if !ok {
				continue
			}
			result, val, ok := strings.Cut(rest, `"} `)
			if !ok {
				continue
			}
			if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				r[p.name][result] = v
			}
		}
		res.Body.Close()
	}
	return r
}

// noteRotations notes in the open window the services' SVID rotations (successes, and failures
// if any), from their metrics every 2 s, until ctx ends. A counter that went down is a restarted
// process: all of its count is new.
func noteRotations(ctx context.Context, procs []*soakProc, last soakRotations, rec *soak.Recorder) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := scrapeRotations(ctx, procs)
		for name, results := range now {
			for result, v := range results {
				d := v - last[name][result]
				if d < 0 {
					d = v
				}
				if d <= 0 {
					continue
				}
				label := "SVID rotations"
				if result != "success" {
					label = "SVID rotations " + result
				}
				rec.Note(label, int(d), time.Now())
			}
			if len(results) > 0 { // an unanswered scrape keeps the last counts
				last[name] = results
			}
		}
	}
}

// rotationCheck passes when no service's rotation failed and, when expected, the TEG replicas
// rotated their SVIDs during the run. (Registry A's counters restart with it; its restarts
// mint anew.)
func rotationCheck(before, after soakRotations, expected bool) soak.NamedCheck {
	var parts []string
	ok := true
	for _, name := range []string{"teg-1", "teg-2", "registry-a", "registry-b"} {
		b, a := before[name], after[name]
		succ, fail := a["success"]-b["success"], a["failure"]-b["failure"]
		if name == "registry-a" { // restarted: its counters began again
			succ, fail = a["success"], a["failure"]
		}
		if _, scraped := a["success"]; !scraped {
			if _, f := a["failure"]; !f {
				parts = append(parts, name+": no SVID of its own (up)")
				if name != "registry-b" { // up mints from its own CA; split services must report
					ok = false
				}
				continue
			}
		}
		parts = append(parts, fmt.Sprintf("%s: %.0f rotations, %.0f failed", name, succ, fail))
		if fail > 0 || (expected && strings.HasPrefix(name, "teg") && succ == 0) {
			ok = false
		}
	}
	if !expected {
		parts = append(parts, "the load ran shorter than half the SVID lifetime: no rotation was required (lower --svid-ttl)")
	}
	return soak.NamedCheck{Name: "SVID rotation", OK: ok, Detail: strings.Join(parts, "; ")}
}
