package server

import (
	"context"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/teghttp"
)

// registerDisputes adds the dispute routes, tells the token service who developed which agent
// (so a party's developer's other agents are left out of its panels), feeds the disputes lost to
// reputation, and runs the dispute deadlines once a second.
func (s *Server) registerDisputes(bgCtx context.Context, api huma.API, tokens *teg.Service, now func() time.Time) {
	tokens.DeveloperOf = func(ctx context.Context, agent string) (string, error) {
		return registrysql.DeveloperOfAgent(ctx, s.db, agent)
	}
	(&teghttp.Token{Service: tokens}).RegisterDisputes(api)
	if s.reputation != nil {
		s.reputation.DisputesLost = tokens.DisputesLost
	}
	sched := &teg.DisputeScheduler{Store: s.ledger, Now: now, Candidates: tokens.ArbitratorCandidates}
	s.bg.Add(1)
	go s.every(bgCtx, time.Second, func(time.Time) {
		n, err := sched.RunDue(bgCtx)
		if err != nil && bgCtx.Err() == nil {
			s.log.Warn("dispute scheduler", "err", err)
		}
		if n > 0 {
			s.log.Info("dispute scheduler", "steps", n)
		}
	})
}
