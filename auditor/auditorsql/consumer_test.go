package auditorsql_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/auditor/auditorsql"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// TestConsumer_ReplicasRaceExactlyOnce: three replicas step the consumer at once, with a short
// lease and frequent checkpoints (so the lease changes hands and replicas resume from
// checkpoints), while the ledger takes wash rings: every ring is flagged, once. Run with -race.
func TestConsumer_ReplicasRaceExactlyOnce(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	l := tegsql.Open(db, teg.DefaultParams(), nil)
	t.Cleanup(l.Close)
	const rings = 40
	var setup []teg.Command
	setup = append(setup, teg.Command{Kind: teg.KindMint, ID: "mint", Amount: avt.AVT(rings * 3 * 1000)})
	for i := range rings * 3 {
		a := teg.AccountID(fmt.Sprintf("agt_%03d", i))
		setup = append(setup, teg.Command{Kind: teg.KindOpen, ID: "open-" + string(a), To: a}, teg.Command{Kind: teg.KindGrant, ID: "grant-" + string(a), To: a, Amount: avt.AVT(1000)})
	}
	if _, err := l.Submit(ctx, setup, true); err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer done.Store(true)
		for r := range rings {
			for h := range 3 {
				from, to := fmt.Sprintf("agt_%03d", 3*r+h), fmt.Sprintf("agt_%03d", 3*r+(h+1)%3)
				c := teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("ring-%d-%d", r, h), From: teg.AccountID(from), To: teg.AccountID(to), Amount: avt.AVT(uint64(30 - h))}
				if _, _, err := l.Do(ctx, c); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	consumers := make([]*auditor.Consumer, 3)
	for i := range consumers {
		consumers[i] = &auditor.Consumer{Service: &auditor.Service{Store: auditorsql.New(db)}, Log: l, Holder: fmt.Sprintf("replica-%d", i),
			Batch: 5, LeaseTTL: 5 * time.Millisecond, CheckpointEvery: time.Millisecond}
		wg.Add(1)
		go func(c *auditor.Consumer) {
			defer wg.Done()
			for !done.Load() {
				if _, err := c.Step(ctx); err != nil && err != auditor.ErrLeaseLost {
					t.Error(err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}(consumers[i])
	}
	wg.Wait()
	head, _ := l.Head(ctx)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("the consumers did not catch up")
		}
		caught := false
		for _, c := range consumers {
			if res, err := c.Step(ctx); err == nil && res.Held && res.Cursor == head.Seq {
				caught = true
			}
		}
		if caught {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	flags, err := auditorsql.New(db).Flags(ctx, auditor.FlagQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range flags {
		if f.Rule != auditor.CircularFlow || len(f.Evidence) != 3 || seen[f.Subject] {
			t.Fatalf("flag %+v", f)
		}
		seen[f.Subject] = true
	}
	if len(flags) != rings {
		t.Fatalf("%d flags, want %d", len(flags), rings)
	}
}
