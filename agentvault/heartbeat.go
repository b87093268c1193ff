package agentvault

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

const (
	// heartbeatTimeout bounds one heartbeat request.
	heartbeatTimeout = 10 * time.Second
	// minHeartbeatInterval is the shortest period a Heartbeater following the registry uses.
	minHeartbeatInterval = 250 * time.Millisecond
)

// Heartbeater keeps a registered agent listed as alive: it sends a heartbeat at once and then
// periodically until its context ends. The registry expects one every heartbeat interval
// (onboarding.heartbeat_interval, 1 minute by default) and marks an agent silent for three
// intervals inactive in discovery, until its next heartbeat makes it active again. Agent.Run
// uses one; `sovereign agent heartbeat --every` is another.
type Heartbeater struct {
	// Registry is the registry client acting as the agent (required).
	Registry *Registry
	// Credential is the agent's credential; a *TokenSource is invalidated when the registry
	// refuses its token, so that the next heartbeat gets a new one.
	Credential Credential
	// Interval is the time between heartbeats: 0 to follow the registry — half the interval its
	// answers advertise, so that a lost heartbeat is not a missed one (DefaultHeartbeatInterval
	// until it has said).
	Interval time.Duration
	// OnBeat, when set, is told the result of each heartbeat.
	OnBeat func(*AgentInfo, error)
	// Logger receives failed heartbeats (slog.Default when nil); AgentID names the agent there.
	Logger  *slog.Logger
	AgentID string
}

// period is the time to the next heartbeat after the answer info (nil after a failure).
func (h *Heartbeater) period(info *AgentInfo, current time.Duration) time.Duration {
	if h.Interval > 0 {
		return h.Interval
	}
	if info == nil || info.HeartbeatIntervalSeconds <= 0 {
		return current
	}
	p := time.Duration(info.HeartbeatIntervalSeconds * float64(time.Second) / 2)
	return max(p, minHeartbeatInterval)
}

// Run sends heartbeats until ctx ends; failures are logged (and told to OnBeat), never fatal.
func (h *Heartbeater) Run(ctx context.Context) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	every := h.Interval
	if every <= 0 {
		every = DefaultHeartbeatInterval
	}
	for {
		hctx, cancel := context.WithTimeout(ctx, heartbeatTimeout)
		info, err := h.Registry.Heartbeat(hctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			info = nil
			var apiErr *APIError
			if ts, ok := h.Credential.(*TokenSource); ok && errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
				ts.Invalidate() // a token the registry no longer takes: get a new one next time
			}
			log.Warn("agentvault: heartbeat failed", "agent", h.AgentID, "error", err)
		}
		every = h.period(info, every)
		if h.OnBeat != nil {
			h.OnBeat(info, err)
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
