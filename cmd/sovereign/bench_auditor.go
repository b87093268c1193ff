package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/auditor/auditorsql"
	"github.com/sovereign-stack/sovereign/reputation/repsql"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// benchAuditor is the auditor's consumer running beside a bench ledger load, on the server's
// schedule.
type benchAuditor struct {
	c      *auditor.Consumer
	cancel context.CancelFunc
	wg     sync.WaitGroup
	err    error
}

func startBenchAuditor(ctx context.Context, db *store.DB, l *tegsql.Ledger) *benchAuditor {
	ctx, cancel := context.WithCancel(ctx)
	a := &benchAuditor{cancel: cancel, c: &auditor.Consumer{Service: &auditor.Service{Store: auditorsql.New(db)}, Log: l,
		Ratings: repsql.New(db), Transfers: l, Holder: "bench"}}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(server.AuditorInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := a.c.Step(ctx); err != nil && ctx.Err() == nil && a.err == nil {
					a.err = err
				}
			}
		}
	}()
	return a
}

func (a *benchAuditor) stop() {
	a.cancel()
	a.wg.Wait()
}

// report prints the auditor's lag now (the load has just stopped) and waits for it to catch
// up with the ledger's head.
func (a *benchAuditor) report(ctx context.Context, out io.Writer) error {
	stopped := time.Now()
	events, behind, err := a.c.Lag(ctx)
	if err != nil {
		return err
	}
	deadline := stopped.Add(2 * time.Minute)
	for {
		n, _, err := a.c.Lag(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench ledger: the auditor is still %d events behind two minutes after the load stopped", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	caughtUp := time.Since(stopped)
	a.stop()
	if a.err != nil {
		return fmt.Errorf("bench ledger: auditor: %w", a.err)
	}
	cp, err := a.c.Service.Checkpoint(ctx)
	if err != nil {
		return err
	}
	flags, err := a.c.Service.Store.Flags(ctx, auditor.FlagQuery{Limit: 501})
	if err != nil {
		return err
	}
	nf := fmt.Sprint(len(flags))
	if len(flags) > 500 {
		nf = "over 500"
	}
	fmt.Fprintf(out, "auditor: when the load stopped events_behind=%d seconds_behind=%.2f; caught up in %.2f s (audited through event %d, %s flags)\n",
		events, behind.Seconds(), caughtUp.Seconds(), cp.Cursor, nf)
	return nil
}
