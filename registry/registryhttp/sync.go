package registryhttp

import (
	"context"
	"encoding/json"

	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/reputation"
)

// The card service as federation sync sees it: this registry's feed for its peers, and the
// store of the copies of theirs.
var (
	_ federation.Feed     = (*Cards)(nil)
	_ federation.Replicas = (*Cards)(nil)
)

// OwnChanges implements federation.Feed: this registry's own card changes, each card of a
// registered agent (one with a SPIFFE ID or DID) with the agent's signed portable reputation.
func (h *Cards) OwnChanges(ctx context.Context, after int64, limit int) ([]federation.Change, int64, error) {
	cards, head, err := h.Service.OwnChanges(ctx, after, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]federation.Change, len(cards))
	for i, c := range cards {
		ch := federation.Change{Seq: c.Seq, ID: c.ID, Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
		if c.DeletedAt != nil {
			ch.Deleted = true
		} else {
			ch.URN, ch.Status, ch.SignatureStatus, ch.Card = h.Service.URN(c), c.Status, c.SignatureStatus, c.JSON
			ch.AgentDID, ch.SPIFFEID = c.AgentDID, c.SPIFFEID
			if h.Reputation != nil && (c.AgentDID != "" || c.SPIFFEID != "") {
				if p, err := h.Reputation.PortableOf(ctx, c.ID); err == nil {
					ch.Reputation, _ = json.Marshal(p)
				}
			}
		}
		out[i] = ch
	}
	return out, head, nil
}

// ApplyChanges implements federation.Replicas.
func (h *Cards) ApplyChanges(ctx context.Context, origin string, changes []federation.Change) (federation.ApplyResult, error) {
	in := make([]registry.Replica, len(changes))
	for i, c := range changes {
		in[i] = registry.Replica{Seq: c.Seq, ID: c.ID, Version: c.Version, Deleted: c.Deleted, URN: c.URN, Status: c.Status,
			JSON: c.Card, AgentDID: c.AgentDID, SPIFFEID: c.SPIFFEID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
		if len(c.Reputation) > 0 && string(c.Reputation) != "null" {
			in[i].Reputation = c.Reputation
		}
	}
	res, err := h.Service.ApplyReplicas(ctx, origin, in)
	return federation.ApplyResult{Applied: res.Applied, Stale: res.Stale, Rejected: res.Rejected, Problem: res.Problem}, err
}

// DropReplicas implements federation.Replicas.
func (h *Cards) DropReplicas(ctx context.Context, origin string) (int, error) {
	return h.Service.DropReplicas(ctx, origin)
}

// ReplicaOrigins implements federation.Replicas.
func (h *Cards) ReplicaOrigins(ctx context.Context) ([]string, error) {
	return h.Service.ReplicaOrigins(ctx)
}

// originReputation is the signed reputation a copy's origin sent with it.
func originReputation(c *registry.AgentCard) (reputation.PortableReputation, bool) {
	var p reputation.PortableReputation
	if c.Origin == "" || len(c.OriginReputation) == 0 || json.Unmarshal(c.OriginReputation, &p) != nil || p.Token == "" {
		return p, false
	}
	return p, true
}
