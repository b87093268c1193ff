package ardhttp_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
)

// memStore is an in-memory registry.CardStore: enough of one for the card service to publish,
// read and index cards.
type memStore struct {
	mu      sync.Mutex
	cards   map[string]*registry.AgentCard
	changes []registry.CardChange
	// failSearch makes Cards fail (for the 500 path).
	failCards error
}

func newMemStore() *memStore { return &memStore{cards: map[string]*registry.AgentCard{}} }

func (s *memStore) record(c *registry.AgentCard) {
	cp := *c
	s.cards[c.ID] = &cp
	c.Seq = int64(len(s.changes) + 1)
	s.cards[c.ID].Seq = c.Seq
	s.changes = append(s.changes, registry.CardChange{Seq: c.Seq, Doc: c.Doc(), Version: c.Version, Deleted: c.DeletedAt != nil})
}

func (s *memStore) InsertCard(_ context.Context, c *registry.AgentCard, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.cards {
		if o.Slug == c.Slug {
			return registry.ErrSlugTaken
		}
	}
	s.record(c)
	return nil
}

func (s *memStore) UpdateCard(_ context.Context, c *registry.AgentCard, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.cards[c.ID]
	if !ok {
		return registry.ErrCardNotFound
	}
	if o.Version != c.Version-1 {
		return registry.ErrCardVersionConflict
	}
	s.record(c)
	return nil
}

func (s *memStore) DeleteCard(ctx context.Context, c *registry.AgentCard, by string) error {
	return s.UpdateCard(ctx, c, by)
}

func (s *memStore) Card(_ context.Context, id string) (*registry.AgentCard, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cards[id]
	if !ok {
		return nil, registry.ErrCardNotFound
	}
	cp := *c
	return &cp, nil
}

func (s *memStore) CardBySlug(_ context.Context, slug string) (*registry.AgentCard, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cards {
		if c.Slug == slug {
			cp := *c
			return &cp, nil
		}
	}
	return nil, registry.ErrCardNotFound
}

func (s *memStore) Cards(_ context.Context, ids []string) ([]*registry.AgentCard, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failCards != nil {
		return nil, s.failCards
	}
	var out []*registry.AgentCard
	for _, id := range ids {
		if c, ok := s.cards[id]; ok && c.DeletedAt == nil {
			cp := *c
			out = append(out, &cp)
		}
	}
	return out, nil
}

func (s *memStore) CardHistory(context.Context, string, int, int) ([]registry.CardVersion, error) {
	return nil, nil
}

func (s *memStore) SearchCards(context.Context, *discovery.Query) (discovery.Result, error) {
	return discovery.Result{}, apperr.New(apperr.Unavailable, "NO_FTS", "the test store has no full-text index")
}

func (s *memStore) CardChanges(_ context.Context, after int64, limit int) ([]registry.CardChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, _ := slices.BinarySearchFunc(s.changes, after+1, func(c registry.CardChange, seq int64) int { return int(c.Seq - seq) })
	return slices.Clone(s.changes[i:min(len(s.changes), i+limit)]), nil
}

// errNoSync: the test store keeps no copies of federation peers' cards.
var errNoSync = apperr.New(apperr.Unavailable, "NO_SYNC", "the test store keeps no copies of peers' cards")

func (s *memStore) OwnCardChanges(context.Context, int64, int) ([]*registry.AgentCard, int64, error) {
	return nil, 0, errNoSync
}

func (s *memStore) ApplyReplicas(context.Context, string, []*registry.AgentCard) ([]*registry.AgentCard, int, []string, error) {
	return nil, 0, nil, errNoSync
}

func (s *memStore) DropReplicas(context.Context, string, time.Time) ([]string, error) {
	return nil, errNoSync
}

func (s *memStore) ReplicaOrigins(context.Context) ([]string, error) { return nil, nil }

func (s *memStore) CardHead(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.changes)), nil
}

func (s *memStore) CardDocs(_ context.Context, after string, limit int) ([]*discovery.Doc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, c := range s.cards {
		if id > after && c.DeletedAt == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []*discovery.Doc
	for _, id := range ids[:min(len(ids), limit)] {
		out = append(out, s.cards[id].Doc())
	}
	return out, nil
}

// set changes a stored card's registry fields (identity, status) and records the change.
func (s *memStore) set(id string, f func(c *registry.AgentCard)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *s.cards[id]
	f(&c)
	s.record(&c)
}

// allow is a policy that allows everything.
type allow struct{}

func (allow) Decide(context.Context, string, policy.Input) (policy.Decision, error) {
	return policy.Decision{Allow: true}, nil
}
