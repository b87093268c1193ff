package federation

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Live query defaults.
const (
	// DefaultDeadline is how long a fan-out waits for each peer.
	DefaultDeadline = 800 * time.Millisecond
	// DefaultMaxHops is how far a query travels: 1 asks the direct peers only, 2 also their
	// peers, and so on. A forwarded query carries the hops it has left.
	DefaultMaxHops = 2
	// MaxHopsLimit bounds any hops value a peer sends.
	MaxHopsLimit = 8
	// MaxOrigins bounds the origin list a query carries.
	MaxOrigins = 64
	// BreakerFailures consecutive failures (errors or timeouts) open a peer's breaker.
	BreakerFailures = 3
	// BreakerOpenFor is how long an open breaker skips its peer before it lets one query
	// through (half-open).
	BreakerOpenFor = 30 * time.Second
)

// Query is a federated discovery search.
type Query struct {
	Text         string
	Tags         []string
	Skills       []string
	Capabilities []string
	Limit        int
	// Hops is how many more registries deep the query may be forwarded (0: not at all).
	Hops int
	// Origins are the trust domains the query already went through, the first its origin;
	// none of them is asked again.
	Origins []string
	// Budget, when set, is how long the asker waits for this registry's answer: a forwarded
	// fan-out gives each of its peers at most three quarters of it, so that its answer still
	// arrives in time.
	Budget time.Duration
}

// Hit is one result: a card of registry Origin (a trust domain), its id, its relevance score
// (0–100, the same scale in every registry) and its document (the card as discovery shows it).
type Hit struct {
	Origin string          `json:"origin_registry"`
	ID     string          `json:"id"`
	Score  int             `json:"score"`
	Doc    json.RawMessage `json:"doc"`
}

// Outcome statuses of a peer in a fan-out.
const (
	PeerAnswered = "answered"
	PeerTimedOut = "timed_out"
	PeerError    = "error"
	PeerSkipped  = "skipped"
)

// PeerOutcome says what one peer did with a query.
type PeerOutcome struct {
	TrustDomain string `json:"trust_domain"`
	PeerID      string `json:"peer_id,omitempty"`
	Status      string `json:"status" enum:"answered,timed_out,error,skipped"`
	Results     int    `json:"results"`
	LatencyMS   int64  `json:"latency_ms"`
	// Reason says why a peer was skipped (circuit_open, in_origins) or what failed.
	Reason string `json:"reason,omitempty"`
	// Via is the peer that asked this one on the query's behalf ("" for a direct peer).
	Via string `json:"via,omitempty"`
}

// Result is a fan-out's merged hits and per-peer outcomes.
type Result struct {
	Hits  []Hit
	Peers []PeerOutcome
	// Cached says the peers' part came from the cache (the peers were not asked).
	Cached bool
}

// Caller asks one peer a query (over mutual TLS); it returns the peer's hits (its own and
// those it gathered from further peers) and its own peer outcomes.
type Caller interface {
	Query(ctx context.Context, p Peer, q Query) ([]Hit, []PeerOutcome, error)
}

// CallError is a failed call to a peer, with a short class safe to show anyone (unreachable,
// tls_refused, bad_answer, http_<status>) and the cause, shown to developers in the peer's
// health.
type CallError struct {
	Class string
	Err   error
}

// Error is the class and the cause.
func (e *CallError) Error() string { return e.Class + ": " + e.Err.Error() }

// Unwrap is the cause.
func (e *CallError) Unwrap() error { return e.Err }

// Health is what this registry saw of a peer in live queries.
type Health struct {
	LastSuccessAt     *time.Time `json:"last_success_at,omitempty"`
	LastErrorAt       *time.Time `json:"last_error_at,omitempty"`
	LastError         string     `json:"last_error,omitempty"`
	LastLatencyMS     int64      `json:"last_latency_ms"`
	ConsecutiveErrors int        `json:"consecutive_errors"`
	TotalErrors       int64      `json:"total_errors"`
	Breaker           string     `json:"breaker" enum:"closed,half-open,open"`
}

