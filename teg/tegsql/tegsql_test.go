package tegsql_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// clockOffset shifts the ledgers' clock in tests that need time to pass.
var clockOffset atomic.Int64

func open(t testing.TB, db *store.DB) *tegsql.Ledger {
	l := tegsql.Open(db, teg.DefaultParams(), func() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) })
	t.Cleanup(l.Close)
	return l
}

func must(t testing.TB, l *tegsql.Ledger, c teg.Command) teg.Transfer {
	t.Helper()
	tr, _, err := l.Do(context.Background(), c)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	return tr
}

func setup(t testing.TB, l *tegsql.Ledger, accounts int, each avt.Amount) []teg.AccountID {
	t.Helper()
	must(t, l, teg.Command{Kind: teg.KindMint, ID: "mint-1", Amount: avt.AVT(1_000_000_000)})
	ids := make([]teg.AccountID, accounts)
	var cmds []teg.Command
	for i := range ids {
		ids[i] = teg.AccountID(fmt.Sprintf("agt_%04d", i))
		cmds = append(cmds, teg.Command{Kind: teg.KindOpen, ID: "open-" + string(ids[i]), To: ids[i]},
			teg.Command{Kind: teg.KindGrant, ID: "grant-" + string(ids[i]), To: ids[i], Amount: each})
	}
	for len(cmds) > 0 {
		n := min(len(cmds), 8000)
		if _, err := l.Submit(context.Background(), cmds[:n], true); err != nil {
			t.Fatal(err)
		}
		cmds = cmds[n:]
	}
	return ids
}

func verify(t testing.TB, l *tegsql.Ledger) teg.Report {
	t.Helper()
	r, err := l.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return r
}

func TestLedger_TransfersPersistAndVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := open(t, db)
		ctx := context.Background()
		ids := setup(t, l, 2, avt.AVT(1000))
		must(t, l, teg.Command{Kind: teg.KindTransfer, ID: "t1", From: ids[0], To: ids[1], Amount: avt.MustParse("100.5"), Message: "hi"})
		a, err := l.Account(ctx, ids[0])
		if err != nil || a.Liquid != avt.MustParse("899.3995") {
			t.Fatalf("sender %+v %v", a, err)
		}
		tr, ok, err := l.Transfer(ctx, "t1")
		if err != nil || !ok || tr.Fee != avt.MustParse("0.1005") || tr.Message != "hi" {
			t.Fatalf("transfer %+v %v %v", tr, ok, err)
		}
		// Replay and reuse.
		_, replayed, err := l.Do(ctx, teg.Command{Kind: teg.KindTransfer, ID: "t1", From: ids[0], To: ids[1], Amount: avt.MustParse("100.5"), Message: "hi"})
		if err != nil || !replayed {
			t.Fatalf("replay: %v %v", replayed, err)
		}
		_, _, err = l.Do(ctx, teg.Command{Kind: teg.KindTransfer, ID: "t1", From: ids[0], To: ids[1], Amount: avt.AVT(1)})
		if apperr.CodeOf(err) != "IDEMPOTENCY_KEY_REUSED" {
			t.Fatalf("reuse: %v", err)
		}
		// Pending with expiry through the sweeper.
		must(t, l, teg.Command{Kind: teg.KindPending, ID: "p1", From: ids[0], To: ids[1], Amount: avt.AVT(10), Timeout: time.Second})
		clockOffset.Store(int64(2 * time.Second))
		defer clockOffset.Store(0)
		n, err := l.ExpireDue(ctx, time.Now().Add(2*time.Second))
		if err != nil || n != 1 {
			t.Fatalf("ExpireDue = %d, %v", n, err)
		}
		if p, _, _ := l.Transfer(ctx, "p1"); p.State != teg.PendingExpired {
			t.Fatalf("p1 state %s", p.State)
		}
		hist, err := l.History(ctx, ids[0], 0, 10)
		if err != nil || len(hist) < 3 || hist[0].Seq < hist[1].Seq {
			t.Fatalf("history %v %v", len(hist), err)
		}
		rep := verify(t, l)
		if rep.Minted != avt.AVT(1_000_000_000) || rep.Burned.IsZero() {
			t.Fatalf("report %+v", rep)
		}
	})
}

