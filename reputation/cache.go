package reputation

import (
	"context"
	"sync"
	"time"
)

// DefaultScoreTTL is how long ScoreOf remembers an agent's stored score: a pass run by another
// replica reaches this one's transfer limits within it (the replica that ran the pass applies the
// new scores at once).
const DefaultScoreTTL = 5 * time.Second

// maxCachedScores bounds the cache; past it, it starts over.
const maxCachedScores = 1 << 20

// scoreCache remembers stored scores for ScoreOf.
type scoreCache struct {
	mu sync.Mutex
	m  map[string]cachedScore
}

type cachedScore struct {
	score int
	ok    bool
	until time.Time
}

func (c *scoreCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// ScoreOf is the agent's score as the last pass stored it, and false when no pass has scored it
// yet: what the ledger limits the agent's transfers by (teg.Service.Scores). It reads the store
// at most once per ScoreTTL per agent.
func (s *Service) ScoreOf(ctx context.Context, agent string) (int, bool) {
	// The transfer path asks for every transfer: a remembered answer costs one map lookup.
	s.cache.mu.Lock()
	c, hit := s.cache.m[agent]
	s.cache.mu.Unlock()
	if hit && time.Now().Before(c.until) {
		return c.score, c.ok
	}
	score, ok := s.ScoresOf(ctx, []string{agent})[agent]
	return score, ok
}

// ScoresOf is ScoreOf for many agents at once (discovery's results): the ones not remembered are
// read in one query. Agents without a stored score are absent from the answer; on a read error,
// those not remembered are too.
func (s *Service) ScoresOf(ctx context.Context, agents []string) map[string]int {
	now := time.Now()
	out := make(map[string]int, len(agents))
	var missing []string
	s.cache.mu.Lock()
	for _, a := range agents {
		if c, hit := s.cache.m[a]; hit && now.Before(c.until) {
			if c.ok {
				out[a] = c.score
			}
		} else {
			missing = append(missing, a)
		}
	}
	s.cache.mu.Unlock()
	if len(missing) == 0 {
		return out
	}
	read, err := s.Store.ScoreValues(ctx, missing)
	if err != nil {
		return out // the caller's fallback applies; the next call reads again
	}
	ttl := s.ScoreTTL
	if ttl <= 0 {
		ttl = DefaultScoreTTL
	}
	s.cache.mu.Lock()
	if s.cache.m == nil || len(s.cache.m)+len(missing) > maxCachedScores {
		s.cache.m = map[string]cachedScore{}
	}
	for _, a := range missing {
		score, ok := read[a]
		s.cache.m[a] = cachedScore{score: score, ok: ok, until: now.Add(ttl)}
		if ok {
			out[a] = score
		}
	}
	s.cache.mu.Unlock()
	return out
}

// PassLease is what lets replicas sharing a store run one scheduled pass per interval between
// them (repsql.Store has it).
type PassLease interface {
	ClaimPass(ctx context.Context, holder string, now time.Time, every, timeout time.Duration) (bool, error)
	FinishPass(ctx context.Context, holder string, now time.Time) error
}

// passTimeout is how long a claimed pass may run before another replica may take over.
const passTimeout = 10 * time.Minute

// RunScheduled runs the full pass if it is due: when the last pass, by any replica sharing the
// store, finished at least every ago and none is running. It reports whether it ran one.
func (s *Service) RunScheduled(ctx context.Context, holder string, every time.Duration) (PassResult, bool, error) {
	lease, ok := s.Store.(PassLease)
	if !ok {
		r, err := s.RunPass(ctx)
		return r, err == nil, err
	}
	claimed, err := lease.ClaimPass(ctx, holder, time.Now(), every, max(passTimeout, 2*every))
	if err != nil || !claimed {
		return PassResult{}, false, err
	}
	r, err := s.RunPass(ctx)
	if ferr := lease.FinishPass(ctx, holder, time.Now()); err == nil && ferr != nil {
		err = ferr
	}
	return r, err == nil, err
}

// Standing is an agent's score and tier as discovery shows it.
type Standing struct {
	Score int
	Tier  string
}

// StandingsOf is the standing of each agent (discovery's results): its stored score, or for an
// agent no pass has scored yet a fresh agent's (stake aside, so a page costs one query), with its
// tier in the tier table in force.
func (s *Service) StandingsOf(ctx context.Context, agents []string) (map[string]Standing, error) {
	p, err := s.Ledger.Params(ctx)
	if err != nil {
		return nil, err
	}
	fresh := Compute(Inputs{}, s.weights(&p), s.now()).Score
	scores := s.ScoresOf(ctx, agents)
	out := make(map[string]Standing, len(agents))
	for _, a := range agents {
		score, ok := scores[a]
		if !ok {
			score = fresh
		}
		out[a] = Standing{Score: score, Tier: TierOf(&p, score).Name}
	}
	return out, nil
}

// ValidTier reports whether name is a tier of the tier table in force.
func (s *Service) ValidTier(ctx context.Context, name string) (bool, error) {
	p, err := s.Ledger.Params(ctx)
	if err != nil {
		return false, err
	}
	for _, t := range p.EffectiveTiers() {
		if t.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// forget drops what this replica remembers of agent's score, so its next transfer reads the
// score an event just stored.
func (c *scoreCache) forget(agent string) {
	c.mu.Lock()
	delete(c.m, agent)
	c.mu.Unlock()
}
