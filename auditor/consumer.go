package auditor

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/teg"
)

// Log is the ledger's event log as the consumer reads it: the transfers of the events after a
// sequence number, in order, and the head.
type Log interface {
	TransfersAfter(ctx context.Context, after uint64, limit int) ([]teg.Transfer, error)
	Head(ctx context.Context) (teg.Head, error)
}

// Defaults of a Consumer.
const (
	DefaultBatch           = 4096
	DefaultLeaseTTL        = 15 * time.Second
	DefaultCheckpointEvery = 30 * time.Second
	DefaultStepBudget      = 2 * time.Second
)

// Consumer reads the ledger's event log after its durable cursor, runs the rules, and stores
// the flags and the new cursor together: on one replica at a time (the lease in the store;
// the others' Step does nothing), outside the request path (the server calls Step from its
// background loop). The engine's memory is checkpointed every CheckpointEvery; a replica that
// takes the lease over resumes from the checkpoint, and a flag seen again is stored once (its
// dedupe key), so every pattern is flagged exactly once.
type Consumer struct {
	Service   *Service
	Log       Log
	Directory Directory // SYBIL_FUNNEL's registry look-ups (nil: none)
	Limits    Limits    // LARGE_TRANSFER's tier limits (nil: the σ test only)
	Ratings   Ratings   // RATING_RING's ratings (nil: no ring scans)
	Transfers Transfers // RATING_RING's evidence (nil: no ring scans)
	// Holder names this replica in the lease.
	Holder          string
	Batch           int
	LeaseTTL        time.Duration
	CheckpointEvery time.Duration
	// StepBudget bounds how long one Step reads before returning (it returns earlier when
	// caught up).
	StepBudget time.Duration
	Now        func() time.Time

	mu       sync.Mutex
	engine   *Engine
	holding  bool
	cursor   uint64
	lastSnap time.Time
	lastRing time.Time
	// ringsSeen are the rings this replica has stored flags of.
	ringsSeen map[string]bool
}

// StepResult is what one Step did.
type StepResult struct {
	Held   bool   // this replica holds the lease
	Events int    // events read
	Flags  int    // new flags stored
	Cursor uint64 // the last event audited
}

func (c *Consumer) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// Step claims or renews the lease and, holding it, audits the events after the cursor until
// caught up or out of StepBudget, then scans the ratings for rings when one is due.
func (c *Consumer) Step(ctx context.Context) (StepResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	st := c.Service.Store
	held, err := st.ClaimLease(ctx, c.Holder, c.now(), orDefault(c.LeaseTTL, DefaultLeaseTTL))
	if err != nil || !held {
		c.holding = false
		return StepResult{}, err
	}
	params, err := c.Service.CurrentParams(ctx)
	if err != nil {
		return StepResult{Held: true}, err
	}
	if !c.holding {
		cp, err := st.Checkpoint(ctx)
		if err != nil {
			return StepResult{Held: true}, err
		}
		e := NewEngine(params)
		if err := e.Restore(cp.Snapshot, cp.SnapshotSeq); err != nil {
			return StepResult{Held: true}, err
		}
		c.engine, c.cursor, c.holding, c.lastSnap = e, cp.Cursor, true, time.Now()
	}
	e := c.engine
	e.Params, e.Directory, e.Limits = params, c.Directory, c.Limits
	res := StepResult{Held: true, Cursor: c.cursor}
	batch := orDefault(c.Batch, DefaultBatch)
	for time.Since(start) < orDefault(c.StepBudget, DefaultStepBudget) {
		ts, err := c.Log.TransfersAfter(ctx, e.Seq(), batch)
		if err != nil || len(ts) == 0 {
			return res, err
		}
		ps := make([]Payment, 0, len(ts))
		for i := range ts {
			if p, ok := PaymentOf(&ts[i]); ok {
				ps = append(ps, p)
			}
		}
		flags, err := e.Process(ctx, ps)
		if err != nil {
			return res, err
		}
		last := ts[len(ts)-1]
		e.st.Seq = max(e.st.Seq, last.Seq)
		var snap []byte
		if time.Since(c.lastSnap) >= orDefault(c.CheckpointEvery, DefaultCheckpointEvery) {
			if snap, err = e.Snapshot(); err != nil {
				return res, err
			}
		}
		n, err := c.commit(ctx, max(c.cursor, last.Seq), last.CreatedAt, flags, snap)
		if err != nil {
			return res, err
		}
		if snap != nil {
			c.lastSnap = time.Now()
		}
		res.Events += len(ts)
		res.Flags += n
		res.Cursor = c.cursor
		if len(ts) < batch {
			break
		}
	}
	if params.On(RatingRing) && c.Ratings != nil && c.Transfers != nil && time.Since(c.lastRing) >= params.RingEvery.D() {
		n, err := c.scanRings(ctx, params)
		if err != nil {
			return res, err
		}
		res.Flags += n
	}
	return res, nil
}

// commit stores flags and the cursor; a lost lease drops this replica's engine (the next
// holder resumes from the checkpoint).
func (c *Consumer) commit(ctx context.Context, cursor uint64, at time.Time, flags []Flag, snap []byte) (int, error) {
	now := c.now()
	for i := range flags {
		flags[i].ID = ids.New("flg")
		flags[i].CreatedAt, flags[i].UpdatedAt = now, now
	}
	n, err := c.Service.Store.Commit(ctx, c.Holder, cursor, at, flags, snap)
	if errors.Is(err, ErrLeaseLost) {
		c.holding, c.engine = false, nil
	}
	if err != nil {
		return 0, err
	}
	c.cursor = cursor
	return n, nil
}

// scanRings looks for rating rings now.
func (c *Consumer) scanRings(ctx context.Context, p Params) (int, error) {
	rings, err := FindRings(ctx, c.Ratings, p, c.now())
	if err != nil {
		return 0, err
	}
	// Rings flagged already are not looked up again (their evidence costs a read a rating).
	if c.ringsSeen == nil || len(c.ringsSeen) > maxEmitted {
		c.ringsSeen = map[string]bool{}
	}
	fresh := rings[:0]
	for _, r := range rings {
		if !c.ringsSeen[ringKey(r.Members)] {
			fresh = append(fresh, r)
		}
	}
	flags, err := RingFlags(ctx, c.Transfers, fresh, p)
	if err != nil {
		return 0, err
	}
	c.lastRing = time.Now()
	if len(flags) == 0 {
		return 0, nil
	}
	cp, err := c.Service.Store.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	n, err := c.commit(ctx, c.cursor, cp.CursorTime, flags, nil)
	if err != nil {
		return 0, err
	}
	for _, r := range fresh {
		c.ringsSeen[ringKey(r.Members)] = true
	}
	return n, nil
}

// Lag is how far the consumer is behind the ledger: the events after its durable cursor, and
// how long ago the oldest of them was applied (0 when caught up).
func (c *Consumer) Lag(ctx context.Context) (events uint64, behind time.Duration, err error) {
	cp, err := c.Service.Store.Checkpoint(ctx)
	if err != nil {
		return 0, 0, err
	}
	head, err := c.Log.Head(ctx)
	if err != nil {
		return 0, 0, err
	}
	if head.Seq <= cp.Cursor {
		return 0, 0, nil
	}
	next, err := c.Log.TransfersAfter(ctx, cp.Cursor, 1)
	if err != nil || len(next) == 0 {
		return head.Seq - cp.Cursor, 0, err
	}
	return head.Seq - cp.Cursor, max(c.now().Sub(next[0].CreatedAt), 0), nil
}
