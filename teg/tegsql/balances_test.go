package tegsql_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/hotcache"
	"github.com/sovereign-stack/sovereign/redistest"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// testRedis returns a client of SOVEREIGN_TEST_REDIS and a fresh key prefix (its keys are
// deleted at the end of the test), or skips the test without one.
func testRedis(t *testing.T, kind string) (*redis.Client, string) {
	t.Helper()
	rdb := redistest.Client(t, "the "+kind+" cache in Redis")
	return rdb, redistest.Prefix(t, rdb, "sovereign-test:hot:"+kind+":")
}

// cacheModes are the ways TEG replicas hold the balance cache: one memory cache shared by the
// ledgers of a test, Redis, or a memory cache of each ledger's own (local: hits checked
// against the stored head).
var cacheModes = []string{"memory", "redis", "local"}

// balanceCaches returns the option of a ledger in mode: a balance cache and a hot set, in
// memory or in Redis (shared by every ledger the option is given to), or, in local mode, a
// new pair for each ledger; the balances counted in st.
func balanceCaches(t *testing.T, mode string, ttl time.Duration, st *hotcache.Stats) func() tegsql.Option {
	t.Helper()
	mem := func() tegsql.Option {
		return tegsql.WithBalanceCache(hotcache.Instrument(hotcache.NewMemory[teg.Account](1000, ttl), st), hotcache.NewMemory[bool](1000, tegsql.HotTTL), ttl, mode == "local")
	}
	switch mode {
	case "local":
		return mem
	case "redis":
		rdb, p := testRedis(t, "balance")
		o := tegsql.WithBalanceCache(hotcache.Instrument(hotcache.NewRedis(rdb, p+"v:", ttl, tegsql.BalanceCodec), st),
			hotcache.NewRedis(rdb, p+"h:", tegsql.HotTTL, tegsql.HotCodec), ttl, false)
		return func() tegsql.Option { return o }
	}
	o := mem()
	return func() tegsql.Option { return o }
}

// twoCached opens two ledgers (two TEG replicas) on db with balance caches in mode, and four
// accounts funded with each through the first; the balances are counted in st.
func twoCached(t *testing.T, db *store.DB, mode string, each avt.Amount) (a, b *tegsql.Ledger, ids []teg.AccountID, st *hotcache.Stats) {
	t.Helper()
	st = &hotcache.Stats{}
	opt := balanceCaches(t, mode, tegsql.BalanceTTL, st)
	a = openCached(t, db, opt())
	ids = setup(t, a, 4, each)
	return a, openCached(t, db, opt()), ids, st
}

func openCached(t testing.TB, db *store.DB, o tegsql.Option) *tegsql.Ledger {
	l := tegsql.Open(db, teg.DefaultParams(), time.Now, o)
	t.Cleanup(l.Close)
	return l
}

func sameAccount(t *testing.T, what string, got, want teg.Account) {
	t.Helper()
	if got.Version != want.Version || got.Liquid.Cmp(want.Liquid) != 0 || got.Locked.Cmp(want.Locked) != 0 || got.StatusOrActive() != want.StatusOrActive() || got.ID != want.ID {
		t.Fatalf("%s: got %s v%d liquid %s, store has v%d liquid %s", what, got.ID, got.Version, got.Liquid, want.Version, want.Liquid)
	}
}

