package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// envBeCLI makes the test binary be the sovereign CLI instead of running tests.
const envBeCLI = "SOVEREIGN_TEST_BE_CLI"

// TestMain lets this test binary stand in for the sovereign binary in the child processes that
// commands start from os.Executable() (bench ledger --replicas): with envBeCLI set, which the
// tests set for their children, it runs the CLI on its arguments instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv(envBeCLI) == "1" {
		main() // exits non-zero on error
		os.Exit(0)
	}
	_ = os.Setenv(envBeCLI, "1")
	os.Exit(m.Run())
}

var (
	benchLedgerLine = regexp.MustCompile(`^transfers/s=(\d+) p50_ms=\d+\.\d\d p99_ms=\d+\.\d\d refused=(\d+) verified=(true|false)$`)
	benchWorkerLine = regexp.MustCompile(`(?m)^worker (\d+) pid=(\d+) clients=\d+ transfers=(\d+) batches=\d+ refused=\d+$`)
)

func TestBenchLedger_ReplicasAreProcesses(t *testing.T) {
	args := []string{"--accounts", "50", "--transfers", "20000", "--batch", "1000", "--clients", "2", "--replicas", "2"}
	t.Run("sqlite", func(t *testing.T) {
		checkBenchReplicas(t, "sqlite://"+filepath.Join(t.TempDir(), "bench.db"), args)
	})
	t.Run("postgres", func(t *testing.T) {
		checkBenchReplicas(t, benchPostgresDSN(t), args)
	})
}

func TestBenchLedger_RandomIDs(t *testing.T) {
	out, err := run(t, context.Background(), "bench", "ledger", "--accounts", "20", "--transfers", "2000", "--batch", "500", "--clients", "2", "--replicas", "2", "--random-ids")
	if err != nil || !strings.Contains(out, ", random ids\n") {
		t.Fatalf("bench ledger --random-ids = %q, %v", out, err)
	}
	if m := benchLedgerLine.FindStringSubmatch(lastLine(out)); m == nil || m[2] != "0" || m[3] != "true" {
		t.Fatalf("last line: %s", lastLine(out))
	}
}

func TestBenchTransferID_SortsInTimeOrder(t *testing.T) {
	run := strconv.FormatInt(time.Now().UnixNano(), 10)
	var ids []string
	for _, k := range []int64{0, 1, 9, 10, 99, 100, 8189, 8190, 199_999, 1_000_000_000} {
		ids = append(ids, benchTransferID(run, k, false))
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("ids do not sort in the order they were made: %q", ids)
	}
	a, b := benchTransferID(run, 1, true), benchTransferID(run, 1, true)
	if len(a) != 32 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("random ids %q, %q: want distinct 128-bit hex", a, b)
	}
}

func TestBenchLedger_ReplicaFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--replicas", "0"},
		{"--replicas", "3", "--clients", "2"},
		{"--replicas", "2", "--store", "sqlite://:memory:"},
	} {
		if out, err := run(t, context.Background(), append([]string{"bench", "ledger", "--accounts", "5", "--transfers", "10"}, args...)...); err == nil {
			t.Errorf("%v accepted:\n%s", args, out)
		}
	}
}

// A worker that fails fails the run, with the worker's reason.
func TestBenchLedger_WorkerFailures(t *testing.T) {
	share := benchShare{Run: "1", Accounts: 10, Transfers: 100, Batch: 10, Clients: 2, Lo: 1, Hi: 2}
	for _, c := range []struct {
		name string
		job  benchJob
		want string
	}{
		{"another database", benchJob{DSN: "sqlite://" + filepath.Join(t.TempDir(), "other.db"), Share: share}, "is not in"},
		{"bad share", benchJob{DSN: "sqlite://" + filepath.Join(t.TempDir(), "x.db"), Share: benchShare{Run: "1"}}, "invalid share"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := startBenchWorker(context.Background(), 1, c.job)
			if err == nil {
				defer w.kill()
				err = awaitBenchWorkers(context.Background(), []*benchWorker{w})
			}
			if err == nil || !strings.Contains(err.Error(), "worker 1 (pid ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want the worker's failure (%q)", err, c.want)
			}
		})
	}
}

// Cancelling the run kills its workers.
func TestBenchLedger_CancelKillsWorkers(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "bench.db")
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l := tegsql.Open(db, teg.DefaultParams(), nil)
	defer l.Close()
	if _, err := benchAccounts(ctx, l, "1", 10); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := startBenchWorker(wctx, 1, benchJob{DSN: dsn, Share: benchShare{Run: "1", Accounts: 10, Transfers: 10, Batch: 1, Clients: 1, Lo: 0, Hi: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.kill()
	if err := awaitBenchWorkers(wctx, []*benchWorker{w}); err != nil {
		t.Fatal(err)
	}
	cancel() // the worker is waiting for go
	done := make(chan error, 1)
	go func() { done <- w.wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("the worker ended with %v, want killed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker outlived the cancelled run")
	}
}

// checkBenchReplicas runs bench ledger with args on dsn and checks that two processes took part
// and that the ledger verifies with nothing refused.
func checkBenchReplicas(t *testing.T, dsn string, args []string) {
	t.Helper()
	out, err := run(t, context.Background(), append([]string{"bench", "ledger", "--store", dsn}, args...)...)
	if err != nil {
		t.Fatalf("bench ledger: %v\n%s", err, out)
	}
	if m := benchLedgerLine.FindStringSubmatch(lastLine(out)); m == nil || m[2] != "0" || m[3] != "true" {
		t.Fatalf("last line is not transfers/s=… refused=0 verified=true:\n%s", out)
	}
	pids := map[string]bool{}
	total := 0
	for _, m := range benchWorkerLine.FindAllStringSubmatch(out, -1) {
		pids[m[2]] = true
		n, _ := strconv.Atoi(m[3])
		total += n
	}
	if len(pids) != 2 || !pids[strconv.Itoa(os.Getpid())] || total != 20000 {
		t.Fatalf("want two worker processes (this one and a child) submitting 20000 transfers, got pids %v, %d transfers:\n%s", pids, total, out)
	}
}

// benchPostgresDSN is the DSN of SOVEREIGN_TEST_POSTGRES in a fresh schema of its own (the
// bench migrates whatever the DSN's search_path names), dropped on cleanup; it skips the test
// when the variable is not set.
func benchPostgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(storetest.EnvPostgres)
	if dsn == "" {
		t.Skip(storetest.EnvPostgres + " not set: skipping the PostgreSQL replica benchmark")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_bench_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	admin, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", store.Redact(dsn), err)
	}
	t.Cleanup(func() {
		if _, err := admin.Writer().ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	if _, err := admin.Writer().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
