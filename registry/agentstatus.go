package registry

import (
	"context"
	"sync"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
)

// AgentStatusStaleness bounds how long a replica may go on admitting an agent that another
// replica suspended or revoked: every replica keeps the statuses of the agents it has seen in
// memory, and checks the store's status generation (OnboardingStore.AgentStatusGeneration, one
// small read) when it last did so longer ago than this, forgetting every status when it moved.
// The replica that makes a change forgets that agent's status at once. The ledger freezes the
// agent's wallet before its status changes, so its money stops on every replica at once
// whatever this bound.
const AgentStatusStaleness = 250 * time.Millisecond

// maxCachedStatuses bounds the status cache; it is emptied when full.
const maxCachedStatuses = 100_000

// agentStatuses is the in-memory cache of agents' statuses behind Onboarding.AgentActive.
// Entries hold what the store said at or after the generation check they follow: a load that
// a forget or a new generation overtook is not kept (epoch).
type agentStatuses struct {
	store OnboardingStore

	refreshing sync.Mutex // one generation read at a time

	mu      sync.Mutex
	checked time.Time // when the last generation read began (monotonic clock)
	gen     int64
	epoch   uint64 // moves with every forget, so a load that began before one is not kept
	status  map[string]string
}

// notRegistered is the cached status of an agent the registry does not know.
const notRegistered = ""

// get is the agent's status as stored (notRegistered for an unknown agent), at most
// AgentStatusStaleness old as far as other replicas' changes go.
func (c *agentStatuses) get(ctx context.Context, agentID string) (string, error) {
	c.mu.Lock()
	fresh := time.Since(c.checked) < AgentStatusStaleness
	st, ok := c.status[agentID]
	c.mu.Unlock()
	if fresh && ok {
		return st, nil
	}
	if !fresh {
		if err := c.refresh(ctx); err != nil {
			return "", err
		}
	}
	c.mu.Lock()
	st, ok = c.status[agentID]
	epoch := c.epoch
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := c.store.AgentStatus(ctx, agentID)
	if apperr.KindOf(err) == apperr.NotFound {
		st, err = notRegistered, nil
	}
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if c.epoch == epoch {
		if c.status == nil || len(c.status) >= maxCachedStatuses {
			c.status = map[string]string{}
		}
		c.status[agentID] = st
	}
	c.mu.Unlock()
	return st, nil
}

// refresh reads the status generation, unless another caller did while this one waited, and
// forgets every status when it moved.
func (c *agentStatuses) refresh(ctx context.Context) error {
	c.refreshing.Lock()
	defer c.refreshing.Unlock()
	c.mu.Lock()
	fresh := time.Since(c.checked) < AgentStatusStaleness
	c.mu.Unlock()
	if fresh {
		return nil
	}
	began := time.Now()
	gen, err := c.store.AgentStatusGeneration(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if gen != c.gen {
		c.gen, c.status = gen, nil
		c.epoch++
	}
	c.checked = began
	c.mu.Unlock()
	return nil
}

// forget drops the agent's status after this replica changed it (or tried to), so the next
// request reads it from the store.
func (c *agentStatuses) forget(agentID string) {
	c.mu.Lock()
	delete(c.status, agentID)
	c.epoch++
	c.mu.Unlock()
}