// TestBalanceCache_ReadAfterAckIsCurrent: two ledgers (two TEG replicas) on one database share
// a balance cache (memory, or Redis); both write, and after each acknowledged transfer both
// read exactly the stored account — never the older value — mostly from the cache.
func TestBalanceCache_ReadAfterAckIsCurrent(t *testing.T) {
	for _, kind := range cacheModes {
		t.Run(kind, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				a, b, ids, st := twoCached(t, db, kind, avt.AVT(1000))
				ref := open(t, db)
				ctx := context.Background()
				check := func(step string) {
					t.Helper()
					for _, id := range ids {
						want, err := ref.Account(ctx, id)
						if err != nil {
							t.Fatal(err)
						}
						for n, l := range []*tegsql.Ledger{a, b} {
							got, err := l.Account(ctx, id)
							if err != nil {
								t.Fatal(err)
							}
							sameAccount(t, fmt.Sprintf("%s, ledger %d", step, n), got, want)
						}
					}
				}
				check("first read") // misses: the accounts become hot
				for i := 0; i < 20; i++ {
					w := []*tegsql.Ledger{a, b}[i%2]
					must(t, w, teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("t-%d", i), From: ids[i%4], To: ids[(i+1)%4], Amount: avt.AVT(uint64(i + 1))})
					check(fmt.Sprintf("after transfer %d", i))
				}
				// Local caches serve a ledger's own writes only while the other does not write.
				if min := map[bool]int64{false: 100, true: 20}[kind == "local"]; st.Hits.Load() < min {
					t.Fatalf("hits %d, misses %d: the cache was not used", st.Hits.Load(), st.Misses.Load())
				}
			})
		})
	}
}

// TestBalanceCache_ConcurrentNeverOlderThanAcked: writers on two ledgers (one database, one
// shared cache) move tokens between a few hot accounts while readers on both read them; every
// read returns a version at least the newest one acknowledged before the read began.
func TestBalanceCache_ConcurrentNeverOlderThanAcked(t *testing.T) {
	for _, kind := range cacheModes {
		t.Run(kind, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				a, b, ids, st := twoCached(t, db, kind, avt.AVT(1_000_000))
				ls := []*tegsql.Ledger{a, b}
				acked := make([]atomic.Uint64, len(ids)) // newest version acknowledged, per account
				raise := func(i int, v uint64) {
					for {
						cur := acked[i].Load()
						if v <= cur || acked[i].CompareAndSwap(cur, v) {
							return
						}
					}
				}
				ctx, cancel := context.WithCancel(context.Background())
				var wg, readers sync.WaitGroup
				for g := 0; g < 4; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						l := ls[g%2]
						for i := 0; i < 40; i++ {
							from, to := (g+i)%4, (g+i+1)%4
							// The transfer gets a version above what the primary holds before
							// it: once acknowledged, no read may show less. (A read after the
							// ack is no floor: it may show another ledger's group, committed
							// but not yet acknowledged, whose write-through is still on its way.)
							var pre [2]uint64
							for j, k := range []int{from, to} {
								if err := db.Write().QueryRowContext(ctx, `SELECT version FROM teg_accounts WHERE id = $1`, string(ids[k])).Scan(&pre[j]); err != nil {
									t.Error(err)
									return
								}
							}
							_, _, err := l.Do(ctx, teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("c-%d-%d", g, i), From: ids[from], To: ids[to], Amount: avt.AVT(1)})
							if err != nil {
								t.Error(err)
								return
							}
							for j, k := range []int{from, to} {
								raise(k, pre[j]+1)
							}
						}
					}()
				}
				for g := 0; g < 4; g++ {
					readers.Add(1)
					go func() {
						defer readers.Done()
						l := ls[g%2]
						for i := 0; ctx.Err() == nil; i++ {
							k := i % 4
							floor := acked[k].Load()
							acc, err := l.Account(ctx, ids[k])
							if err != nil {
								if !errors.Is(err, context.Canceled) {
									t.Error(err)
								}
								return
							}
							if acc.Version < floor {
								t.Errorf("read %s at version %d after version %d was acknowledged", ids[k], acc.Version, floor)
								return
							}
						}
					}()
				}
				wg.Wait()
				cancel()
				readers.Wait()
				verify(t, a)
				if st.Hits.Load() == 0 {
					t.Fatalf("no hits (misses %d)", st.Misses.Load())
				}
			})
		})
	}
}

// failing is a cache whose Set and Invalidate fail on demand.
type failing struct {
	hotcache.Cache[teg.Account]
	set, inv    atomic.Bool
	invalidated atomic.Int64
}

var errDown = errors.New("cache down")

func (f *failing) Set(ctx context.Context, key string, v int64, a teg.Account) error {
	if f.set.Load() {
		return errDown
	}
	return f.Cache.Set(ctx, key, v, a)
}

