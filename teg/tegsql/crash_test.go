package tegsql_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// The environment of the crash child (TestCrashChild), set by TestLedger_SurvivesKill9.
const (
	envCrashChild  = "TEGSQL_CRASH_CHILD"  // "1" runs the child
	envCrashDB     = "TEGSQL_CRASH_DB"     // the database's DSN: sqlite:///path or postgres://…
	envCrashSchema = "TEGSQL_CRASH_SCHEMA" // the PostgreSQL schema (store.WithSchema); empty on SQLite
	envCrashAck    = "TEGSQL_CRASH_ACK"    // the acknowledgement file
	envCrashRound  = "TEGSQL_CRASH_ROUND"  // the round, which makes the child's ids unique
)

// crashBatchPrefix starts the message of every transfer of a linked batch the child submits:
// "batch:<first id number>/<size>", so the parent can check each batch is all there or absent.
const crashBatchPrefix = "batch:"

// TestCrashChild is the child process of TestLedger_SurvivesKill9, which runs the test binary
// again with TEGSQL_CRASH_CHILD=1 and kills it with SIGKILL; it is skipped otherwise. It opens the
// ledger on the database named by TEGSQL_CRASH_DB and submits transfers among the agents (single
// ones and small linked batches, ids "crash-<n>") from several goroutines until it is killed.
// After each acknowledged request it appends the ids of the acknowledged transfers to the file
// TEGSQL_CRASH_ACK ("id\n" each, in one write) and fsyncs it before that goroutine submits again,
// so every line in the file is a transfer the ledger acknowledged.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envCrashChild) != "1" {
		t.Skip("helper process of TestLedger_SurvivesKill9: runs only with " + envCrashChild + "=1")
	}
	ctx := context.Background()
	var opts []store.Option
	if s := os.Getenv(envCrashSchema); s != "" {
		opts = append(opts, store.WithSchema(s))
	}
	db, err := store.Open(ctx, os.Getenv(envCrashDB), opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	l := tegsql.Open(db, teg.DefaultParams(), nil)
	var ids []teg.AccountID
	rows, err := db.Read().QueryContext(ctx, `SELECT id FROM teg_accounts WHERE id LIKE 'agt_%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, teg.AccountID(id))
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) < 2 {
		t.Fatalf("agents %v: %v", ids, err)
	}
	ack, err := os.OpenFile(os.Getenv(envCrashAck), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	round, err := strconv.Atoi(os.Getenv(envCrashRound))
	if err != nil {
		t.Fatalf("%s: %v", envCrashRound, err)
	}
	var (
		next   atomic.Int64 // the last id number taken
		ackMu  sync.Mutex
		wg     sync.WaitGroup
		failed atomic.Bool
	)
	next.Store(int64(round) * 10_000_000)
	// The parent kills the child within a second; the deadline only bounds an orphaned child.
	deadline := time.Now().Add(30 * time.Second)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(round), uint64(g)))
			for time.Now().Before(deadline) && !failed.Load() {
				n := 1
				if rng.IntN(3) == 0 {
					n = 2 + rng.IntN(3)
				}
				first := next.Add(int64(n)) - int64(n) + 1
				cmds := make([]teg.Command, n)
				for i := range cmds {
					from := rng.IntN(len(ids))
					to := (from + 1 + rng.IntN(len(ids)-1)) % len(ids)
					cmds[i] = teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("crash-%d", first+int64(i)),
						From: ids[from], To: ids[to], Amount: avt.FromUnits(1 + rng.Uint64N(5_000_000_000_000_000_000))}
					if n > 1 {
						cmds[i].Message = fmt.Sprintf("%s%d/%d", crashBatchPrefix, first, n)
					}
				}
				res, err := l.Submit(ctx, cmds, n > 1)
				if err != nil {
					if apperr.KindOf(err) != apperr.Internal {
						continue // a linked batch refused (an overdraft): nothing acknowledged
					}
					t.Errorf("submit: %v", err)
					failed.Store(true)
					return
				}
				var lines []byte
				for i, r := range res {
					if r.Err == nil {
						lines = append(lines, cmds[i].ID+"\n"...)
					}
				}
				if len(lines) == 0 {
					continue
				}
				ackMu.Lock()
				_, werr := ack.Write(lines)
				serr := ack.Sync()
				ackMu.Unlock()
				if werr != nil || serr != nil {
					t.Errorf("ack: %v %v", werr, serr)
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Error("the crash child was not killed within 30 s")
}

// TestLedger_SurvivesKill9 runs a child process (TestCrashChild) that submits transfers from
// several goroutines and records every acknowledged one, kills it with SIGKILL after a random
// 200–800 ms, and then checks on the database, as a restarted process would, that every
// acknowledged transfer is stored, that the log verifies (hash chain, balances, supply), that the
// head is the last event and the last transfer, that every linked batch is there whole or not at
// all, and that the ledger takes writes again — for 3 to 5 rounds, on SQLite and, when
// SOVEREIGN_TEST_POSTGRES is set, on PostgreSQL.
func TestLedger_SurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 crash test: runs and kills a child process several times (a few seconds); skipped with -short")
	}
	t.Run("sqlite", func(t *testing.T) {
		crashRounds(t, "sqlite://"+filepath.Join(t.TempDir(), "crash.db"), "")
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv(storetest.EnvPostgres)
		if dsn == "" {
			t.Skip(storetest.EnvPostgres + " not set: skipping PostgreSQL half of the crash test")
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		crashRounds(t, dsn, "t_crash_"+hex.EncodeToString(b[:]))
	})
}

func crashRounds(t *testing.T, dsn, schema string) {
	ctx := context.Background()
	var opts []store.Option
	if schema != "" {
		opts = append(opts, store.WithSchema(schema))
	}
	openDB := func() *store.DB {
		t.Helper()
		db, err := store.Open(ctx, dsn, opts...)
		if err != nil {
			t.Fatalf("open %s: %v", store.Redact(dsn), err)
		}
		return db
	}
	db := openDB()
	if schema != "" {
		t.Cleanup(func() {
			db := openDB()
			_ = db.DropSchema(context.Background())
			_ = db.Close()
		})
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	l := tegsql.Open(db, teg.DefaultParams(), nil)
	setup(t, l, 20, avt.AVT(1000))
	l.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	ackPath := filepath.Join(t.TempDir(), "ack")
	rounds := 3 + mrand.IntN(3)
	var acked int
	for round := 1; round <= rounds; round++ {
		d := time.Duration(200+mrand.IntN(600)) * time.Millisecond
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), envCrashChild+"=1", envCrashDB+"="+dsn, envCrashSchema+"="+schema,
			envCrashAck+"="+ackPath, envCrashRound+"="+strconv.Itoa(round))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatalf("round %d: kill: %v (the child ended early?)\n%s", round, err, out.String())
		}
		_ = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: the child ended on its own (%v), not by SIGKILL:\n%s", round, cmd.ProcessState, out.String())
		}

		// Restart: open the database as a new process would, and check it.
		db := openDB()
		l := tegsql.Open(db, teg.DefaultParams(), nil)
		ids, partial := readAcks(t, ackPath)
		for _, id := range ids {
			tr, ok, err := l.Transfer(ctx, id)
			if err != nil || !ok || tr.Kind != teg.KindTransfer {
				t.Fatalf("round %d: acknowledged transfer %s lost after kill -9: %+v %v %v", round, id, tr, ok, err)
			}
		}
		checkCrashLog(t, db, l, round)
		var stored int
		if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM teg_events WHERE transfer_id LIKE 'crash-%'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %v; %d transfers acknowledged in this round (%d in all, %d stored; a partial last ack line: %v)",
			round, d, len(ids)-acked, len(ids), stored, partial)
		acked = len(ids)
		// The ledger takes writes again after the crash, and the log still verifies.
		must(t, l, teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("after-crash-%d", round), From: "agt_0000", To: "agt_0001", Amount: avt.FromUnits(1)})
		if _, err := l.Verify(ctx); err != nil {
			t.Fatalf("round %d: verify after kill -9: %v", round, err)
		}
		l.Close()
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if acked == 0 {
		t.Fatal("the child acknowledged no transfer in any round: the crash test tested nothing")
	}
}

// readAcks returns the acknowledged ids: the complete lines of the file. A last line without its
// newline (the child killed inside the write) is reported, not used.
func readAcks(t *testing.T, path string) (ids []string, partial bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		ids = append(ids, sc.Text())
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		ids, partial = ids[:len(ids)-1], true
	}
	return ids, partial
}

// checkCrashLog checks what a crash must not leave behind: a log that does not verify, a head
// that is not the last event and the last transfer, or part of a linked batch.
func checkCrashLog(t *testing.T, db *store.DB, l *tegsql.Ledger, round int) {
	t.Helper()
	ctx := context.Background()
	rep, err := l.Verify(ctx)
	if err != nil {
		t.Fatalf("round %d: verify after kill -9: %v", round, err)
	}
	var head, maxEvent, events uint64
	q := db.Read()
	if err := q.QueryRowContext(ctx, `SELECT seq FROM teg_head WHERE id = 1`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0), COUNT(*) FROM teg_events`).Scan(&maxEvent, &events); err != nil {
		t.Fatal(err)
	}
	if head != maxEvent || events != head || rep.Events != head {
		t.Fatalf("round %d: head %d, last event %d (%d events, %d verified)", round, head, maxEvent, events, rep.Events)
	}
	batches := map[string]int{}
	for after := uint64(0); ; {
		page, err := l.Entries(ctx, after, 10000)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range page {
			if m := en.Transfer.Message; strings.HasPrefix(m, crashBatchPrefix) {
				batches[m]++
			}
			after = en.Event.Seq
		}
		if len(page) < 10000 {
			break
		}
	}
	for msg, n := range batches {
		_, size, _ := strings.Cut(msg, "/")
		if want, err := strconv.Atoi(size); err != nil || n != want {
			t.Fatalf("round %d: linked batch %q has %d transfers stored", round, msg, n)
		}
	}
}
