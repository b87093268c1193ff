package server

import (
	"context"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/reputation/rephttp"
	"github.com/sovereign-stack/sovereign/reputation/repsql"
	"github.com/sovereign-stack/sovereign/teg"
)

// registerReputation builds the reputation service over the ledger and its store, adds its
// routes, and runs the full pass every Config.ReputationInterval in the background.
func (s *Server) registerReputation(bgCtx context.Context, api huma.API, tokens *teg.Service, authz policy.Decider, now func() time.Time) {
	s.reputation = &reputation.Service{
		Store: repsql.New(s.db), Ledger: s.ledger, Staking: reputation.LedgerStaking{Service: tokens}, Authz: authz, Now: now, Issuer: s.issuer,
		// The registry's verified developers' first agents (with the validators) are the
		// pre-trusted peers. A TEG alone (split mode) has no agents of its own: validators only.
		Pretrusted: func(ctx context.Context) ([]string, error) {
			return registrysql.FirstAgentsOfVerifiedDevelopers(ctx, s.db)
		},
	}
	// Transfers are limited by the tier of the agent's stored score.
	tokens.Scores = s.reputation.ScoreOf
	(&rephttp.Reputation{Service: s.reputation}).Register(api)
	s.bg.Add(1)
	go s.runReputation(bgCtx, s.cfg.ReputationInterval)
}

// runReputation runs the full pass every interval. Every replica checks often (an interval's
// tenth, at most every 30 s); the pass's lease row in the store lets one of them run it per
// interval (reputation.Service.RunScheduled).
func (s *Server) runReputation(ctx context.Context, every time.Duration) {
	defer s.bg.Done()
	holder := ids.New("rep")
	t := time.NewTicker(min(max(every/10, time.Second), 30*time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r, ran, err := s.reputation.RunScheduled(ctx, holder, every)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("reputation pass", "err", err)
				}
				continue
			}
			if ran {
				s.log.Info("reputation pass", "agents", r.Agents, "ratings", r.Ratings, "iterations", r.Iterations, "seconds", r.Total.Seconds())
			}
		}
	}
}

// Reputation is the reputation service (nil when this server does not run the ledger). Its
// Standing(ctx, agent) is an agent's current tier and score, for the authentication path.
func (s *Server) Reputation() *reputation.Service { return s.reputation }

// standings gives discovery the agents' reputation from the ledger's scores: the stored score
// (remembered a few seconds, like the transfer path's), or a fresh agent's for an agent no pass
// has scored yet, and its tier in the tier table in force.
type standings struct {
	rep    *reputation.Service
	params func(ctx context.Context) (teg.Params, error)
}

func (s standings) Standings(ctx context.Context, ids []string) (map[string]registry.Standing, error) {
	p, err := s.params(ctx)
	if err != nil {
		return nil, err
	}
	fresh := reputation.Compute(reputation.Inputs{}, reputation.DefaultWeights(), time.Now()).Score
	scores := s.rep.ScoresOf(ctx, ids)
	out := make(map[string]registry.Standing, len(ids))
	for _, id := range ids {
		score, ok := scores[id]
		if !ok {
			score = fresh
		}
		out[id] = registry.Standing{Score: score, Tier: reputation.TierOf(&p, score).Name}
	}
	return out, nil
}

func (s standings) ValidTier(ctx context.Context, name string) (bool, error) {
	p, err := s.params(ctx)
	if err != nil {
		return false, err
	}
	for _, t := range p.EffectiveTiers() {
		if t.Name == name {
			return true, nil
		}
	}
	return false, nil
}
