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
	now := time.Now()
	s.cache.mu.Lock()
	c, hit := s.cache.m[agent]
	s.cache.mu.Unlock()
	if hit && now.Before(c.until) {
		return c.score, c.ok
	}
	sc, ok, err := s.Store.Score(ctx, agent)
	if err != nil {
		return 0, false // the subject's own tier then applies; the next transfer reads again
	}
	ttl := s.ScoreTTL
	if ttl <= 0 {
		ttl = DefaultScoreTTL
	}
	s.cache.mu.Lock()
	if s.cache.m == nil || len(s.cache.m) >= maxCachedScores {
		s.cache.m = map[string]cachedScore{}
	}
	s.cache.m[agent] = cachedScore{score: sc.Score, ok: ok, until: now.Add(ttl)}
	s.cache.mu.Unlock()
	return sc.Score, ok
}
