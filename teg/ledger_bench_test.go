package teg_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

// benchReader is a read-only in-memory Reader: funded accounts and no transfers. Apply never
// writes through it, so every batch of a benchmark runs against the same state.
type benchReader struct {
	accounts map[teg.AccountID]teg.Account
}

func (r *benchReader) Account(_ context.Context, id teg.AccountID) (teg.Account, error) {
	a, ok := r.accounts[id]
	if !ok {
		return teg.Account{}, teg.ErrAccountNotFound
	}
	return a, nil
}

func (r *benchReader) Transfer(context.Context, string) (teg.Transfer, bool, error) {
	return teg.Transfer{}, false, nil
}

// benchSetup returns a Reader holding n accounts with 1,000,000 AVT each (and the system accounts
// that fees credit), and a batch of MaxBatch plain transfers between random distinct accounts,
// with unique ids and amounts from 0.01 to 100 AVT (so both the minimum fee and the rate apply).
func benchSetup(n int) (*benchReader, []teg.Command) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &benchReader{accounts: make(map[teg.AccountID]teg.Account, n+len(teg.SystemAccounts))}
	ids := make([]teg.AccountID, n)
	for i := range ids {
		ids[i] = teg.AccountID(fmt.Sprintf("agt_%026d", i))
		r.accounts[ids[i]] = teg.Account{ID: ids[i], Liquid: avt.AVT(1_000_000), CreatedAt: created, Version: 1}
	}
	for _, id := range teg.SystemAccounts {
		r.accounts[id] = teg.Account{ID: id, CreatedAt: created, Version: 1}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cmds := make([]teg.Command, teg.MaxBatch)
	for i := range cmds {
		from := rng.IntN(n)
		to := (from + 1 + rng.IntN(n-1)) % n
		cmds[i] = teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("tr_%016x_%06d", rng.Uint64(), i),
			From: ids[from], To: ids[to], Amount: avt.FromUnits(rng.Uint64N(100_000_000) * 1_000_000_000_000)}
	}
	return r, cmds
}

var sinkChanges *teg.Changes

// cpuTime is the CPU time (user and system) the process used so far, garbage collection included:
// unlike the wall time, it does not count time the machine gave to other processes.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkApply measures Ledger.Apply on plain transfers among 1000 funded accounts: batches of
// MaxBatch (8190) commands, unlinked and linked, and single commands (as an unbatched caller
// submits them). One op is one batch; ns/transfer (wall), cpu-ns/transfer (process CPU time, the
// garbage collector's included), allocs/transfer and B/transfer are per command.
func BenchmarkApply(b *testing.B) {
	r, cmds := benchSetup(1000)
	l := &teg.Ledger{Params: teg.DefaultParams()}
	ctx := context.Background()
	for _, c := range []struct {
		size   int
		linked bool
	}{{teg.MaxBatch, false}, {teg.MaxBatch, true}, {1, false}} {
		b.Run(fmt.Sprintf("batch=%d/linked=%v", c.size, c.linked), func(b *testing.B) {
			var head teg.Head
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			cpu0 := cpuTime()
			b.ReportAllocs()
			next := 0
			for b.Loop() {
				batch := cmds[next : next+c.size]
				if next += c.size; next+c.size > len(cmds) {
					next = 0
				}
				ch, res, err := l.Apply(ctx, r, head, batch, c.linked)
				if err != nil {
					b.Fatal(err)
				}
				for i := range res {
					if res[i].Err != nil {
						b.Fatal(res[i].Err)
					}
				}
				head = ch.Head
				sinkChanges = ch
			}
			cpu := cpuTime() - cpu0
			runtime.ReadMemStats(&after)
			n := float64(b.N) * float64(c.size)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/transfer")
			b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/transfer")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/transfer")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/transfer")
		})
	}
}
