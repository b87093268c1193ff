package registry

import (
	"context"
	"fmt"
	"strings"
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
	cards := make([]*AgentCard, 0, len(in))
	for _, r := range in {
		c := &AgentCard{ID: r.ID, OwnerID: ReplicaOwner, Origin: origin, Version: r.Version, Status: r.Status,
			CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), OriginReputation: r.Reputation, OriginSeq: r.Seq}
		if !strings.HasPrefix(r.ID, IDPrefixAgent+"_") || len(r.ID) > 64 || r.Version < 1 || r.Seq < 1 {
			reject(r.ID, "not an agent card id, version and feed position")
			continue
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
			cards = append(cards, c)
			continue
		}
		if err := s.build(ctx, c, CardInput{JSON: r.JSON, Status: r.Status}); err != nil {
			if apperr.KindOf(err) == apperr.Internal {
				return res, err
			}
			reject(r.ID, err.Error())
			continue
		}
		c.ETag = etag(c)
		c.Slug = ReplicaSlug(r.URN, c)
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
	for _, c := range applied {
		s.applyLocal(c)
	}
	return res, nil
}

// DropReplicas removes every copy of origin's cards (tombstones in this registry's feed) and
// returns how many went.
func (s *Cards) DropReplicas(ctx context.Context, origin string) (int, error) {
	gone, err := s.store.DropReplicas(ctx, origin, s.now().UTC())
	if err != nil {
		return 0, err
	}
	if s.index != nil {
		for _, id := range gone {
			s.index.Remove(id)
		}
	}
	return len(gone), nil
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
