package server_test

import (
	"os"
	"testing"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// TestBalanceCache_ReplicasNeverShowAnOlderBalance: two replicas on one database, each with
// the balance cache (each its own without Redis, shared with it); transfers alternate between
// them and after each one both show the payer's new balance, never the one before — also from
// the cache (the account is read, hence hot, before each transfer).
func TestBalanceCache_ReplicasNeverShowAnOlderBalance(t *testing.T) {
	for _, mode := range []string{"memory", "redis"} {
		t.Run(mode, func(t *testing.T) {
			url := os.Getenv("SOVEREIGN_TEST_REDIS")
			if mode == "redis" && url == "" {
				t.Skip("SOVEREIGN_TEST_REDIS not set: skipping the balance cache in Redis")
			}
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ids := t.TempDir()
				opts := []stackOption{withGenesis, func(c *config.Config) { c.IdentityDir = ids }}
				if mode == "redis" {
					opts = append(opts, func(c *config.Config) { c.Redis = url })
				}
				a, b := newStack(t, db, opts...), newStack(t, db, opts...)
				ada := a.register("ada@example.com", true)
				payer, payee := a.registerAgent(ada, "Payer Agent"), a.registerAgent(ada, "Payee Agent")
				tok := bearer(a.clientToken(payer).want(t, 200, "").str("access_token"))
				balance := func(s *stack) avt.Amount {
					t.Helper()
					v, err := avt.Parse(s.do("GET", "/api/v1/token/balance", nil, tok).want(t, 200, "").str("liquid"))
					if err != nil {
						t.Fatal(err)
					}
					return v
				}
				last := balance(a)
				for i := 0; i < 8; i++ {
					w, r := a, b
					if i%2 == 1 {
						w, r = b, a
					}
					balance(r) // hot on both
					w.do("POST", "/api/v1/token/transfer", map[string]any{"to": payee.ID, "amount": "1"}, tok).want(t, 201, "")
					for n, s := range []*stack{w, r, r, w} {
						if got := balance(s); got.Cmp(last) >= 0 {
							t.Fatalf("transfer %d, read %d: balance %s, %s before the transfer", i, n, got, last)
						}
					}
					last = balance(a)
					if got := balance(b); got.Cmp(last) != 0 {
						t.Fatalf("transfer %d: replicas disagree: %s and %s", i, last, got)
					}
				}
				hits := 0
				for _, s := range []*stack{a, b} {
					if v := sample(scrape(t, s.server.MetricsHandler()), `sovereign_hotcache_hits_total{kind="balance"}`); v != "" && v != "0" {
						hits++
					}
				}
				if hits == 0 {
					t.Fatal("no balance was read from the cache")
				}
			})
		})
	}
}
