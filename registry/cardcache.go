package registry

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/sovereign-stack/sovereign/hotcache"
)

// CardCache caches card documents by card id, versioned by the card row's Revision (which
// every change of the row moves, heartbeats included).
//
// The card service reads through it (Get, the agent-card document, the cards of a discovery
// page) and keeps it right three ways:
//   - after each write it makes (publish, update, delete, registration, heartbeat, status
//     change, federation copies and their removal) it reads the card back from the store and
//     stores it (write-through; compare-and-set on the revision, so a reader that read the
//     card before the write never puts the older document back);
//   - each change the discovery index follows from the store's change feed (every replica's
//     writes, and the stale-agent sweep) invalidates the card at the revision read with it;
//   - entries expire (after hotcache.DefaultTTL in the server).
//
// With CardsConfig.ValidateCache (the server's in-process cache), every cached card is checked
// against the store's current revision of it before it is served (CardRevisionReader: one
// probe of an index a card, not the row): a cached card is then never staler than a read of
// the store, whichever replica wrote.
type CardCache = hotcache.Cache[*AgentCard]

// CardRevisionReader reads the current revisions of cards (deleted ones included, missing ones
// absent) cheaply; registrysql.Cards implements it.
type CardRevisionReader interface {
	CardRevisions(ctx context.Context, ids []string) (map[string]int64, error)
}

// CardCodec encodes cards for a shared card cache (Redis): the record as JSON, without the
// parsed card (Proto parses JSON again on demand).
var CardCodec = hotcache.Codec[*AgentCard]{
	Marshal: func(c *AgentCard) ([]byte, error) { return json.Marshal(c) },
	Unmarshal: func(b []byte) (*AgentCard, error) {
		var c AgentCard
		err := json.Unmarshal(b, &c)
		return &c, err
	},
}

// clone is a copy of a cached card the caller may change (fields are replaced, never changed
// in place, by the service).
func (c *AgentCard) clone() *AgentCard {
	cp := *c
	return &cp
}