// Fanout runs live queries against the ACTIVE peers.
type Fanout struct {
	// Self is this registry's trust domain (the origin of its own hits).
	Self string
	// Peers lists the ACTIVE peers (Service.Active).
	Peers func() []Peer
	// Caller reaches a peer.
	Caller Caller
	// Deadline is the per-peer deadline (DefaultDeadline when 0).
	Deadline time.Duration
	// MaxHops is the hops a query starting here gets (DefaultMaxHops when 0).
	MaxHops int
	// BreakerOpenFor overrides BreakerOpenFor (tests).
	BreakerOpenFor time.Duration
	// Cache, when set, reuses the peers' part of recent answers to the same query.
	Cache *Cache

	mu       sync.Mutex
	breakers map[string]*gobreaker.CircuitBreaker[answer]
	health   map[string]*Health
}

type answer struct {
	hits  []Hit
	peers []PeerOutcome
}

func (f *Fanout) deadline() time.Duration {
	if f.Deadline > 0 {
		return f.Deadline
	}
	return DefaultDeadline
}

// StartHops is the hops a query that starts here gets.
func (f *Fanout) StartHops() int {
	if f.MaxHops > 0 {
		return f.MaxHops
	}
	return DefaultMaxHops
}

func (f *Fanout) breaker(td string) *gobreaker.CircuitBreaker[answer] {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.breakers == nil {
		f.breakers, f.health = map[string]*gobreaker.CircuitBreaker[answer]{}, map[string]*Health{}
	}
	cb, ok := f.breakers[td]
	if !ok {
		open := f.BreakerOpenFor
		if open <= 0 {
			open = BreakerOpenFor
		}
		cb = gobreaker.NewCircuitBreaker[answer](gobreaker.Settings{Name: td, Timeout: open,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= BreakerFailures },
			// A query the caller abandoned says nothing about the peer.
			IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) }})
		f.breakers[td] = cb
		f.health[td] = &Health{}
	}
	return cb
}

// Health is what this registry saw of td's peer ("closed" breaker and nothing else when it was
// never asked).
func (f *Fanout) Health(td string) Health {
	cb := f.breaker(td)
	f.mu.Lock()
	defer f.mu.Unlock()
	h := *f.health[td]
	h.Breaker = cb.State().String()
	return h
}

func (f *Fanout) record(td string, latency time.Duration, err error) {
	now := time.Now().UTC()
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.health[td]
	h.LastLatencyMS = latency.Milliseconds()
	if err == nil {
		h.LastSuccessAt, h.ConsecutiveErrors = &now, 0
		return
	}
	h.LastErrorAt, h.LastError = &now, err.Error()
	h.ConsecutiveErrors++
	h.TotalErrors++
}

// Query asks every ACTIVE peer not in q.Origins for q in parallel, each within the per-peer
// deadline and through its circuit breaker, and returns local merged with their hits: one
// ranking (Merge) and a peers section saying who answered, timed out, failed or was skipped.
// With q.Hops 0 it asks nobody. The peers are asked with one hop fewer and this registry
// added to the origins. With a Cache, a recent answer of the peers to the same query is
// merged with local instead of asking them again.
func (f *Fanout) Query(ctx context.Context, q Query, local []Hit) Result {
	peers := f.Peers()
	var res Result
	if q.Hops <= 0 || len(peers) == 0 {
		res.Hits = Merge(f.Self, q.Limit, local)
		return res
	}
	if f.Cache == nil {
		res = f.fanout(ctx, q, peers)
	} else {
		key := CacheKey(f.Self, q, peers)
		e, ok, gen := f.Cache.get(ctx, key)
		if ok {
			res = Result{Hits: e.Hits, Peers: e.Peers, Cached: true}
		} else {
			// One fan-out for the searches that miss this key at once; it runs to its end
			// (each peer within the deadline) even if the search that started it is abandoned.
			v, _, _ := f.Cache.flight.Do(key, func() (any, error) {
				fctx := context.WithoutCancel(ctx)
				r := f.fanout(fctx, q, peers)
				f.Cache.put(fctx, key, gen, r.Hits, r.Peers)
				return r, nil
			})
			r := v.(Result)
			res = Result{Hits: slices.Clone(r.Hits), Peers: slices.Clone(r.Peers)}
		}
	}
	res.Hits = Merge(f.Self, q.Limit, append(slices.Clip(local), res.Hits...))
	return res
}

