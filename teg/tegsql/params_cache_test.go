package tegsql_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/hotcache"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// TestLedger_ParamsCache: two ledgers sharing a params cache (one memory cache, or Redis) read
// the same history as a ledger without one, byte for byte, after each change either makes; a
// change shows at once.
func TestLedger_ParamsCache(t *testing.T) {
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				var c hotcache.Cache[[]teg.ParamsVersion]
				if kind == "memory" {
					c = hotcache.NewMemory[[]teg.ParamsVersion](4, time.Minute)
				} else {
					rdb, p := testRedis(t, "params")
					c = hotcache.NewRedis(rdb, p, time.Minute, tegsql.ParamsCodec)
				}
				var st hotcache.Stats
				ic := hotcache.Instrument(c, &st)
				ctx := context.Background()
				mk := func() *tegsql.Ledger {
					l := tegsql.Open(db, teg.DefaultParams(), time.Now, tegsql.WithParamsCache(ic))
					t.Cleanup(l.Close)
					return l
				}
				a, b, ref := mk(), mk(), open(t, db)
				same := func(l *tegsql.Ledger, n int) {
					t.Helper()
					want, err := ref.ParamsHistory(ctx)
					if err != nil {
						t.Fatal(err)
					}
					got, err := l.ParamsHistory(ctx)
					if err != nil {
						t.Fatal(err)
					}
					wb, _ := json.Marshal(want)
					gb, _ := json.Marshal(got)
					if string(wb) != string(gb) || len(got) != n {
						t.Fatalf("history:\n got  %s\n want %s", gb, wb)
					}
				}
				same(a, 1)
				same(b, 1)
				next := teg.DefaultParams()
				next.Version, next.Fee.RateBps = 2, 100
				must(t, a, teg.Command{Kind: teg.KindParams, ID: "params-2", Params: &next, Message: "raise the fee"})
				same(b, 2)
				same(a, 2)
				third := next
				third.Version, third.Fee.RateBps = 3, 20
				must(t, b, teg.Command{Kind: teg.KindParams, ID: "params-3", Params: &third})
				same(a, 3)
				same(b, 3)
				if st.Hits.Load() < 2 {
					t.Fatalf("hits %d, misses %d", st.Hits.Load(), st.Misses.Load())
				}
			})
		})
	}
}