// readCard reads one card (deleted ones included), through the cache when there is one.
func (s *Cards) readCard(ctx context.Context, id string) (*AgentCard, error) {
	if s.cache != nil {
		if es, err := s.cache.Get(ctx, id); err == nil && es[0].OK && s.current(ctx, es, []string{id}, 0)[0] {
			return es[0].Val.clone(), nil
		}
	}
	c, err := s.store.Card(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.remember(ctx, c), nil
}

// remember stores a card read from the store in the cache and returns a copy of it for the
// caller.
func (s *Cards) remember(ctx context.Context, c *AgentCard) *AgentCard {
	if s.cache == nil {
		return c
	}
	// A failing cache (counted by its metrics) leaves the read as it is: the store answered.
	_ = s.cache.Set(ctx, c.ID, c.Revision, c)
	return c.clone()
}

// readCards reads the cards that are not deleted among idList, in its order, skipping the
// others (CardStore.Cards), the cached ones from the cache.
func (s *Cards) readCards(ctx context.Context, idList []string) ([]*AgentCard, error) {
	if s.cache == nil || len(idList) == 0 {
		return s.store.Cards(ctx, idList)
	}
	es, err := s.cache.Get(ctx, idList...)
	if err != nil {
		es = make([]hotcache.Entry[*AgentCard], len(idList))
	}
	for i, ok := range s.current(ctx, es, idList, s.pageRecheck) {
		es[i].OK = ok
	}
	var missing []string
	for i, e := range es {
		if !e.OK {
			missing = append(missing, idList[i])
		}
	}
	var fetched map[string]*AgentCard
	if len(missing) > 0 {
		cards, err := s.store.Cards(ctx, missing)
		if err != nil {
			return nil, err
		}
		fetched = make(map[string]*AgentCard, len(cards))
		for _, c := range cards {
			if _, dup := fetched[c.ID]; !dup {
				fetched[c.ID] = s.remember(ctx, c)
			}
		}
	}
	out := make([]*AgentCard, 0, len(idList))
	for i, e := range es {
		switch {
		case e.OK && e.Val.DeletedAt == nil:
			out = append(out, e.Val.clone())
		case !e.OK:
			if c, ok := fetched[idList[i]]; ok {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// current reports which of the entries found for ids may be served: every entry found, or,
// when the service validates its cache, those at the store's current revision (none when the
// revisions cannot be read) — except that an entry found current within recheck (when > 0) is
// served without asking the store again.
func (s *Cards) current(ctx context.Context, es []hotcache.Entry[*AgentCard], ids []string, recheck time.Duration) []bool {
	ok := make([]bool, len(es))
	var hit []string
	for i, e := range es {
		ok[i] = e.OK
		if e.OK {
			hit = append(hit, ids[i])
		}
	}
	if s.revs == nil || len(hit) == 0 {
		return ok
	}
	now := s.now()
	var fresh map[string]bool
	if recheck > 0 {
		fresh = s.checked.within(ids, es, now.Add(-recheck))
		hit = slices.DeleteFunc(hit, func(id string) bool { return fresh[id] })
		if len(hit) == 0 {
			return ok
		}
	}
	revs := map[string]int64{}
	for start := 0; start < len(hit); start += 500 {
		r, err := s.revs.CardRevisions(ctx, hit[start:min(start+500, len(hit))])
		if err != nil {
			return make([]bool, len(es))
		}
		for id, v := range r {
			revs[id] = v
		}
	}
	var found []checkedRevision
	for i, e := range es {
		if e.OK && !fresh[ids[i]] {
			v, in := revs[ids[i]]
			ok[i] = in && v == e.Version
			if ok[i] {
				found = append(found, checkedRevision{id: ids[i], rev: v})
			}
		}
	}
	s.checked.note(found, now)
	return ok
}

// checkedRevision is a card's cached revision found current in the store.
type checkedRevision struct {
	id  string
	rev int64
}

// checkedRevisions remembers when each card's cached revision was last found current in the
// store (bounded: forgotten all at once past maxCheckedRevisions, which only costs checks).
type checkedRevisions struct {
	mu sync.Mutex
	m  map[string]checkedAt
}

// checkedAt is a revision and when it was found current.
type checkedAt struct {
	rev int64
	at  time.Time
}

// maxCheckedRevisions bounds checkedRevisions (a little above the server's card cache).
const maxCheckedRevisions = 100_000

// within reports which of the entries found for ids were found current at their revision
// since the time given.
func (c *checkedRevisions) within(ids []string, es []hotcache.Entry[*AgentCard], since time.Time) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	var fresh map[string]bool
	for i, e := range es {
		if !e.OK {
			continue
		}
		if at, ok := c.m[ids[i]]; ok && at.rev == e.Version && at.at.After(since) {
			if fresh == nil {
				fresh = make(map[string]bool, len(es))
			}
			fresh[ids[i]] = true
		}
	}
	return fresh
}

// forget drops what is known of id's check, so that the next page checks it.
func (c *checkedRevisions) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// note records the revisions found current at now.
func (c *checkedRevisions) note(found []checkedRevision, now time.Time) {
	if len(found) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(found) > maxCheckedRevisions {
		c.m = make(map[string]checkedAt, len(found))
	}
	for _, f := range found {
		c.m[f.id] = checkedAt{rev: f.rev, at: now}
	}
}

// refreshCards writes the cards with these ids through to the cache after this process wrote
// them: each read back from the store and stored at its revision.
func (s *Cards) refreshCards(ctx context.Context, ids ...string) {
	if s.cache == nil || len(ids) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx) // the write is done: its cache entry must follow
	seen := map[string]bool{}
	if len(ids) > 1 {
		live, err := s.store.Cards(ctx, ids)
		if err == nil {
			for _, c := range live {
				if !seen[c.ID] {
					seen[c.ID] = true
					s.remember(ctx, c)
				}
			}
		}
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		c, err := s.store.Card(ctx, id)
		if err != nil {
			s.log.WarnContext(ctx, "card cache refresh failed", "card_id", id, "err", err)
			continue
		}
		s.remember(ctx, c)
	}
}

// RefreshCard brings the cache up to a card another service of this registry changed (the
// onboarding service after a heartbeat or a status change). A cache whose hits are checked
// against the store (ValidateCache) needs no read-back: forgetting when the card was last
// found current makes the next page check it too, and that check finds the new revision —
// heartbeats, frequent and seldom followed by a read, then cost no card read each.
func (s *Cards) RefreshCard(ctx context.Context, id string) {
	switch {
	case s == nil:
	case s.revs != nil:
		s.checked.forget(id)
	default:
		s.refreshCards(ctx, id)
	}
}

// invalidateChanges invalidates the cards of changes read from the change feed, each at the
// revision read with it (a cached document at that revision or later stays).
func (s *Cards) invalidateChanges(ctx context.Context, ch []CardChange) {
	if s.cache == nil {
		return
	}
	for _, c := range ch {
		if err := s.cache.Invalidate(ctx, c.Doc.ID, c.Revision); err != nil {
			s.log.WarnContext(ctx, "card cache invalidation failed", "card_id", c.Doc.ID, "err", err)
			return
		}
	}
}
