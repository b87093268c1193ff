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
	holder := ids.New("rep")
	s.every(ctx, min(max(every/10, time.Second), 30*time.Second), func(time.Time) {
		r, ran, err := s.reputation.RunScheduled(ctx, holder, every)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("reputation pass", "err", err)
			}
			return
		}
		if ran {
			s.log.Info("reputation pass", "agents", r.Agents, "ratings", r.Ratings, "iterations", r.Iterations, "seconds", r.Total.Seconds())
		}
	})
}

// Reputation is the reputation service (nil when this server does not run the ledger). Its
// Standing(ctx, agent) is an agent's current tier and score, for the authentication path.
func (s *Server) Reputation() *reputation.Service { return s.reputation }

// standings gives discovery the agents' reputation (reputation.Service.StandingsOf) in the
// registry's terms.
type standings struct{ rep *reputation.Service }

func (s standings) Standings(ctx context.Context, ids []string) (map[string]registry.Standing, error) {
	st, err := s.rep.StandingsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]registry.Standing, len(st))
	for id, v := range st {
		out[id] = registry.Standing{Score: v.Score, Tier: v.Tier}
	}
	return out, nil
}

func (s standings) ValidTier(ctx context.Context, name string) (bool, error) {
	return s.rep.ValidTier(ctx, name)
}
