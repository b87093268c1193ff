package reputation_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/reputation/repsql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// BenchmarkRunPass is a full pass from the store — load every rating, EigenTrust, each agent's
// stake from the ledger's state, store every score — over 10,000 agents and 100,000 ratings on
// SQLite (PostgreSQL too when SOVEREIGN_TEST_POSTGRES is set).
func BenchmarkRunPass(b *testing.B) {
	for _, c := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(c.name, func(b *testing.B) {
			db := c.open(b)
			const agents, ratings = 10_000, 100_000
			seedRatings(b, db, agents, ratings)
			ledger := tegsql.Open(db, teg.DefaultParams(), nil)
			defer ledger.Close()
			svc := &reputation.Service{Store: repsql.New(db), Ledger: ledger, Staking: reputation.LedgerStaking{Service: &teg.Service{Store: ledger, Authz: policy.New()}},
				Authz: policy.New()}
			b.ResetTimer()
			var last reputation.PassResult
			for b.Loop() {
				r, err := svc.RunPass(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				last = r
			}
			b.ReportMetric(last.LoadTime.Seconds(), "load_s")
			b.ReportMetric(last.Compute.Seconds(), "compute_s")
			b.ReportMetric(float64(last.Agents), "agents")
		})
	}
}

// seedRatings stores n random ratings among agents agt_0…, 1000 rows a statement.
func seedRatings(b *testing.B, db *store.DB, agents, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	mark := "$"
	if db.Dialect() == store.SQLite {
		mark = "?"
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		for i := 0; i < n; i += 1000 {
			var sb strings.Builder
			sb.WriteString(`INSERT INTO reputation_ratings (interaction_id, rater, ratee, stars, comment, created_at) VALUES `)
			var args []any
			for k := range min(1000, n-i) {
				if k > 0 {
					sb.WriteString(",")
				}
				j := len(args)
				fmt.Fprintf(&sb, "(%[1]s%[2]d, %[1]s%[3]d, %[1]s%[4]d, %[1]s%[5]d, '', %[1]s%[6]d)", mark, j+1, j+2, j+3, j+4, j+5)
				from, to := rng.IntN(agents), rng.IntN(agents)
				args = append(args, fmt.Sprintf("tx_%d", i+k), fmt.Sprintf("agt_%d", from), fmt.Sprintf("agt_%d", to), 1+rng.IntN(5), store.Time(at))
			}
			if _, err := tx.ExecContext(context.Background(), sb.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