func TestLedger_ConcurrentHotAccountsNeverOverdraw(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := open(t, db)
		ids := setup(t, l, 10, avt.AVT(50))
		// A new writer (as after a restart) starts with nothing cached: the groups that grow
		// while another commits read accounts from the database as requests join them.
		l.Close()
		l = open(t, db)
		var wg sync.WaitGroup
		var ok, refused atomic.Int64
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 40; i++ {
					from, to := ids[(g+i)%len(ids)], ids[(g+i+1+g%3)%len(ids)]
					_, _, err := l.Do(context.Background(), teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("c-%d-%d", g, i), From: from, To: to, Amount: avt.AVT(7)})
					switch apperr.CodeOf(err) {
					case "":
						ok.Add(1)
					case "INSUFFICIENT_BALANCE":
						refused.Add(1)
					default:
						t.Errorf("transfer: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		if ok.Load() == 0 || refused.Load() == 0 {
			t.Logf("ok=%d refused=%d", ok.Load(), refused.Load())
		}
		verify(t, l)
	})
}

// TestLedger_TwoWritersOnOneDatabase runs two ledger writers (as two processes would) on one
// database under concurrent load on hot accounts: the head lock orders them, caches are dropped
// when the other wrote, and the log verifies.
func TestLedger_TwoWritersOnOneDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := open(t, db)
		ids := setup(t, a, 10, avt.AVT(100))
		b := open(t, db)
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			l := a
			if g%2 == 1 {
				l = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 30; i++ {
					c := teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("w-%d-%d", g, i), From: ids[i%10], To: ids[(i+3)%10], Amount: avt.AVT(3)}
					if _, _, err := l.Do(context.Background(), c); err != nil && apperr.CodeOf(err) != "INSUFFICIENT_BALANCE" {
						t.Errorf("%v: %v", c, err)
					}
				}
			}()
		}
		wg.Wait()
		verify(t, a)
	})
}

func TestLedger_LinkedBatchFailsWhole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := open(t, db)
		ids := setup(t, l, 3, avt.AVT(10))
		ctx := context.Background()
		head, _ := l.Head(ctx)
		_, err := l.Submit(ctx, []teg.Command{
			{Kind: teg.KindTransfer, ID: "lb1", From: ids[0], To: ids[1], Amount: avt.AVT(1)},
			{Kind: teg.KindTransfer, ID: "lb2", From: ids[1], To: ids[2], Amount: avt.AVT(100)},
		}, true)
		if ae, ok := apperr.As(err); !ok || ae.Code != "INSUFFICIENT_BALANCE" || ae.Details["index"] != 1 {
			t.Fatalf("linked batch: %v", err)
		}
		if after, _ := l.Head(ctx); after != head {
			t.Fatal("failed batch wrote events")
		}
		if _, ok, _ := l.Transfer(ctx, "lb1"); ok {
			t.Fatal("first transfer of a failed linked batch was stored")
		}
		verify(t, l)
	})
}

// TestLedger_FreshIDsSkipTheLookup: a command whose id the caller just generated is applied
// without looking the id up; one that (wrongly) claims a used id is refused by the unique index,
// nothing of its group is written, and the ledger goes on.
func TestLedger_FreshIDsSkipTheLookup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := open(t, db)
		ids := setup(t, l, 2, avt.AVT(100))
		ctx := context.Background()
		tr := must(t, l, teg.Command{Kind: teg.KindTransfer, ID: "fresh-1", Fresh: true, From: ids[0], To: ids[1], Amount: avt.AVT(1)})
		if got, ok, err := l.Transfer(ctx, "fresh-1"); err != nil || !ok || got.Seq != tr.Seq {
			t.Fatalf("fresh transfer: %+v %v %v", got, ok, err)
		}
		before := verify(t, l)
		if _, _, err := l.Do(ctx, teg.Command{Kind: teg.KindTransfer, ID: "fresh-1", Fresh: true, From: ids[0], To: ids[1], Amount: avt.AVT(2)}); err == nil {
			t.Fatal("a fresh command with a used id was applied")
		}
		if after := verify(t, l); after.Head != before.Head {
			t.Fatalf("the refused group wrote: head %+v → %+v", before.Head, after.Head)
		}
		must(t, l, teg.Command{Kind: teg.KindTransfer, ID: "fresh-2", Fresh: true, From: ids[0], To: ids[1], Amount: avt.AVT(1)})
		verify(t, l)
	})
}

