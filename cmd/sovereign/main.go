// Command sovereign is the Sovereign Stack's one binary: it runs the embedded stack (`up`),
// migrates stores, and carries the operator and developer commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set. The server's live
// heap is small (tens of MiB) and its allocation rate high; at Go's default of 100 the collector
// ran often enough to take a fifth of two cores and set the tail latency of the ledger's HTTP
// route (docs/PERFORMANCE.md: p99 25 ms at 100, 19 ms at 400). GOGC, when set, wins.
const defaultGCPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sovereign:", explain(err))
		stop()
		os.Exit(1)
	}
}