func (f *failing) Invalidate(ctx context.Context, key string, v int64) error {
	f.invalidated.Add(1)
	if f.inv.Load() {
		return errDown
	}
	return f.Cache.Invalidate(ctx, key, v)
}

// TestBalanceCache_WriteThroughFails: when the write-through fails the writer invalidates
// (reads then come from the store, current); when invalidating fails too, it answers only
// after the entry TTL since the commit, and counts it.
func TestBalanceCache_WriteThroughFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const ttl = 300 * time.Millisecond
		f := &failing{Cache: hotcache.NewMemory[teg.Account](100, ttl)}
		l := openCached(t, db, tegsql.WithBalanceCache(f, hotcache.NewMemory[bool](100, tegsql.HotTTL), ttl, false))
		ids := setup(t, l, 2, avt.AVT(100))
		ref := open(t, db)
		ctx := context.Background()
		read := func(step string) {
			t.Helper()
			want, err := ref.Account(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.Account(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			sameAccount(t, step, got, want)
		}
		read("first read")
		must(t, l, teg.Command{Kind: teg.KindTransfer, ID: "t1", From: ids[0], To: ids[1], Amount: avt.AVT(1)})
		read("written through")

		f.set.Store(true)
		must(t, l, teg.Command{Kind: teg.KindTransfer, ID: "t2", From: ids[0], To: ids[1], Amount: avt.AVT(1)})
		if f.invalidated.Load() == 0 {
			t.Fatal("a failed write-through did not invalidate")
		}
		read("invalidated")
		if n := l.DelayedAcks(); n != 0 {
			t.Fatalf("delayed acks %d", n)
		}

		f.inv.Store(true)
		start := time.Now()
		must(t, l, teg.Command{Kind: teg.KindTransfer, ID: "t3", From: ids[0], To: ids[1], Amount: avt.AVT(1)})
		if el := time.Since(start); el < ttl {
			t.Fatalf("acknowledged after %v, before the entry TTL %v", el, ttl)
		}
		if n := l.DelayedAcks(); n != 1 {
			t.Fatalf("delayed acks %d, want 1", n)
		}
		read("after the delayed ack")
		// A group that touches no hot account is not held back.
		start = time.Now()
		must(t, l, teg.Command{Kind: teg.KindMint, ID: "m2", Amount: avt.AVT(5)})
		if el := time.Since(start); el >= ttl || l.DelayedAcks() != 1 {
			t.Fatalf("a group of no hot account took %v, delayed acks %d", el, l.DelayedAcks())
		}
		if _, err := l.Account(ctx, "nobody"); apperr.CodeOf(err) == "" {
			t.Fatalf("missing account: %v", err)
		}
	})
}

// BenchmarkAccountRead reads a hot account (written through after a transfer) from the store
// alone, from a local balance cache (a hit checked against the stored head), and from a
// shared one (memory here; Redis adds its round trip), on SQLite and PostgreSQL.
func BenchmarkAccountRead(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, mode := range []string{"store", "local", "shared"} {
			b.Run(dialect+"/"+mode, func(b *testing.B) {
				db := storetest.SQLite(b)
				if dialect == "postgres" {
					db = storetest.Postgres(b)
				}
				l := open(b, db)
				if mode != "store" {
					l = openCached(b, db, tegsql.WithBalanceCache(hotcache.NewMemory[teg.Account](0, time.Hour), hotcache.NewMemory[bool](0, tegsql.HotTTL), time.Hour, mode == "local"))
				}
				id := teg.AccountID("agt_bench_" + mode)
				must(b, l, teg.Command{Kind: teg.KindMint, ID: "bench-mint-" + mode, Amount: avt.AVT(100)})
				must(b, l, teg.Command{Kind: teg.KindOpen, ID: "bench-open-" + mode, To: id})
				ctx := context.Background()
				if _, err := l.Account(ctx, id); err != nil { // hot from now on
					b.Fatal(err)
				}
				must(b, l, teg.Command{Kind: teg.KindGrant, ID: "bench-grant-" + mode, To: id, Amount: avt.AVT(1)})
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := l.Account(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
