// Command sovereign is the Sovereign Stack's one binary: it runs the embedded stack (`up`),
// migrates stores, and carries the operator and developer commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sovereign:", err)
		stop()
		os.Exit(1)
	}
}
