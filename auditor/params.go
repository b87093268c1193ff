// Package auditor watches the ledger's event log for patterns of abuse — bursts of transfers,
// outsized transfers, value going round in circles, sybil funnels, rings of mutual top ratings —
// and raises flags an admin acknowledges, resolves or escalates (to a suspension or a dispute).
// It is the domain: no SQL (auditorsql stores flags, the consumer's cursor and lease, and the
// parameters) and no HTTP (auditorhttp serves it). The consumer runs outside the request path,
// in the server's background loop, on one replica at a time.
package auditor

import (
	"fmt"
	"math"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
)

// Rule names a pattern the auditor looks for.
type Rule string

// The rules.
const (
	// HighVelocity: one agent sends more than VelocityCount transfers within VelocityWindow.
	HighVelocity Rule = "HIGH_VELOCITY"
	// LargeTransfer: a transfer over the sender's tier limit, or more than LargeSigma standard
	// deviations above the sender's mean over LargeWindow.
	LargeTransfer Rule = "LARGE_TRANSFER"
	// CircularFlow: value back at its origin through at most CircularMaxHops transfers within
	// CircularWindow (wash trading to game reputation).
	CircularFlow Rule = "CIRCULAR_FLOW"
	// SybilFunnel: at least SybilAgents new agents of one developer paying one agent within
	// SybilWindow.
	SybilFunnel Rule = "SYBIL_FUNNEL"
	// RatingRing: at least RingSize agents that all gave each other top ratings.
	RatingRing Rule = "RATING_RING"
)

// Rules are every rule, in the order the API lists them.
var Rules = []Rule{HighVelocity, LargeTransfer, CircularFlow, SybilFunnel, RatingRing}

// Params are the auditor's thresholds and which rules are enabled: stored, and changed by an
// admin (PUT /api/v1/auditor/rules). Durations are in seconds in JSON.
type Params struct {
	// Enabled says which rules run (a rule absent from the map runs).
	Enabled map[Rule]bool `json:"enabled"`

	VelocityCount  int      `json:"velocity_count"`
	VelocityWindow Duration `json:"velocity_window"`

	LargeSigma float64 `json:"large_sigma"`
	// LargeWindow is the span of the sender's running statistics (30 days).
	LargeWindow Duration `json:"large_window"`
	// LargeMinSamples is how many transfers an agent must have made in LargeWindow before the σ
	// test applies to it.
	LargeMinSamples int `json:"large_min_samples"`
	// LargeSigmaFloor bounds σ below by this fraction of the mean, so that an agent that always
	// pays the same amount is not flagged for paying a little more.
	LargeSigmaFloor float64 `json:"large_sigma_floor"`

	CircularMinHops int      `json:"circular_min_hops"`
	CircularMaxHops int      `json:"circular_max_hops"`
	CircularWindow  Duration `json:"circular_window"`
	// CircularMinRatio: each hop carries at least this fraction of the hop before it, and the
	// value back at the origin is at least this fraction of what left it (value passed on, less
	// fees — not unrelated payments that happen to close a loop).
	CircularMinRatio float64 `json:"circular_min_ratio"`

	SybilAgents int      `json:"sybil_agents"`
	SybilWindow Duration `json:"sybil_window"`
	// SybilNewAge: an agent is new for this long after it was registered.
	SybilNewAge Duration `json:"sybil_new_age"`

	// RingSize is the smallest clique of mutual top ratings flagged; RingMinStars a top rating.
	RingSize     int `json:"ring_size"`
	RingMinStars int `json:"ring_min_stars"`
	// RingWindow: ratings older than this are not looked at.
	RingWindow Duration `json:"ring_window"`
	// RingEvery is how often the ratings are scanned for rings.
	RingEvery Duration `json:"ring_every"`
}

