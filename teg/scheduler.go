package teg

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
)

// SchedulerStore is what the staking scheduler needs of the ledger (tegsql.Ledger has it).
type SchedulerStore interface {
	Submit(ctx context.Context, cmds []Command, linked bool) ([]Result, error)
	Params(ctx context.Context) (Params, error)
	StateReader
}

// Scheduler runs the staking work that time makes due: it pays every epoch that has ended and
// releases every unbonding entry whose period has passed. It keeps no state: the epoch clock
// and the unbonding queue are ledger state, and its commands have ids fixed by what they do
// ("epoch:N", "release:ID"), so after downtime it pays each missed epoch once, in order, and
// any number of replicas running it on one database pay each epoch exactly once — the second
// submission of a command is an idempotent replay.
type Scheduler struct {
	Store SchedulerStore
	// Now is the clock (default time.Now); it must be the ledger's clock.
	Now func() time.Time
}

// maxCatchUpEpochs bounds the epochs one RunDue pays (the next call goes on).
const maxCatchUpEpochs = 10000

// releaseBatch is how many unbonding entries one RunDue releases at most.
const releaseBatch = 1024

// RunDue pays the due epochs and releases the due unbonding entries, and says how many of each
// it applied (replays of another replica's commands included).
func (s *Scheduler) RunDue(ctx context.Context) (epochs, releases int, err error) {
	if epochs, err = s.payEpochs(ctx); err != nil {
		return epochs, 0, err
	}
	releases, err = s.release(ctx)
	return epochs, releases, err
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Scheduler) payEpochs(ctx context.Context) (int, error) {
	paid := 0
	for paid < maxCatchUpEpochs {
		text, ok, err := s.Store.State(ctx, EpochKey)
		if err != nil || !ok {
			return paid, err
		}
		clock, err := DecodeEpochClock(text)
		if err != nil {
			return paid, err
		}
		p, err := s.Store.Params(ctx)
		if err != nil {
			return paid, err
		}
		if s.now().Before(clock.EndedAt.Add(time.Duration(p.Staking.EpochSeconds) * time.Second)) {
			return paid, nil
		}
		n := clock.Epoch + 1
		res, err := s.Store.Submit(ctx, []Command{{Kind: KindEpoch, ID: fmt.Sprintf("epoch:%d", n), Staking: &StakingArgs{Epoch: n}}}, false)
		if err != nil {
			return paid, err
		}
		if err := res[0].Err; err != nil {
			// Another replica may have paid it under us, or the parameters changed: read again.
			if code := apperr.CodeOf(err); code == ErrEpochOutOfOrder.Code || code == ErrEpochNotDue.Code {
				continue
			}
			return paid, err
		}
		paid++
	}
	return paid, nil
}

func (s *Scheduler) release(ctx context.Context) (int, error) {
	queue, err := s.Store.ScanState(ctx, UnbondingQueuePrefix, releaseBatch)
	if err != nil {
		return 0, err
	}
	now := s.now()
	var cmds []Command
	for _, e := range queue {
		// Keys are "ubq/<completion, µs, 20 digits>/<id>": in completion order.
		if due, err := queueDue(e.Key, UnbondingQueuePrefix, now); err != nil || !due {
			if err != nil {
				return 0, err
			}
			break
		}
		id := e.Value[strings.IndexByte(e.Value, '/')+1:]
		cmds = append(cmds, Command{Kind: KindRelease, ID: "release:" + id, Staking: &StakingArgs{Entry: e.Value}})
	}
	// Not found: another replica released it between the scan and the submit.
	return submitSteps(ctx, s.Store, cmds, ErrUnbondingNotFound.Code)
}

// queueDue reports whether the entry key of a time-ordered queue ("<prefix><µs, 20
// digits>/<id>") is due at now.
func queueDue(key, prefix string, now time.Time) (bool, error) {
	rest := strings.TrimPrefix(key, prefix)
	var at int64
	if _, err := fmt.Sscanf(rest[:min(20, len(rest))], "%d", &at); err != nil {
		return false, apperr.Internalf("queue key %s: %w", key, err)
	}
	return at <= now.UnixMicro(), nil
}

// submitSteps submits a scheduler's commands, each on its own, and returns how many were
// applied; a refusal with one of the codes another replica's earlier step explains is passed
// over, any other ends the run.
func submitSteps(ctx context.Context, store SchedulerStore, cmds []Command, tolerated ...string) (int, error) {
	if len(cmds) == 0 {
		return 0, nil
	}
	res, err := store.Submit(ctx, cmds, false)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range res {
		if r.Err == nil {
			n++
		} else if !slices.Contains(tolerated, apperr.CodeOf(r.Err)) {
			return n, r.Err
		}
	}
	return n, nil
}
