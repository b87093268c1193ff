package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

func TestTegVerify_PassesOnAGoodLogAndFailsOnATamperedOne(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+dir+"/sovereign.db")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l := tegsql.Open(db, teg.DefaultParams(), nil)
	for _, c := range []teg.Command{
		{Kind: teg.KindMint, ID: "m", Amount: avt.AVT(1000)},
		{Kind: teg.KindOpen, ID: "o", To: "agt_a"},
		{Kind: teg.KindGrant, ID: "g", To: "agt_a", Amount: avt.AVT(100)},
		{Kind: teg.KindBurn, ID: "b", From: "agt_a", Amount: avt.AVT(1)},
	} {
		if _, _, err := l.Do(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	db.Close()

	out, err := run(t, ctx, "teg", "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "teg verify: OK: 4 events") || !strings.Contains(out, "burned 1,") && !strings.Contains(out, "burned 1 ") {
		t.Fatalf("verify = %q, %v", out, err)
	}

	db, _ = store.Open(ctx, "sqlite://"+dir+"/sovereign.db")
	if _, err := db.Writer().ExecContext(ctx, `UPDATE teg_accounts SET liquid = $1 WHERE id = 'agt_a'`, avt.AVT(5000)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := run(t, ctx, "teg", "verify", "--data", dir); err == nil || !strings.Contains(err.Error(), "agt_a") {
		t.Fatalf("tampered balance not detected: %v", err)
	}
}

func TestBenchLedger_PrintsTheSummaryLine(t *testing.T) {
	out, err := run(t, context.Background(), "bench", "ledger", "--accounts", "50", "--transfers", "300", "--batch", "100", "--clients", "2")
	if err != nil || !strings.Contains(out, "verified=true") || !strings.Contains(out, "transfers/s=") {
		t.Fatalf("bench ledger = %q, %v", out, err)
	}
	if _, err := run(t, context.Background(), "bench", "ledger", "--batch", "9000"); err == nil {
		t.Fatal("a batch over the limit was accepted")
	}
}

func TestBenchLedgerHTTP_DrivesTheAPI(t *testing.T) {
	out, err := run(t, context.Background(), "bench", "ledger", "--http", "--accounts", "5", "--transfers", "40", "--clients", "4")
	if err != nil || !strings.Contains(out, "transfers/s=") || !strings.Contains(out, "failed=0") {
		t.Fatalf("bench ledger --http = %q, %v", out, err)
	}
}

func TestBenchLedger_TwoReplicasOnPostgreSQL(t *testing.T) {
	dsn := os.Getenv("SOVEREIGN_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("SOVEREIGN_TEST_POSTGRES not set: skipping the two-replica ledger benchmark")
	}
	// A database of its own: the benchmark migrates the public schema of the DSN it is given.
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	if _, err := db.Writer().ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Skipf("cannot create a database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Writer().ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		db.Close()
	})
	u, _ := url.Parse(dsn)
	u.Path = "/" + name
	out, err := run(t, context.Background(), "bench", "ledger", "--store", u.String(), "--accounts", "50", "--transfers", "400", "--batch", "50", "--clients", "4", "--replicas", "2")
	if err != nil || !strings.Contains(out, "2 writer(s)") || !strings.Contains(out, "verified=true") {
		t.Fatalf("bench ledger --replicas 2 = %q, %v", out, err)
	}
}