// TestLedger_DailyLimitAcrossTwoWriters: two ledger writers on one database (as two processes)
// take concurrent limited transfers from one account: the daily limit holds exactly, because the
// window is part of the account row the head lock serializes.
func TestLedger_DailyLimitAcrossTwoWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := open(t, db)
		ids := setup(t, a, 2, avt.AVT(5000))
		b := open(t, db)
		lim := &teg.Limits{Tier: "New", PerTransfer: avt.AVT(100), Daily: avt.AVT(1000)}
		var wg sync.WaitGroup
		var ok, refused atomic.Int64
		for g := range 8 {
			l := a
			if g%2 == 1 {
				l = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					c := teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("d-%d-%d", g, i), From: ids[0], To: ids[1], Amount: avt.AVT(7), Limits: lim}
					switch _, _, err := l.Do(context.Background(), c); {
					case err == nil:
						ok.Add(1)
					case apperr.CodeOf(err) == "DAILY_LIMIT_EXCEEDED":
						refused.Add(1)
					default:
						t.Errorf("%v: %v", c, err)
					}
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 142 || refused.Load() != 18 {
			t.Fatalf("%d applied, %d refused; want 142 (1000/7) and 18", ok.Load(), refused.Load())
		}
		// The window is stored: a writer opened afterwards sees it.
		c := open(t, db)
		if _, _, err := c.Do(context.Background(), teg.Command{Kind: teg.KindTransfer, ID: "after", From: ids[0], To: ids[1], Amount: avt.AVT(7), Limits: lim}); apperr.CodeOf(err) != "DAILY_LIMIT_EXCEEDED" {
			t.Fatalf("after reopening: %v", err)
		}
		acct, err := c.Account(context.Background(), ids[0])
		if err != nil || acct.Spent.Used(time.Now()) != avt.AVT(994) {
			t.Fatalf("stored window %+v, %v", acct.Spent, err)
		}
		verify(t, a)
	})
}

// TestLedger_StatusAndSupplyPersist: an account's status and the minted total are stored, and
// the log verifies against them.
func TestLedger_StatusAndSupplyPersist(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := open(t, db)
		ids := setup(t, l, 2, avt.AVT(10))
		must(t, l, teg.Command{Kind: teg.KindStatus, ID: "suspend", To: ids[0], Status: teg.AccountSuspended})
		if _, _, err := l.Do(context.Background(), teg.Command{Kind: teg.KindTransfer, ID: "x", From: ids[0], To: ids[1], Amount: avt.AVT(1)}); apperr.CodeOf(err) != "ACCOUNT_SUSPENDED" {
			t.Fatalf("suspended: %v", err)
		}
		l2 := open(t, db)
		if a, err := l2.Account(context.Background(), ids[0]); err != nil || a.Status != teg.AccountSuspended {
			t.Fatalf("stored %+v, %v", a, err)
		}
		if h, err := l2.Head(context.Background()); err != nil || h.Minted != avt.AVT(1_000_000_000) {
			t.Fatalf("head %+v, %v", h, err)
		}
		if _, _, err := l2.Do(context.Background(), teg.Command{Kind: teg.KindMint, ID: "too-much", Amount: avt.Max}); apperr.CodeOf(err) != "SUPPLY_LIMIT_EXCEEDED" {
			t.Fatalf("mint: %v", err)
		}
		if r := verify(t, l2); r.Minted != avt.AVT(1_000_000_000) {
			t.Fatalf("report %+v", r)
		}
	})
}
