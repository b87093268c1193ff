package registry

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/discovery"
)

// ReplicaOwner is the owner of the copies of federation peers' cards: a developer account no
// one signs in to, created with the first copy.
const ReplicaOwner = "dev_federation_replicas"

// maxReputationBytes bounds the portable reputation a copy keeps.
const maxReputationBytes = 8 << 10

// ErrCardReplica refuses a change to a copy of another registry's card: copies are read-only,
// the card changes on its origin registry and the change arrives here by sync.
var ErrCardReplica = apperr.New(apperr.Forbidden, "CARD_REPLICATED",
	"this card is a read-only copy of a card of another registry (origin_registry): change it there")

// Replica is one change of a federation peer's card as it arrives from the peer's feed.
type Replica struct {
	// Seq is the change's position in the origin's feed (later wins).
	Seq     int64
	ID      string
	Version int
	// Deleted is a tombstone: the copy goes.
	Deleted bool
	// URN is the card's identifier on its origin.
	URN    string
	Status string
	// JSON is the A2A v1.0 card (nil for a tombstone).
	JSON []byte
	// AgentDID and SPIFFEID identify the agent registered with the card on its origin.
	AgentDID, SPIFFEID string
	// Reputation is the origin's signed portable reputation, kept as sent (nil: none).
	Reputation []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ReplicaResult counts what ApplyReplicas did.
type ReplicaResult struct {
	Applied, Stale, Rejected int
	// Problem is why the first rejected change was rejected.
	Problem string
}

// ApplyReplicas applies a page of origin's changes (in feed order) to the copies of its
// cards: each card is validated as a publication would be (a malformed one is rejected, the
// others still apply), stored read-only with origin as its origin_registry and the origin's
// version, and put in discovery. A change not later in the origin's feed than the one the
// copy holds is stale (the origin's newest state wins); a change whose id is a card of this registry or of another origin is
// rejected.
func (s *Cards) ApplyReplicas(ctx context.Context, origin string, in []Replica) (ReplicaResult, error) {
	var res ReplicaResult
	reject := func(id, why string) {
		res.Rejected++
		if res.Problem == "" {
			res.Problem = fmt.Sprintf("card %q: %s", id, why)
		}
	}
	// Validating the cards is most of a page's work outside the store: it runs on every core.
	built := make([]*AgentCard, len(in))
	problems := make([]string, len(in))
	var failed error
	var mu sync.Mutex
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), max(1, len(in)/64))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(in); i += workers {
				c, problem, err := s.replicaCard(ctx, origin, in[i])
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				built[i], problems[i] = c, problem
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		return res, failed
	}
	cards := make([]*AgentCard, 0, len(in))
	for i, c := range built {
		if c == nil {
			reject(in[i].ID, problems[i])
			continue
		}
		cards = append(cards, c)
	}
	applied, stale, foreign, err := s.store.ApplyReplicas(ctx, origin, cards)
	if err != nil {
		return res, err
	}
	for _, id := range foreign {
		reject(id, "the id is a card of another registry here")
	}
	res.Applied, res.Stale = len(applied), stale
	s.written(ctx, applied)
	return res, nil
}

// replicaCard builds the record of one change of origin's feed: the card, or nil and why it
// is rejected (err is for failures of this registry, not of the card).
func (s *Cards) replicaCard(ctx context.Context, origin string, r Replica) (*AgentCard, string, error) {
	c := &AgentCard{ID: r.ID, OwnerID: ReplicaOwner, Origin: origin, Version: r.Version, Status: r.Status,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), OriginReputation: r.Reputation, OriginSeq: r.Seq,
		AgentDID: r.AgentDID, SPIFFEID: r.SPIFFEID}
	if !strings.HasPrefix(r.ID, IDPrefixAgent+"_") || len(r.ID) > 64 || r.Version < 1 || r.Seq < 1 {
		return nil, "not an agent card id, version and feed position", nil
	}
	if len(c.OriginReputation) > maxReputationBytes {
		c.OriginReputation = nil // not a reputation statement: the card comes without one
	}
	if c.Status == "" {
		c.Status = discovery.StatusActive
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = s.now().UTC()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = c.UpdatedAt
	}
	if r.Deleted {
		c.DeletedAt = &c.UpdatedAt
		return c, "", nil
	}
	if err := s.build(ctx, c, CardInput{JSON: r.JSON, Status: r.Status}); err != nil {
		if apperr.KindOf(err) == apperr.Internal {
			return nil, "", err
		}
		return nil, err.Error(), nil
	}
	c.ETag = etag(c)
	c.Slug = ReplicaSlug(r.URN, c)
	return c, "", nil
}

// DropReplicas removes every copy of origin's cards (tombstones in this registry's feed) and
// returns how many went.
func (s *Cards) DropReplicas(ctx context.Context, origin string) (int, error) {
	now := s.now().UTC()
	gone, err := s.store.DropReplicas(ctx, origin, now)
	if err != nil {
		return 0, err
	}
	tombstones := make([]*AgentCard, len(gone))
	for i, id := range gone {
		tombstones[i] = &AgentCard{ID: id, DeletedAt: &now}
	}
	s.written(ctx, tombstones)
	return len(gone), nil
}

// ReplicaOrigins lists the origins of the copies held (not deleted).
func (s *Cards) ReplicaOrigins(ctx context.Context) ([]string, error) {
	return s.store.ReplicaOrigins(ctx)
}

// OwnChanges returns up to limit changes of this registry's own cards (never the copies of
// peers' cards) with seq > after, in seq order, with tombstones, and the feed's head read
// before them.
func (s *Cards) OwnChanges(ctx context.Context, after int64, limit int) ([]*AgentCard, int64, error) {
	return s.store.OwnCardChanges(ctx, after, limit)
}

// ReplicaSlug is the slug of a copy: its origin URN without "urn:air:" (a local slug has no
// colon, so the two never meet), or, when the origin sent none, origin:agent:<id>.
func ReplicaSlug(urn string, c *AgentCard) string {
	if rest, ok := strings.CutPrefix(urn, "urn:air:"); ok && rest != "" && len(rest) <= 300 {
		return rest
	}
	return c.Origin + ":agent:" + strings.ToLower(c.ID)
}

// checkWritable refuses changes to copies.
func checkWritable(c *AgentCard) error {
	if c.Origin != "" {
		return ErrCardReplica.With("origin_registry", c.Origin)
	}
	return nil
}
