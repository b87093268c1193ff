package tegsql_test

import (
	"context"
	"testing"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
)

func TestLedger_ParamsPersistAcrossWritersAndVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := open(t, db)
		ids := setup(t, a, 2, avt.AVT(1000))
		// A second writer on the same database, opened before the change: its cached head is stale.
		b := open(t, db)
		next := teg.DefaultParams()
		next.Version, next.Fee.RateBps = 2, 100
		next.Staking.UnbondingSeconds = 5
		must(t, a, teg.Command{Kind: teg.KindParams, ID: "params-2", Params: &next, Message: "raise the fee"})
		tr := must(t, b, teg.Command{Kind: teg.KindTransfer, ID: "t-b", From: ids[0], To: ids[1], Amount: avt.AVT(100)})
		if tr.Fee != avt.AVT(1) {
			t.Fatalf("the other writer charged %s, not the new 1 %% fee", tr.Fee)
		}
		// The other writer, behind the change, refuses a change made for the old version.
		stale := next
		if _, _, err := b.Do(ctx, teg.Command{Kind: teg.KindParams, ID: "params-2b", Params: &stale}); err == nil {
			t.Fatal("a second version 2 was accepted")
		}
		third := next
		third.Version, third.Fee.RateBps = 3, 20
		must(t, b, teg.Command{Kind: teg.KindParams, ID: "params-3", Params: &third})
		for _, l := range []interface {
			Params(context.Context) (teg.Params, error)
		}{a, b} {
			p, err := l.Params(ctx)
			if err != nil || p.Version != 3 || p.Fee.RateBps != 20 || p.Staking.UnbondingSeconds != 5 {
				t.Fatalf("in force: %+v %v", p, err)
			}
		}
		hist, err := a.ParamsHistory(ctx)
		if err != nil || len(hist) != 3 {
			t.Fatalf("history: %+v %v", hist, err)
		}
		if hist[0].Params.Version != 1 || hist[0].Seq != 0 || hist[1].Params.Version != 2 || hist[1].TransferID != "params-2" ||
			hist[1].Message != "raise the fee" || hist[2].Params.Fee.RateBps != 20 || hist[2].Seq <= hist[1].Seq {
			t.Fatalf("history: %+v", hist)
		}
		// A reopened ledger starts from the stored head, with version 3 in force.
		c := open(t, db)
		if tr := must(t, c, teg.Command{Kind: teg.KindTransfer, ID: "t-c", From: ids[0], To: ids[1], Amount: avt.AVT(100)}); tr.Fee != avt.MustParse("0.2") {
			t.Fatalf("after reopening: fee %s", tr.Fee)
		}
		if r := verify(t, c); r.ParamsVersion != 3 {
			t.Fatalf("verify: params version %d", r.ParamsVersion)
		}
		// The head's text tampered with: teg verify fails.
		if _, err := db.Write().ExecContext(ctx, `UPDATE teg_head SET params = ''`); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Verify(ctx); err == nil {
			t.Fatal("verify passed with the parameter set missing from the head")
		}
	})
}
