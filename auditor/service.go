package auditor

import (
	"context"
	"log/slog"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/policy"
)

// Severity grades a flag.
type Severity string

// The severities, lowest first.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Status is where a flag is in its review.
type Status string

// The statuses: a flag is raised NEW; an admin acknowledges it (looking into it), then resolves
// it (confirmed or dismissed) or escalates it (to a suspension or a dispute). RESOLVED and
// ESCALATED are final.
const (
	StatusNew          Status = "NEW"
	StatusAcknowledged Status = "ACKNOWLEDGED"
	StatusResolved     Status = "RESOLVED"
	StatusEscalated    Status = "ESCALATED"
)

// Resolutions of a resolved flag.
const (
	Confirmed = "confirmed"
	Dismissed = "dismissed"
)

// Escalation targets.
const (
	ToSuspension = "suspension"
	ToDispute    = "dispute"
)

// Flag is one pattern the auditor found.
type Flag struct {
	ID       string   `json:"id"`
	Rule     Rule     `json:"rule"`
	Severity Severity `json:"severity"`
	// Subject is the agent the flag is about (the sender of a burst or outsized transfer, the
	// origin of a circle, the funnel's payee, a ring's first member).
	Subject string `json:"subject"`
	// Agents are every agent the pattern implicates (Subject first); a confirmed flag counts
	// against each one's reputation.
	Agents []string `json:"agents"`
	// Evidence are the sequence numbers of the ledger events that make the pattern.
	Evidence []uint64 `json:"evidence"`
	// Detail says what was seen, in words.
	Detail string `json:"detail"`
	// DedupeKey names the pattern: one flag per key, however often the pattern is seen.
	DedupeKey  string    `json:"-"`
	Status     Status    `json:"status"`
	Resolution string    `json:"resolution,omitempty"`
	Escalation string    `json:"escalation,omitempty"`
	DisputeID  string    `json:"dispute_id,omitempty"`
	Note       string    `json:"note,omitempty"`
	ReviewedBy string    `json:"reviewed_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// FlagQuery filters a listing of flags (newest first).
type FlagQuery struct {
	Status  Status
	Rule    Rule
	Subject string
	// Before continues a listing: flags with ids sorting before it (ids sort by creation).
	Before string
	Limit  int
}

// Checkpoint is the consumer's durable position: the last event whose flags are stored, and
// the rule engine's state as of SnapshotSeq (≤ Cursor) to resume from.
type Checkpoint struct {
	Cursor      uint64
	CursorTime  time.Time
	Snapshot    []byte
	SnapshotSeq uint64
	Holder      string
}

// Store keeps flags, the consumer's checkpoint and lease, and the parameters (auditorsql
// implements it on SQLite and PostgreSQL).
type Store interface {
	// ClaimLease takes or renews the consumer's lease for holder until now+ttl: it succeeds
	// when holder holds it or the lease has expired. Of replicas claiming at once, one wins.
	ClaimLease(ctx context.Context, holder string, now time.Time, ttl time.Duration) (bool, error)
	// Checkpoint reads the consumer's durable position.
	Checkpoint(ctx context.Context) (Checkpoint, error)
	// Commit stores flags (a flag whose DedupeKey exists is skipped) and moves the cursor, with
	// the engine's snapshot when given, in one transaction — only while holder holds the lease
	// (else ErrLeaseLost and nothing is written). It returns how many flags were new.
	Commit(ctx context.Context, holder string, cursor uint64, cursorTime time.Time, flags []Flag, snapshot []byte) (int, error)
	// Flags lists flags newest first.
	Flags(ctx context.Context, q FlagQuery) ([]Flag, error)
	// Flag reads one flag (ErrFlagNotFound).
	Flag(ctx context.Context, id string) (Flag, error)
	// UpdateFlag writes f's review fields if the flag's status is still from (else
	// ErrFlagChanged).
	UpdateFlag(ctx context.Context, f Flag, from Status) error
	// ConfirmedFlags are the times flags were confirmed (resolved confirmed, or escalated), by
	// implicated agent.
	ConfirmedFlags(ctx context.Context) (map[string][]time.Time, error)
	// Params reads the stored parameters (false: none stored, the defaults apply).
	Params(ctx context.Context) (Params, bool, error)
	// SetParams stores the parameters.
	SetParams(ctx context.Context, p Params) error
}

// Suspender suspends an agent (the registry's suspension, which freezes its wallet too).
type Suspender interface {
	Suspend(ctx context.Context, caller policy.Subject, agent string) error
}

// DisputeFiler files a dispute, in the system's name, about a flag; it returns the dispute's
// id. The server wires the dispute service to it.
type DisputeFiler interface {
	FileFlagDispute(ctx context.Context, f Flag) (string, error)
}

// The auditor's errors: each a specific code, and nothing changes.
var (
	ErrFlagNotFound        = apperr.New(apperr.NotFound, "FLAG_NOT_FOUND", "no flag with this id")
	ErrFlagChanged         = apperr.New(apperr.Conflict, "FLAG_CHANGED", "the flag changed meanwhile: read it again")
	ErrFlagTransition      = apperr.New(apperr.Conflict, "FLAG_TRANSITION_INVALID", "the flag's status does not allow this")
	ErrInvalidResolution   = apperr.New(apperr.Invalid, "INVALID_RESOLUTION", "resolution must be confirmed or dismissed")
	ErrInvalidEscalation   = apperr.New(apperr.Invalid, "INVALID_ESCALATION", "escalate to suspension or dispute")
	ErrNoteTooLong         = apperr.New(apperr.Invalid, "NOTE_TOO_LONG", "a note is at most 1000 bytes")
	ErrInvalidFilter       = apperr.New(apperr.Invalid, "INVALID_FILTER", "unknown status or rule")
	ErrDisputesUnavailable = apperr.New(apperr.Unavailable, "DISPUTES_UNAVAILABLE", "this server cannot file disputes yet")
	ErrSuspendUnavailable  = apperr.New(apperr.Unavailable, "SUSPENSION_UNAVAILABLE", "this server cannot suspend agents")
	ErrLeaseLost           = apperr.New(apperr.Conflict, "AUDITOR_LEASE_LOST", "another replica holds the auditor's lease")
)

// MaxNote bounds a review note.
const MaxNote = 1000

// Service is the auditor's review side: flags, their review, the parameters. Every call of a
// caller is decided by the policy (admins).
type Service struct {
	Store     Store
	Authz     policy.Decider
	Suspender Suspender    // nil: escalation to suspension is unavailable
	Disputes  DisputeFiler // nil: escalation to a dispute is unavailable
	Now       func() time.Time
	Log       *slog.Logger // nil: reviews are not logged
	// Confirmed, when set, is told of each flag as it comes to count as confirmed (resolved as
	// confirmed, or escalated), so that the implicated agents' scores count it at once (the
	// reputation service's incremental update) rather than from the next full pass.
	Confirmed func(ctx context.Context, f Flag)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) authorize(ctx context.Context, caller policy.Subject, action, id string) error {
	return policy.Authorize(ctx, s.Authz, policy.Input{Subject: caller, Action: action, Resource: policy.Resource{Kind: "auditor_flag", ID: id},
		Context: policy.Context{Time: s.now()}})
}

// Flags lists flags, newest first (admins).
func (s *Service) Flags(ctx context.Context, caller policy.Subject, q FlagQuery) ([]Flag, error) {
	if q.Status != "" && q.Status != StatusNew && q.Status != StatusAcknowledged && q.Status != StatusResolved && q.Status != StatusEscalated {
		return nil, ErrInvalidFilter.With("field", "status")
	}
	if q.Rule != "" && !knownRule(q.Rule) {
		return nil, ErrInvalidFilter.With("field", "rule")
	}
	if err := s.authorize(ctx, caller, policy.ActionAuditorFlagRead, ""); err != nil {
		return nil, err
	}
	q.Limit = min(max(q.Limit, 1), 501)
	return s.Store.Flags(ctx, q)
}

// Flag reads one flag (admins).
func (s *Service) Flag(ctx context.Context, caller policy.Subject, id string) (Flag, error) {
	if err := s.authorize(ctx, caller, policy.ActionAuditorFlagRead, id); err != nil {
		return Flag{}, err
	}
	return s.Store.Flag(ctx, id)
}

// review moves flag id from one of the statuses from to its next state (set by change), as the
// policy's action allows.
func (s *Service) review(ctx context.Context, caller policy.Subject, action, id, note string, from []Status, change func(*Flag) error) (Flag, error) {
	if len(note) > MaxNote {
		return Flag{}, ErrNoteTooLong.With("field", "note")
	}
	if err := s.authorize(ctx, caller, action, id); err != nil {
		return Flag{}, err
	}
	f, err := s.Store.Flag(ctx, id)
	if err != nil {
		return Flag{}, err
	}
	prev := f.Status
	ok := false
	for _, st := range from {
		ok = ok || st == prev
	}
	if !ok {
		return Flag{}, ErrFlagTransition.With("status", string(prev))
	}
	if note != "" {
		f.Note = note
	}
	f.ReviewedBy, f.UpdatedAt = caller.ID, s.now()
	if err := change(&f); err != nil {
		return Flag{}, err
	}
	if err := s.Store.UpdateFlag(ctx, f, prev); err != nil {
		return Flag{}, err
	}
	if s.Confirmed != nil && (f.Status == StatusEscalated || (f.Status == StatusResolved && f.Resolution == Confirmed)) {
		s.Confirmed(ctx, f)
	}
	if s.Log != nil {
		s.Log.InfoContext(ctx, "auditor flag reviewed", "flag_id", f.ID, "rule", string(f.Rule), "subject", f.Subject, "from", string(prev),
			"to", string(f.Status), "resolution", f.Resolution, "escalation", f.Escalation, "by", caller.ID)
	}
	return f, nil
}

// Acknowledge marks a NEW flag as being looked into (admins).
func (s *Service) Acknowledge(ctx context.Context, caller policy.Subject, id, note string) (Flag, error) {
	return s.review(ctx, caller, policy.ActionAuditorFlagAck, id, note, []Status{StatusNew}, func(f *Flag) error {
		f.Status = StatusAcknowledged
		return nil
	})
}

// Resolve closes a NEW or ACKNOWLEDGED flag as confirmed (it counts against the implicated
// agents' reputation) or dismissed (admins).
func (s *Service) Resolve(ctx context.Context, caller policy.Subject, id, resolution, note string) (Flag, error) {
	if resolution != Confirmed && resolution != Dismissed {
		return Flag{}, ErrInvalidResolution.With("field", "resolution")
	}
	return s.review(ctx, caller, policy.ActionAuditorFlagResolve, id, note, []Status{StatusNew, StatusAcknowledged}, func(f *Flag) error {
		f.Status, f.Resolution = StatusResolved, resolution
		return nil
	})
}

// Escalate acts on a NEW or ACKNOWLEDGED flag (admins): to ToSuspension suspends its subject
// (the registry's suspension: the agent's requests and wallet stop), to ToDispute files a
// dispute in the system's name. The action happens first, then the flag is ESCALATED (which
// counts as confirmed); a failed action leaves the flag as it was.
func (s *Service) Escalate(ctx context.Context, caller policy.Subject, id, to, note string) (Flag, error) {
	if to != ToSuspension && to != ToDispute {
		return Flag{}, ErrInvalidEscalation.With("field", "to")
	}
	return s.review(ctx, caller, policy.ActionAuditorFlagEscalate, id, note, []Status{StatusNew, StatusAcknowledged}, func(f *Flag) error {
		switch to {
		case ToSuspension:
			if s.Suspender == nil {
				return ErrSuspendUnavailable
			}
			if err := s.Suspender.Suspend(ctx, caller, f.Subject); err != nil {
				return err
			}
		case ToDispute:
			if s.Disputes == nil {
				return ErrDisputesUnavailable
			}
			d, err := s.Disputes.FileFlagDispute(ctx, *f)
			if err != nil {
				return err
			}
			f.DisputeID = d
		}
		f.Status, f.Escalation = StatusEscalated, to
		return nil
	})
}

// Params are the parameters in force (admins).
func (s *Service) Params(ctx context.Context, caller policy.Subject) (Params, error) {
	if err := s.authorize(ctx, caller, policy.ActionAuditorRulesRead, ""); err != nil {
		return Params{}, err
	}
	return s.CurrentParams(ctx)
}

// CurrentParams are the parameters in force, without authorization (the consumer's).
func (s *Service) CurrentParams(ctx context.Context) (Params, error) {
	p, ok, err := s.Store.Params(ctx)
	if err != nil || !ok {
		return DefaultParams(), err
	}
	return p, nil
}

// SetParams replaces the parameters (admins); the consumer applies them from its next batch.
func (s *Service) SetParams(ctx context.Context, caller policy.Subject, p Params) (Params, error) {
	if err := p.Validate(); err != nil {
		return Params{}, err
	}
	if err := s.authorize(ctx, caller, policy.ActionAuditorRulesWrite, ""); err != nil {
		return Params{}, err
	}
	full := DefaultParams()
	for r, on := range p.Enabled {
		full.Enabled[r] = on
	}
	p.Enabled = full.Enabled
	if err := s.Store.SetParams(ctx, p); err != nil {
		return Params{}, err
	}
	return p, nil
}

// ConfirmedFlags are the times flags were confirmed, by implicated agent: the reputation
// pass's auditor-flag penalty (reputation.Service.Flags).
func (s *Service) ConfirmedFlags(ctx context.Context) (map[string][]time.Time, error) {
	return s.Store.ConfirmedFlags(ctx)
}

// Checkpoint is the consumer's durable position (its cursor: the last event audited).
func (s *Service) Checkpoint(ctx context.Context) (Checkpoint, error) {
	return s.Store.Checkpoint(ctx)
}
