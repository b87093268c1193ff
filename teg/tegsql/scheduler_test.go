package tegsql_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// schedClock is a clock tests move by hand, shared by the ledgers and schedulers of a test.
type schedClock struct{ d atomic.Int64 }

func (c *schedClock) now() time.Time { return stakeBase.Add(time.Duration(c.d.Load())) }

func (c *schedClock) advance(d time.Duration) { c.d.Add(int64(d)) }

// stakedLedger opens a ledger on db with the test staking parameters and clock, funds two
// agents and has one stake and the other become a validator (which starts the epoch clock).
func stakedLedger(t *testing.T, db *store.DB, clock *schedClock) *tegsql.Ledger {
	l := tegsql.Open(db, stakingParams(), clock.now)
	t.Cleanup(l.Close)
	must(t, l, teg.Command{Kind: teg.KindMint, ID: "mint", Amount: avt.AVT(1_000_000)})
	for _, a := range []teg.AccountID{"agt_a", "agt_v"} {
		must(t, l, teg.Command{Kind: teg.KindOpen, ID: "open-" + string(a), To: a})
		must(t, l, teg.Command{Kind: teg.KindGrant, ID: "grant-" + string(a), To: a, Amount: avt.AVT(5000)})
	}
	must(t, l, teg.Command{Kind: teg.KindValidatorCreate, ID: "val", From: "agt_v", Amount: avt.AVT(1000), Staking: &teg.StakingArgs{}})
	must(t, l, teg.Command{Kind: teg.KindStake, ID: "stake", From: "agt_a", Amount: avt.AVT(100), Staking: &teg.StakingArgs{Validator: "agt_v"}})
	return l
}

// epochEvents returns the epoch numbers of the log's epoch events, in log order.
func epochEvents(t *testing.T, l *tegsql.Ledger) []string {
	t.Helper()
	var out []string
	for after := uint64(0); ; {
		es, err := l.Entries(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Event.Kind == teg.KindEpoch {
				out = append(out, e.Event.Data["epoch"])
			}
			after = e.Event.Seq
		}
		if len(es) < 1000 {
			return out
		}
	}
}

func wantEpochs(t *testing.T, got []string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d epoch events (%v), want %d", len(got), got, n)
	}
	for i, e := range got {
		if e != fmt.Sprint(i+1) {
			t.Fatalf("epoch events out of order: %v", got)
		}
	}
}

// TestScheduler_CatchesUpAfterDowntime: the clock jumps ten epochs while nothing runs; on start
// the scheduler pays every epoch once, in order, and then nothing more until the next is due.
func TestScheduler_CatchesUpAfterDowntime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &schedClock{}
		l := stakedLedger(t, db, clock)
		s := &teg.Scheduler{Store: l, Now: clock.now}
		if n, _, err := s.RunDue(context.Background()); err != nil || n != 0 {
			t.Fatalf("before the first epoch ended: %d epochs, %v", n, err)
		}
		clock.advance(10*time.Minute + 30*time.Second) // epochs last 60 s
		n, _, err := s.RunDue(context.Background())
		if err != nil || n != 10 {
			t.Fatalf("after ten epochs of downtime: paid %d, %v", n, err)
		}
		if n, _, _ := s.RunDue(context.Background()); n != 0 {
			t.Fatalf("a second run paid %d more", n)
		}
		wantEpochs(t, epochEvents(t, l), 10)
		clock.advance(30 * time.Second)
		if n, _, _ := s.RunDue(context.Background()); n != 1 {
			t.Fatalf("the eleventh epoch: paid %d", n)
		}
		var c teg.Service
		c.Store = l
		pos, err := c.StakingOfUnchecked(context.Background(), "agt_a")
		if err != nil {
			t.Fatal(err)
		}
		if pos.Rewards.IsZero() || pos.Epoch.Epoch != 11 {
			t.Fatalf("after 11 epochs the delegator has %s rewards, clock at epoch %d", pos.Rewards, pos.Epoch.Epoch)
		}
		verify(t, l)
	})
}

// TestScheduler_TwoReplicasPayEachEpochOnce: two ledgers (two processes' writers) on one
// PostgreSQL database run the scheduler at the same time; each epoch is paid exactly once.
func TestScheduler_TwoReplicasPayEachEpochOnce(t *testing.T) {
	db := storetest.Postgres(t)
	clock := &schedClock{}
	a := stakedLedger(t, db, clock)
	b := tegsql.Open(db, stakingParams(), clock.now)
	t.Cleanup(b.Close)
	clock.advance(10*time.Minute + 30*time.Second)
	var wg sync.WaitGroup
	var total atomic.Int64
	for _, l := range []*tegsql.Ledger{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &teg.Scheduler{Store: l, Now: clock.now}
			for range 5 {
				n, _, err := s.RunDue(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				total.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	wantEpochs(t, epochEvents(t, a), 10)
	verify(t, a)
	if total.Load() < 10 {
		t.Fatalf("the schedulers report %d epochs applied", total.Load())
	}
}

// TestScheduler_ReleasesUnbonding: an unstake is released to the delegator once its unbonding
// period passed, not before, and once.
func TestScheduler_ReleasesUnbonding(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &schedClock{}
		l := stakedLedger(t, db, clock)
		must(t, l, teg.Command{Kind: teg.KindUnstake, ID: "unstake", From: "agt_a", Amount: avt.AVT(40), Staking: &teg.StakingArgs{Validator: "agt_v"}})
		before, _ := l.Account(context.Background(), "agt_a")
		s := &teg.Scheduler{Store: l, Now: clock.now}
		clock.advance(119 * time.Second) // unbonding lasts 120 s
		if _, r, err := s.RunDue(context.Background()); err != nil || r != 0 {
			t.Fatalf("before the period ended: released %d, %v", r, err)
		}
		clock.advance(time.Second)
		if _, r, err := s.RunDue(context.Background()); err != nil || r != 1 {
			t.Fatalf("when the period ended: released %d, %v", r, err)
		}
		if _, r, _ := s.RunDue(context.Background()); r != 0 {
			t.Fatalf("released again: %d", r)
		}
		after, _ := l.Account(context.Background(), "agt_a")
		if got, _ := after.Liquid.Sub(before.Liquid); got != avt.AVT(40) {
			t.Fatalf("the release paid %s, want 40", got)
		}
		verify(t, l)
	})
}
