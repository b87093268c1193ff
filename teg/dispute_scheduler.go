package teg

import (
	"context"
	"fmt"
	"time"
)

// DisputeScheduler takes the steps of disputes whose deadlines passed: an OPEN dispute without
// evidence expires, an EVIDENCE one goes to arbitration (its panel drawn), a vote is tallied, a
// ruling not appealed in time closes. Like Scheduler it keeps no state: the deadline queue is
// ledger state, and each step's command id is fixed by what it does
// ("dispute:<id>:<state>:<rounds>"), so any number of replicas take each step exactly once (the
// second submission is a replay, or is refused because the dispute moved on).
type DisputeScheduler struct {
	Store SchedulerStore
	// Candidates lists the agents eligible to arbitrate a dispute (Service.ArbitratorCandidates).
	Candidates func(ctx context.Context, d *Dispute) ([]AccountID, error)
	// Now is the clock (default time.Now); it must be the ledger's clock.
	Now func() time.Time
}

// disputeBatch is how many due disputes one RunDue steps at most.
const disputeBatch = 256

// RunDue takes the due steps and says how many it applied (replays included).
func (s *DisputeScheduler) RunDue(ctx context.Context) (int, error) {
	queue, err := s.Store.ScanState(ctx, DisputeQueuePrefix, disputeBatch)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	var cmds []Command
	for _, e := range queue {
		// Keys are "dspq/<deadline, µs, 20 digits>/<id>": soonest first.
		if due, err := queueDue(e.Key, DisputeQueuePrefix, now); err != nil || !due {
			if err != nil {
				return 0, err
			}
			break
		}
		text, ok, err := s.Store.State(ctx, DisputeKey(e.Value))
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		d, err := DecodeDispute(text)
		if err != nil {
			return 0, err
		}
		a := &DisputeArgs{Dispute: d.ID, From: d.State}
		if d.State == DisputeEvidence && s.Candidates != nil {
			if a.Candidates, err = s.Candidates(ctx, d); err != nil {
				return 0, err
			}
		}
		cmds = append(cmds, Command{Kind: KindDisputeAdvance, ID: fmt.Sprintf("dispute:%s:%s:%d", d.ID, d.State, len(d.Rounds)), Dispute: a})
	}
	// Another replica may have taken the step between the scan and the submit.
	return submitSteps(ctx, s.Store, cmds, ErrDisputeState.Code, ErrDisputeClosed.Code, ErrDisputeNotDue.Code, ErrIdempotencyReused.Code)
}
