package tegsql_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// TestTransfersAfter_PagesTheLogInOrder: the log read after a seq, a page at a time, is every
// entry once, in order, with its transfer (kind, parties, amount, time).
func TestTransfersAfter_PagesTheLogInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := tegsql.Open(db, teg.DefaultParams(), nil)
		t.Cleanup(l.Close)
		cmds := []teg.Command{{Kind: teg.KindMint, ID: "m", Amount: avt.AVT(1000)}}
		for _, a := range []teg.AccountID{"agt_a", "agt_b"} {
			cmds = append(cmds, teg.Command{Kind: teg.KindOpen, ID: "o" + string(a), To: a}, teg.Command{Kind: teg.KindGrant, ID: "g" + string(a), To: a, Amount: avt.AVT(100)})
		}
		for i := range 7 {
			cmds = append(cmds, teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("t%d", i), From: "agt_a", To: "agt_b", Amount: avt.AVT(uint64(i + 1))})
		}
		if _, err := l.Submit(ctx, cmds, true); err != nil {
			t.Fatal(err)
		}
		var got []teg.Transfer
		for after := uint64(0); ; {
			page, err := l.TransfersAfter(ctx, after, 4)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if len(page) < 4 {
				break
			}
			after = page[len(page)-1].Seq
		}
		head, _ := l.Head(ctx)
		if uint64(len(got)) != head.Seq {
			t.Fatalf("%d entries, head %d", len(got), head.Seq)
		}
		for i, tr := range got {
			if tr.Seq != uint64(i+1) || tr.CreatedAt.IsZero() {
				t.Fatalf("entry %d: %+v", i, tr)
			}
		}
		last := got[len(got)-1]
		if last.Kind != teg.KindTransfer || last.From != "agt_a" || last.To != "agt_b" || last.Amount.Cmp(avt.AVT(7)) != 0 || last.ID != "t6" {
			t.Fatalf("last entry %+v", last)
		}
		if none, err := l.TransfersAfter(ctx, head.Seq, 10); err != nil || len(none) != 0 {
			t.Fatalf("after the head: %v %v", none, err)
		}
	})
}