// Duration is a time.Duration that is whole seconds in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%d", int64(time.Duration(d)/time.Second))), nil
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var f float64
	if _, err := fmt.Sscan(string(b), &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 10*365*86400 {
		return fmt.Errorf("a duration is a number of seconds from 0 to ten years")
	}
	*d = Duration(time.Duration(f * float64(time.Second)))
	return nil
}

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// DefaultParams are the thresholds of docs/AUDITOR.md: more than 100 transfers in 5 minutes;
// over the tier limit or 5σ above the 30-day mean (after 20 transfers, σ at least 10 % of the
// mean); 2 to 4 hops back to the origin within an hour, each carrying at least half the value
// before it; 5 new (under 7 days old) agents of one developer paying one agent within 24 hours;
// cliques of 3 agents rating each other 5 stars within 30 days, looked for every 5 minutes.
func DefaultParams() Params {
	return Params{
		Enabled:        map[Rule]bool{HighVelocity: true, LargeTransfer: true, CircularFlow: true, SybilFunnel: true, RatingRing: true},
		VelocityCount:  100,
		VelocityWindow: Duration(5 * time.Minute),
		LargeSigma:     5, LargeWindow: Duration(30 * 24 * time.Hour), LargeMinSamples: 20, LargeSigmaFloor: 0.1,
		CircularMinHops: 3, CircularMaxHops: 4, CircularWindow: Duration(time.Hour), CircularMinRatio: 0.5,
		SybilAgents: 5, SybilWindow: Duration(24 * time.Hour), SybilNewAge: Duration(7 * 24 * time.Hour),
		RingSize: 3, RingMinStars: 5, RingWindow: Duration(30 * 24 * time.Hour), RingEvery: Duration(5 * time.Minute),
	}
}

// On says whether rule r is enabled.
func (p *Params) On(r Rule) bool {
	on, ok := p.Enabled[r]
	return !ok || on
}

// ErrInvalidParams is the refusal of a parameter set out of range; details name the field.
var ErrInvalidParams = apperr.New(apperr.Invalid, "INVALID_AUDITOR_PARAMS", "an auditor parameter is out of range")

// Validate checks every threshold's range.
func (p *Params) Validate() error {
	bad := func(field, why string) error { return ErrInvalidParams.With("field", field).With("reason", why) }
	for r := range p.Enabled {
		if !knownRule(r) {
			return bad("enabled", "unknown rule "+string(r))
		}
	}
	switch {
	case p.VelocityCount < 1 || p.VelocityCount > 100_000:
		return bad("velocity_count", "1 to 100000")
	case p.VelocityWindow.D() < time.Second || p.VelocityWindow.D() > 24*time.Hour:
		return bad("velocity_window", "1 s to 24 h")
	case !(p.LargeSigma >= 1 && p.LargeSigma <= 100):
		return bad("large_sigma", "1 to 100")
	case p.LargeWindow.D() < 24*time.Hour || p.LargeWindow.D() > 90*24*time.Hour:
		return bad("large_window", "1 to 90 days")
	case p.LargeMinSamples < 2 || p.LargeMinSamples > 100_000:
		return bad("large_min_samples", "2 to 100000")
	case !(p.LargeSigmaFloor >= 0 && p.LargeSigmaFloor <= 10):
		return bad("large_sigma_floor", "0 to 10")
	case p.CircularMinHops < 2 || p.CircularMaxHops < p.CircularMinHops || p.CircularMaxHops > 6:
		return bad("circular_max_hops", "2 ≤ circular_min_hops ≤ circular_max_hops ≤ 6")
	case p.CircularWindow.D() < time.Second || p.CircularWindow.D() > 7*24*time.Hour:
		return bad("circular_window", "1 s to 7 days")
	case !(p.CircularMinRatio > 0 && p.CircularMinRatio <= 1):
		return bad("circular_min_ratio", "above 0, at most 1")
	case p.SybilAgents < 2 || p.SybilAgents > 1000:
		return bad("sybil_agents", "2 to 1000")
	case p.SybilWindow.D() < time.Minute || p.SybilWindow.D() > 30*24*time.Hour:
		return bad("sybil_window", "1 min to 30 days")
	case p.SybilNewAge.D() < time.Hour || p.SybilNewAge.D() > 365*24*time.Hour:
		return bad("sybil_new_age", "1 h to 365 days")
	case p.RingSize < 2 || p.RingSize > 50:
		return bad("ring_size", "2 to 50")
	case p.RingMinStars < 1 || p.RingMinStars > 5:
		return bad("ring_min_stars", "1 to 5")
	case p.RingWindow.D() < time.Hour || p.RingWindow.D() > 365*24*time.Hour:
		return bad("ring_window", "1 h to 365 days")
	case p.RingEvery.D() < time.Second || p.RingEvery.D() > 24*time.Hour:
		return bad("ring_every", "1 s to 24 h")
	}
	return nil
}

func knownRule(r Rule) bool {
	for _, k := range Rules {
		if k == r {
			return true
		}
	}
	return false
}
