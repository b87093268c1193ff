package tegsql_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
)

// TestTiers_ScoreChangeAppliesOnTheNextTransfer: an agent whose score crosses a tier boundary
// gets that tier's per-transfer and daily limits on its next transfer, up and down.
func TestTiers_ScoreChangeAppliesOnTheNextTransfer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := open(t, db)
		ids := setup(t, l, 2, avt.AVT(100_000))
		var score atomic.Int64
		score.Store(-1) // none computed yet
		svc := &teg.Service{Store: l, Authz: policy.New(), Scores: func(_ context.Context, agent string) (int, bool) {
			s := score.Load()
			return int(s), s >= 0 && agent == string(ids[0])
		}}
		ctx := context.Background()
		agent := policy.Subject{Kind: policy.KindAgent, ID: string(ids[0])}
		pay := func(amount uint64) string {
			_, _, err := svc.Transfer(ctx, agent, teg.TransferRequest{To: ids[1], Amount: avt.AVT(amount)}, "")
			return apperr.CodeOf(err)
		}
		// No score: the default tier (New: 100 AVT a transfer).
		if c := pay(101); c != "TRANSFER_LIMIT_EXCEEDED" {
			t.Fatalf("no score, 101 AVT: %q", c)
		}
		// Trusted (400–699): 1,000 a transfer.
		score.Store(450)
		if c := pay(900); c != "" {
			t.Fatalf("Trusted, 900 AVT: %q", c)
		}
		if c := pay(1001); c != "TRANSFER_LIMIT_EXCEEDED" {
			t.Fatalf("Trusted, 1001 AVT: %q", c)
		}
		// Down to Untrusted (score 50): 10 a transfer, 100 a day — and the day already holds 900.
		score.Store(50)
		if c := pay(11); c != "TRANSFER_LIMIT_EXCEEDED" {
			t.Fatalf("Untrusted, 11 AVT: %q", c)
		}
		if c := pay(5); c != "DAILY_LIMIT_EXCEEDED" {
			t.Fatalf("Untrusted after 900 today, 5 AVT: %q", c)
		}
		// A score of 0 is Untrusted too; up to Elite (900+): 1,000,000 a transfer.
		score.Store(0)
		if c := pay(11); c != "TRANSFER_LIMIT_EXCEEDED" {
			t.Fatalf("score 0, 11 AVT: %q", c)
		}
		score.Store(950)
		if c := pay(50_000); c != "" {
			t.Fatalf("Elite, 50,000 AVT: %q", c)
		}
		verify(t, l)
	})
}

// TestService_LogsLargeTransfers: a transfer of at least LargeTransfer is one "large transfer"
// log line with its ids and amount; a smaller one, a refused one and a replay are not.
func TestService_LogsLargeTransfers(t *testing.T) {
	db := storetest.SQLite(t)
	l := open(t, db)
	ids := setup(t, l, 2, avt.AVT(100_000))
	var buf strings.Builder
	svc := &teg.Service{Store: l, Authz: policy.New(), Log: slog.New(slog.NewJSONHandler(&buf, nil)), LargeTransfer: avt.AVT(1000),
		Scores: func(context.Context, string) (int, bool) { return 950, true }}
	ctx := context.Background()
	agent := policy.Subject{Kind: policy.KindAgent, ID: string(ids[0])}
	pay := func(amount uint64, key string) {
		svc.Transfer(ctx, agent, teg.TransferRequest{To: ids[1], Amount: avt.AVT(amount)}, key)
	}
	pay(999, "")
	pay(1000, "big")
	pay(1000, "big")    // a replay
	pay(10_000_000, "") // refused: more than the balance
	if n := strings.Count(buf.String(), `"msg":"large transfer"`); n != 1 || !strings.Contains(buf.String(), `"amount":"1000"`) ||
		!strings.Contains(buf.String(), `"from":"`+string(ids[0])+`"`) {
		t.Fatalf("%d large-transfer lines:\n%s", n, buf.String())
	}
}
