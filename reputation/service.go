package reputation

import (
	"context"
	"github.com/sovereign-stack/sovereign/identity"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/teg"
)

// Rules of ratings.
const (
	// RatingWindow is how long after a transfer its payer may rate it.
	RatingWindow = 7 * 24 * time.Hour
	// MaxComment is the most bytes a rating's comment may have.
	MaxComment = 280
	// MaxInteractionID bounds interaction ids (ledger transfer ids are at most 128 characters).
	MaxInteractionID = 128
)

// Rating is a payer's rating of the payee of one completed ledger transfer (the interaction).
type Rating struct {
	InteractionID string    `json:"interaction_id"`
	Rater         string    `json:"rater"`
	Ratee         string    `json:"ratee"`
	Stars         int       `json:"stars"`
	Comment       string    `json:"comment,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

// RatingCursor is the position after which a listing of ratings (newest first) continues.
type RatingCursor struct {
	CreatedAt     time.Time `json:"t"`
	InteractionID string    `json:"i"`
}

// StoredScore is an agent's score as the last pass computed it.
type StoredScore struct {
	Agent      string    `json:"agent"`
	Score      int       `json:"score"`
	Tier       string    `json:"tier"`
	Factors    []Factor  `json:"factors"`
	ComputedAt time.Time `json:"computed_at"`
	// Provisional marks the score of an agent no pass has scored yet: a fresh agent's, with its
	// stake, computed when read.
	Provisional bool `json:"provisional,omitempty"`
	// Inputs are what the score was computed from (nil: not kept, as for scores stored before
	// inputs were), for Update to recompute it from.
	Inputs *Inputs `json:"-"`
}

// Store keeps ratings and scores (repsql implements it on SQLite and PostgreSQL).
type Store interface {
	// InsertRating stores a rating; a second rating of the same interaction is ErrAlreadyRated.
	InsertRating(ctx context.Context, r Rating) error
	// RatingsOf lists the ratings of ratee, newest first, after the cursor when given.
	RatingsOf(ctx context.Context, ratee string, after *RatingCursor, limit int) ([]Rating, error)
	// Graph reads the rating graph every rating so far adds up to (the load of a full pass).
	Graph(ctx context.Context) (RatingGraph, error)
	// PutScores inserts or replaces the scores (in batches, each batch atomic).
	PutScores(ctx context.Context, scores []StoredScore) error
	// Score reads an agent's stored score.
	Score(ctx context.Context, agent string) (StoredScore, bool, error)
	// UpdateScore reads an agent's stored score (found false: none), lets fn change it, and
	// stores it, atomically with respect to other updates of the agent; an error from fn stores
	// nothing.
	UpdateScore(ctx context.Context, agent string, fn func(sc *StoredScore, found bool) error) error
	// ScoreValues reads the stored scores of agents, in one query (absent: not scored).
	ScoreValues(ctx context.Context, agents []string) (map[string]int, error)
}

// RatingGraph is the rating graph in the form a full pass reads: the rated agents, numbered
// from 0 by their place in Agents, and one Pair per (rater, ratee) that has ratings.
type RatingGraph struct {
	Agents []string
	Pairs  []Pair
}

// Pair is what the ratings one agent gave another add up to: the sum of their satisfactions
// (Satisfaction: stars − 3 each) and how many were good (3 stars or more) and bad.
type Pair struct {
	Rater, Ratee uint32
	Satisfaction int64
	Good, Bad    int64
}

// Ledger is what the service reads of the token ledger: transfers (the interactions rated),
// accounts (an agent has a reputation when it has a wallet) and the parameter set in force (its
// tier table).
type Ledger interface {
	Transfer(ctx context.Context, id string) (teg.Transfer, bool, error)
	Account(ctx context.Context, id teg.AccountID) (teg.Account, error)
	Params(ctx context.Context) (teg.Params, error)
}

// Staking tells the service each agent's bonded stake and the validators (pre-trusted).
type Staking interface {
	StakeOf(ctx context.Context, agent string) (avt.Amount, error)
	// Stakes is every agent's bonded stake at once (agents with none are absent), for a pass.
	Stakes(ctx context.Context) (map[string]avt.Amount, error)
	Validators(ctx context.Context) ([]string, error)
}

// AttestationCounter counts each agent's verified attestations, for the score's attestations
// factor (attestsql implements it).
type AttestationCounter interface {
	// AttestationCounts is every attested agent's count (agents with none are absent).
	AttestationCounts(ctx context.Context) (map[string]int, error)
	// AttestationCount is one agent's count.
	AttestationCount(ctx context.Context, agent string) (int, error)
}

// FlagSource tells a pass when each agent's auditor flags were confirmed (the auditor's
// Service implements it).
type FlagSource interface {
	ConfirmedFlags(ctx context.Context) (map[string][]time.Time, error)
}

// PretrustedFunc lists the agents trusted a priori besides the validators: the registry
// supplies its verified developers' first agents.
type PretrustedFunc func(ctx context.Context) ([]string, error)

// The errors of ratings: each a specific code, and nothing is stored.
var (
	ErrInteractionNotFound     = apperr.New(apperr.NotFound, "INTERACTION_NOT_FOUND", "no completed transfer with this id that you paid")
	ErrInteractionNotCompleted = apperr.New(apperr.Conflict, "INTERACTION_NOT_COMPLETED", "this is a held payment: rate the post that completed it, once posted")
	ErrNotThePayer             = apperr.New(apperr.Forbidden, "NOT_THE_PAYER", "only the payer of a transfer may rate it")
	ErrRateeMismatch           = apperr.New(apperr.Invalid, "RATEE_MISMATCH", "the agent rated must be the transfer's payee")
	ErrRatingWindowClosed      = apperr.New(apperr.Conflict, "RATING_WINDOW_CLOSED", "a transfer may be rated only within 7 days of it")
	ErrAlreadyRated            = apperr.New(apperr.Conflict, "ALREADY_RATED", "this interaction has been rated already")
	ErrInvalidStars            = apperr.New(apperr.Invalid, "INVALID_STARS", "stars must be an integer from 1 to 5")
	ErrCommentTooLong          = apperr.New(apperr.Invalid, "COMMENT_TOO_LONG", "a comment must be at most 280 bytes of UTF-8 text")
	ErrInvalidAgent            = apperr.New(apperr.Invalid, "INVALID_AGENT", "not an agent id")
	ErrAgentNotFound           = apperr.New(apperr.NotFound, "AGENT_NOT_FOUND", "no agent with this id has a wallet")
	ErrInvalidInteraction      = apperr.New(apperr.Invalid, "INVALID_INTERACTION_ID", "interaction_id must be 1 to 128 printable ASCII characters")
)

// Service is the reputation domain: ratings, scores, and the full pass that recomputes every
// score. It has no SQL and no HTTP; every call of a caller is decided by the policy.
type Service struct {
	Store      Store
	Ledger     Ledger
	Staking    Staking        // nil: no stake, no validators
	Pretrusted PretrustedFunc // nil: validators only
	Authz      policy.Decider
	// Weights, when set, override the score's weights of the parameter set in force (for
	// simulations and tests; zero: the parameter set's).
	Weights Weights
	// Trust are EigenTrust's options (DefaultOptions when zero).
	Trust Options
	Now   func() time.Time
	// ScoreTTL bounds how long ScoreOf remembers a stored score (0: DefaultScoreTTL).
	ScoreTTL time.Duration
	// Issuer signs portable reputation (nil: Portable is unavailable).
	Issuer identity.Issuer
	// Attestations counts verified attestations (nil: none count).
	Attestations AttestationCounter
	// DisputesLost, when set, gives when each agent lost disputes (teg.Service.DisputesLost):
	// the full pass takes each loss off the agent's score, decaying with its half-life.
	DisputesLost func(ctx context.Context) (map[string][]time.Time, error)
	// Flags are the auditor's confirmed flags (nil: none): a pass counts each against every
	// agent it implicates (Inputs.Flags), and scores a flagged agent even if nobody rated it.
	Flags FlagSource

	cache    scoreCache
	portable portableCache
}

// portableCache remembers the portable reputation PortableOf last signed for each agent.
type portableCache struct {
	mu sync.Mutex
	m  map[string]PortableReputation
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) weights(p *teg.Params) Weights {
	if s.Weights == (Weights{}) {
		return p.EffectiveReputation()
	}
	return s.Weights
}

func (s *Service) authorize(ctx context.Context, caller policy.Subject, action string, res policy.Resource) error {
	return policy.Authorize(ctx, s.Authz, policy.Input{Subject: caller, Action: action, Resource: res, Context: policy.Context{Time: s.now()}})
}

func validAgent(agent string) error {
	if err := teg.ValidateAgentAccount(teg.AccountID(agent)); err != nil {
		return ErrInvalidAgent.With("field", "agent").With("agent", agent)
	}
	return nil
}

// readable checks that agent names an agent with a wallet, and that the caller may read its
// reputation.
func (s *Service) readable(ctx context.Context, caller policy.Subject, agent string) error {
	if err := validAgent(agent); err != nil {
		return err
	}
	if err := s.authorize(ctx, caller, policy.ActionReputationRead, policy.Resource{Kind: "reputation", ID: agent, Owner: agent}); err != nil {
		return err
	}
	if _, err := s.Ledger.Account(ctx, teg.AccountID(agent)); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return ErrAgentNotFound.With("field", "agent").With("agent", agent)
		}
		return err
	}
	return nil
}

func validInteraction(id string) error {
	if id == "" || len(id) > MaxInteractionID {
		return ErrInvalidInteraction.With("field", "interaction_id")
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return ErrInvalidInteraction.With("field", "interaction_id")
		}
	}
	return nil
}

// RateRequest is a rating as a caller submits it.
type RateRequest struct {
	Ratee         string
	InteractionID string
	Stars         int
	Comment       string
}

// Rate records the caller's rating of req.Ratee for the interaction req.InteractionID: a
// completed ledger transfer (a plain transfer, or the post that completed a held payment — a
// paid task) that the caller paid and req.Ratee received, at most RatingWindow ago, not rated
// before. Every refusal has its own code and stores nothing.
func (s *Service) Rate(ctx context.Context, caller policy.Subject, req RateRequest) (Rating, error) {
	if err := validAgent(req.Ratee); err != nil {
		return Rating{}, err
	}
	if err := validInteraction(req.InteractionID); err != nil {
		return Rating{}, err
	}
	if req.Stars < 1 || req.Stars > 5 {
		return Rating{}, ErrInvalidStars.With("field", "stars")
	}
	if len(req.Comment) > MaxComment || !utf8.ValidString(req.Comment) {
		return Rating{}, ErrCommentTooLong.With("field", "comment").With("bytes", len(req.Comment))
	}
	if err := s.authorize(ctx, caller, policy.ActionReputationRate, policy.Resource{Kind: "reputation", ID: req.Ratee, Owner: req.Ratee}); err != nil {
		return Rating{}, err
	}
	t, ok, err := s.Ledger.Transfer(ctx, req.InteractionID)
	if err != nil {
		return Rating{}, apperr.Internalf("read interaction: %w", err)
	}
	notFound := ErrInteractionNotFound.With("field", "interaction_id").With("interaction_id", req.InteractionID)
	// A transfer the caller is no party to is not found: ids of others' payments are not
	// disclosed.
	if !ok || (string(t.From) != caller.ID && string(t.To) != caller.ID) {
		return Rating{}, notFound
	}
	switch t.Kind {
	case teg.KindTransfer, teg.KindPost:
	case teg.KindPending:
		return Rating{}, ErrInteractionNotCompleted.With("field", "interaction_id").With("state", string(t.State))
	default:
		return Rating{}, notFound
	}
	if string(t.From) != caller.ID {
		return Rating{}, ErrNotThePayer.With("field", "interaction_id")
	}
	if string(t.To) != req.Ratee {
		return Rating{}, ErrRateeMismatch.With("field", "agent").With("payee", string(t.To))
	}
	now := s.now()
	if now.Sub(t.CreatedAt) > RatingWindow {
		return Rating{}, ErrRatingWindowClosed.With("field", "interaction_id").With("transfer_at", t.CreatedAt.UTC().Format(time.RFC3339))
	}
	r := Rating{InteractionID: t.ID, Rater: caller.ID, Ratee: req.Ratee, Stars: req.Stars, Comment: req.Comment, CreatedAt: now.Truncate(time.Microsecond)}
	if err := s.Store.InsertRating(ctx, r); err != nil {
		return Rating{}, err
	}
	// The ratee's paid tasks count the outcome at once, weighted by the rater's trust as of the
	// last pass. The rating is stored whatever happens here: the next full pass counts it.
	rater, ok, err := s.Store.Score(ctx, r.Rater)
	var rel float64
	if err == nil && ok && rater.Inputs != nil {
		rel = rater.Inputs.RelativeTrust
	}
	if err == nil {
		_, _ = s.Update(ctx, r.Ratee, func(in *Inputs) {
			if r.Stars >= 3 {
				in.Completed += TaskWeight(rel)
			} else {
				in.Failed += TaskWeight(rel)
			}
		})
	}
	return r, nil
}

// Update recomputes one agent's score after an event — a rating it received, a dispute it
// lost, an auditor flag confirmed against it, an attestation verified — without a full pass:
// change applies the event to the inputs the agent's score was last computed from (the last
// pass's transitive trust stays until the next pass), and the score, factors and tier are
// computed again and stored. An agent never scored starts from a fresh agent's inputs with its
// stake. Concurrent updates of one agent are serialized by the store; the next full pass
// recomputes everything from the sources in any case.
func (s *Service) Update(ctx context.Context, agent string, change func(*Inputs)) (StoredScore, error) {
	params, err := s.Ledger.Params(ctx)
	if err != nil {
		return StoredScore{}, err
	}
	var out StoredScore
	err = s.Store.UpdateScore(ctx, agent, func(sc *StoredScore, found bool) error {
		var in Inputs
		switch {
		case found && sc.Inputs != nil:
			in = *sc.Inputs
		default:
			// Never scored, or scored before inputs were kept: start from what is known now.
			if s.Staking != nil {
				a, err := s.Staking.StakeOf(ctx, agent)
				if err != nil {
					return err
				}
				in.StakeAVT = avtFloat(a)
			}
			if s.Attestations != nil {
				n, err := s.Attestations.AttestationCount(ctx, agent)
				if err != nil {
					return err
				}
				in.Attestations = n
			}
		}
		change(&in)
		now := s.now()
		c := Compute(in, s.weights(&params), now)
		*sc = StoredScore{Agent: agent, Score: c.Score, Tier: TierOf(&params, c.Score).Name, Factors: c.Factors, ComputedAt: now, Inputs: &in}
		out = *sc
		return nil
	})
	if err != nil {
		return StoredScore{}, err
	}
	s.cache.forget(agent)
	return out, nil
}

// Ratings lists the ratings an agent received, newest first, after the cursor when given
// (public, as the policy's reputation.read says).
func (s *Service) Ratings(ctx context.Context, caller policy.Subject, agent string, after *RatingCursor, limit int) ([]Rating, error) {
	if err := s.readable(ctx, caller, agent); err != nil {
		return nil, err
	}
	return s.Store.RatingsOf(ctx, agent, after, limit)
}

// Reputation is an agent's score, the factors it is the sum of, and its tier under the tier
// table in force with the tier's transfer limits (public, as the policy's reputation.read
// says).
func (s *Service) Reputation(ctx context.Context, caller policy.Subject, agent string) (StoredScore, teg.Tier, error) {
	if err := s.readable(ctx, caller, agent); err != nil {
		return StoredScore{}, teg.Tier{}, err
	}
	return s.Current(ctx, agent)
}

// Current is an agent's current score and tier, without authorization: for the stack's own
// decisions (the transfer path's tier limits). An agent no pass has scored yet gets the score
// of a fresh agent with its stake (Provisional). The tier, with its transfer limits, is from
// the tier table in force now, so a change of the table applies at once. Cost: one read by
// primary key and the parameter set; for an agent never scored, also its staking records.
func (s *Service) Current(ctx context.Context, agent string) (StoredScore, teg.Tier, error) {
	sc, ok, err := s.Store.Score(ctx, agent)
	if err != nil {
		return StoredScore{}, teg.Tier{}, err
	}
	params, err := s.Ledger.Params(ctx)
	if err != nil {
		return StoredScore{}, teg.Tier{}, err
	}
	if !ok {
		var stake float64
		if s.Staking != nil {
			a, err := s.Staking.StakeOf(ctx, agent)
			if err != nil {
				return StoredScore{}, teg.Tier{}, err
			}
			stake = avtFloat(a)
		}
		var attested int
		if s.Attestations != nil {
			if attested, err = s.Attestations.AttestationCount(ctx, agent); err != nil {
				return StoredScore{}, teg.Tier{}, err
			}
		}
		now := s.now()
		c := Compute(Inputs{StakeAVT: stake, Attestations: attested}, s.weights(&params), now)
		sc = StoredScore{Agent: agent, Score: c.Score, Factors: c.Factors, ComputedAt: now, Provisional: true}
	}
	t := TierOf(&params, sc.Score)
	sc.Tier = t.Name
	return sc, t, nil
}

// Standing is an agent's tier name and score in the form policy.Subject carries them
// (Subject.Tier, Subject.Reputation): the call for the authentication path, so that an agent's
// next request is decided — and its next transfer limited — by its current tier.
func (s *Service) Standing(ctx context.Context, agent string) (tier string, score int, err error) {
	sc, _, err := s.Current(ctx, agent)
	if err != nil {
		return "", 0, err
	}
	return sc.Tier, sc.Score, nil
}

// TierOf is the tier of a score under the parameter set p (a score of 0 is Untrusted, not
// "no score").
func TierOf(p *teg.Params, score int) teg.Tier {
	if score <= 0 {
		return p.TierOf(teg.TierUntrusted, 0)
	}
	return p.TierOf("", score)
}

// avtFloat is an amount in AVT as a float (precise enough for a log-scaled factor).
func avtFloat(a avt.Amount) float64 {
	f, _ := new(big.Float).Quo(new(big.Float).SetInt(a.Big()), big.NewFloat(1e18)).Float64()
	return f
}

// PassResult is what a full pass did.
type PassResult struct {
	Agents     int           `json:"agents"`
	Ratings    int           `json:"ratings"`
	Edges      int           `json:"edges"`
	Pretrusted int           `json:"pretrusted"`
	Iterations int           `json:"iterations"`
	LoadTime   time.Duration `json:"-"`
	Compute    time.Duration `json:"-"`
	Total      time.Duration `json:"-"`
	ComputedAt time.Time     `json:"computed_at"`
}

// Recompute runs a full pass now for a caller (admins, as the policy's reputation.recompute
// says).
func (s *Service) Recompute(ctx context.Context, caller policy.Subject) (PassResult, error) {
	if err := s.authorize(ctx, caller, policy.ActionReputationRecompute, policy.Resource{Kind: "reputation"}); err != nil {
		return PassResult{}, err
	}
	return s.RunPass(ctx)
}

// RunPass recomputes every rated agent's score and stores it:
//
//   - every rating is loaded and the agents in it (with the pre-trusted) are numbered;
//   - the local trust of rater i in ratee j is Σ Satisfaction(stars) over i's ratings of j;
//   - EigenTrust runs with the pre-trusted set: the validators and s.Pretrusted's agents;
//   - each agent's inputs: RelativeTrust = trust × N; Completed and Failed are its ratings as
//     ratee with 3 stars or more and 2 or fewer, each weighted by TaskWeight of its rater's
//     relative trust (ratings stand in for paid-task outcomes until tasks record theirs); its
//     bonded stake.
//
// A pass is a function of the ratings, stakes and pre-trusted set at the time it runs: running
// it twice (two replicas on one schedule) stores the same scores.
func (s *Service) RunPass(ctx context.Context) (PassResult, error) {
	start := time.Now()
	now := s.now()
	graph, err := s.Store.Graph(ctx)
	if err != nil {
		return PassResult{}, err
	}
	names := graph.Agents
	var pre []string
	if s.Staking != nil {
		v, err := s.Staking.Validators(ctx)
		if err != nil {
			return PassResult{}, err
		}
		pre = append(pre, v...)
	}
	if s.Pretrusted != nil {
		p, err := s.Pretrusted(ctx)
		if err != nil {
			return PassResult{}, err
		}
		pre = append(pre, p...)
	}
	slices.Sort(pre)
	pre = slices.Compact(pre)
	// Attested agents are scored even when no rating names them.
	var attested map[string]int
	if s.Attestations != nil {
		if attested, err = s.Attestations.AttestationCounts(ctx); err != nil {
			return PassResult{}, err
		}
	}
	var lost map[string][]time.Time
	if s.DisputesLost != nil {
		if lost, err = s.DisputesLost(ctx); err != nil {
			return PassResult{}, err
		}
	}
	var flags map[string][]time.Time
	if s.Flags != nil {
		if flags, err = s.Flags.ConfirmedFlags(ctx); err != nil {
			return PassResult{}, err
		}
	}
	// The numbers of the pre-trusted agents and of those attested or penalized: the rated
	// ones are found in one walk of the agents; the others are numbered after them (in a fixed
	// order: pre-trusted, attested, penalized, each sorted, so that a pass is a function of its
	// inputs).
	extra := make(map[string]int, len(pre)+len(attested)+len(lost)+len(flags))
	for _, a := range pre {
		extra[a] = -1
	}
	for a := range attested {
		extra[a] = -1
	}
	for a := range lost {
		extra[a] = -1
	}
	for a := range flags {
		extra[a] = -1
	}
	if len(extra) > 0 {
		for i, a := range names {
			if _, ok := extra[a]; ok {
				extra[a] = i
			}
		}
	}
	number := func(a string) uint32 {
		i, ok := extra[a]
		if !ok {
			panic("reputation: numbering an agent not collected first: " + a)
		}
		if i < 0 {
			i = len(names)
			names = append(names, a)
			extra[a] = i
		}
		return uint32(i)
	}
	pretrusted := make([]uint32, 0, len(pre))
	for _, a := range pre {
		pretrusted = append(pretrusted, number(a))
	}
	for _, a := range slices.Sorted(maps.Keys(attested)) {
		number(a)
	}
	for _, a := range slices.Sorted(maps.Keys(lost)) {
		number(a) // an agent that lost a dispute is scored even without ratings
	}
	for _, a := range slices.Sorted(maps.Keys(flags)) {
		number(a) // a flagged agent too
	}
	edges := make([]Edge, 0, len(graph.Pairs))
	ratings := 0
	for _, p := range graph.Pairs {
		ratings += int(p.Good + p.Bad)
		if p.Satisfaction > 0 {
			edges = append(edges, Edge{From: p.Rater, To: p.Ratee, Weight: float64(p.Satisfaction)})
		}
	}
	loaded := time.Now()
	res := PassResult{Agents: len(names), Ratings: ratings, Pretrusted: len(pretrusted), ComputedAt: now, LoadTime: loaded.Sub(start)}
	n := len(names)
	g, err := NewGraph(n, edges)
	if err != nil {
		return PassResult{}, err
	}
	res.Edges = g.Edges()
	opts := s.Trust
	if opts == (Options{}) {
		opts = DefaultOptions()
	}
	tr := g.EigenTrust(pretrusted, opts)
	res.Iterations = tr.Iterations
	ins := make([]Inputs, n)
	rel := make([]float64, n)
	for i, t := range tr.Trust {
		rel[i] = t * float64(n)
		ins[i].RelativeTrust = rel[i]
	}
	for _, p := range graph.Pairs {
		w := TaskWeight(rel[p.Rater])
		ins[p.Ratee].Completed += w * float64(p.Good)
		ins[p.Ratee].Failed += w * float64(p.Bad)
	}
	computed := time.Now()
	res.Compute = computed.Sub(loaded)
	params, err := s.Ledger.Params(ctx)
	if err != nil {
		return PassResult{}, err
	}
	var stakes map[string]avt.Amount
	if s.Staking != nil {
		if stakes, err = s.Staking.Stakes(ctx); err != nil {
			return PassResult{}, err
		}
	}
	w := s.weights(&params)
	scores := make([]StoredScore, n)
	for i, name := range names {
		if a, ok := stakes[name]; ok {
			ins[i].StakeAVT = avtFloat(a)
		}
		ins[i].Attestations = attested[name]
		ins[i].DisputesLost = lost[name]
		ins[i].Flags = flags[name]
		c := Compute(ins[i], w, now)
		scores[i] = StoredScore{Agent: name, Score: c.Score, Tier: TierOf(&params, c.Score).Name, Factors: c.Factors, ComputedAt: now, Inputs: &ins[i]}
	}
	if err := s.Store.PutScores(ctx, scores); err != nil {
		return PassResult{}, err
	}
	s.cache.clear() // this replica applies the new scores from the next transfer on
	res.Total = time.Since(start)
	return res, nil
}

// LedgerStaking reads stakes and validators from the token service's staking state.
type LedgerStaking struct{ Service *teg.Service }

// StakeOf is the agent's bonded stake (0 for an agent without a wallet).
func (l LedgerStaking) StakeOf(ctx context.Context, agent string) (avt.Amount, error) {
	sum, err := l.Service.StakingOfUnchecked(ctx, teg.AccountID(agent))
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return avt.Amount{}, nil
		}
		return avt.Amount{}, err
	}
	return sum.Staked, nil
}

// delegationsPrefix is the prefix of every delegation record (teg keys them
// "<prefix><delegator>/<pool>").
var delegationsPrefix = strings.TrimSuffix(teg.DelegationsPrefix(""), "/")

// Stakes sums every delegation's value by delegator: two scans of the staking state (pools,
// delegations), however many agents there are.
func (l LedgerStaking) Stakes(ctx context.Context) (map[string]avt.Amount, error) {
	sr, ok := l.Service.Store.(teg.StateReader)
	if !ok {
		return nil, nil
	}
	pools := map[teg.AccountID]*teg.Pool{}
	entries, err := sr.ScanState(ctx, teg.PoolsPrefix, 0)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		p, err := teg.DecodePool(e.Value)
		if err != nil {
			return nil, err
		}
		pools[p.ID] = p
	}
	if entries, err = sr.ScanState(ctx, delegationsPrefix, 0); err != nil {
		return nil, err
	}
	out := map[string]avt.Amount{}
	for _, e := range entries {
		d, err := teg.DecodeDelegation(e.Value)
		if err != nil {
			return nil, err
		}
		p := pools[d.Validator]
		if p == nil {
			return nil, apperr.Internalf("delegation %s names no pool", e.Key)
		}
		out[string(d.Delegator)], _ = out[string(d.Delegator)].Add(p.Value(d))
	}
	return out, nil
}

// Validators are the validators that are not jailed.
func (l LedgerStaking) Validators(ctx context.Context) ([]string, error) {
	vs, err := l.Service.Validators(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if !v.Jailed {
			out = append(out, string(v.ID))
		}
	}
	return out, nil
}
