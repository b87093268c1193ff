package tegsql_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
)

// BenchmarkBatchedTransfers submits linked batches of 8,190 transfers among 10,000 accounts and
// reports transfers per second (durable: SQLite synchronous=FULL, PostgreSQL synchronous commit).
func BenchmarkBatchedTransfers(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *store.DB
			if dialect == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			l := open(b, db)
			ids := setup(b, l, 10000, avt.AVT(10_000))
			ctx := context.Background()
			n := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cmds := make([]teg.Command, teg.MaxBatch)
				for j := range cmds {
					n++
					cmds[j] = teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("bt-%d", n), From: ids[n%len(ids)], To: ids[(n*7+1)%len(ids)], Amount: avt.FromUnits(uint64(n))}
				}
				if _, err := l.Submit(ctx, cmds, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*teg.MaxBatch)/b.Elapsed().Seconds(), "transfers/s")
		})
	}
}
