package tegsql_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
)

// BenchmarkBatchedTransfers submits linked batches of 8,190 transfers among 10,000 or 1,000 accounts from
// GOMAXPROCS clients and
// reports transfers per second (durable: SQLite synchronous=FULL, PostgreSQL synchronous commit).
func BenchmarkBatchedTransfers(b *testing.B) {
	for _, c := range []struct {
		dialect  string
		accounts int
	}{{"sqlite", 10000}, {"sqlite", 1000}, {"postgres", 10000}} {
		dialect := c.dialect
		b.Run(fmt.Sprintf("%s/accounts=%d", dialect, c.accounts), func(b *testing.B) {
			var db *store.DB
			if dialect == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			l := open(b, db)
			ids := setup(b, l, c.accounts, avt.AVT(10_000))
			ctx := context.Background()
			var n atomic.Int64
			b.ResetTimer()
			// Two clients, so the writer can prepare one batch while it commits the other.
			b.SetParallelism(1)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					cmds := make([]teg.Command, teg.MaxBatch)
					for j := range cmds {
						k := n.Add(1)
						cmds[j] = teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("bt-%012d", k), From: ids[k%int64(len(ids))], To: ids[(k*7+1)%int64(len(ids))], Amount: avt.FromUnits(uint64(k))}
					}
					if _, err := l.Submit(ctx, cmds, true); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*teg.MaxBatch)/b.Elapsed().Seconds(), "transfers/s")
		})
	}
}