// fanout asks the peers and returns their merged hits (without this registry's) and outcomes.
func (f *Fanout) fanout(ctx context.Context, q Query, peers []Peer) Result {
	var res Result
	deadline := f.deadline()
	if q.Budget > 0 {
		deadline = min(deadline, q.Budget*3/4)
	}
	fwd := q
	fwd.Hops = q.Hops - 1
	fwd.Origins = append(slices.Clone(q.Origins), f.Self)
	outcomes := make([]PeerOutcome, len(peers))
	answers := make([]answer, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		outcomes[i] = PeerOutcome{TrustDomain: p.TrustDomain, PeerID: p.ID}
		if slices.Contains(fwd.Origins, p.TrustDomain) {
			outcomes[i].Status, outcomes[i].Reason = PeerSkipped, "in_origins"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = f.ask(ctx, p, fwd, deadline, &outcomes[i])
		}()
	}
	wg.Wait()
	res.Peers = outcomes
	var all []Hit
	for i, a := range answers {
		all = append(all, a.hits...)
		for _, o := range a.peers {
			if o.Via == "" {
				o.Via = peers[i].TrustDomain
			}
			res.Peers = append(res.Peers, o)
		}
	}
	res.Hits = Merge(f.Self, q.Limit, all)
	return res
}

// ask queries one peer through its breaker and fills o.
func (f *Fanout) ask(ctx context.Context, p Peer, q Query, deadline time.Duration, o *PeerOutcome) answer {
	cb := f.breaker(p.TrustDomain)
	start := time.Now()
	q.Budget = deadline
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	a, err := cb.Execute(func() (answer, error) {
		hits, peers, err := f.Caller.Query(ctx, p, q)
		if err == nil {
			// Hits must come from the peer or from registries further on, never claim to be
			// from this registry or an origin before it.
			hits = slices.DeleteFunc(hits, func(h Hit) bool { return h.Origin == f.Self || slices.Contains(q.Origins, h.Origin) || h.Origin == "" })
		}
		return answer{hits, peers}, err
	})
	lat := time.Since(start)
	o.LatencyMS = lat.Milliseconds()
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		o.Status, o.Reason = PeerSkipped, "circuit_open"
		return answer{}
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil):
		o.Status, o.Reason = PeerTimedOut, "no answer within "+deadline.String()
	case err != nil:
		o.Status, o.Reason = PeerError, "failed"
		if ce := (*CallError)(nil); errors.As(err, &ce) {
			o.Reason = ce.Class
		}
	default:
		o.Status, o.Results = PeerAnswered, len(a.hits)
	}
	f.record(p.TrustDomain, lat, err)
	if err != nil {
		return answer{}
	}
	return a
}

// Merge ranks hits as one list: de-duplicated by (origin, id) keeping the best-scored copy,
// by score (highest first), then this registry's own hits first, then by origin and id; the
// first limit (all when limit ≤ 0).
func Merge(self string, limit int, hits []Hit) []Hit {
	type key struct{ origin, id string }
	best := map[key]int{}
	out := make([]Hit, 0, len(hits))
	for _, h := range hits {
		k := key{h.Origin, h.ID}
		if i, ok := best[k]; ok {
			if h.Score > out[i].Score {
				out[i] = h
			}
			continue
		}
		best[k] = len(out)
		out = append(out, h)
	}
	slices.SortStableFunc(out, func(a, b Hit) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		if (a.Origin == self) != (b.Origin == self) {
			if a.Origin == self {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Origin, b.Origin); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
