package server

import (
	"context"
	"time"

	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/teg"
)

// startGovernance loads the policy modules passed proposals put in force into the policy
// engine, then, once a second in the background, closes the proposals whose voting ended,
// executes the passed ones whose timelock ended, and loads the modules again when they changed.
// Every replica runs it: the ledger closes and executes each proposal once, and each replica
// reads the same modules from the ledger, so every replica's policy agrees within a second,
// without a restart.
//
// Modules that do not load (the store is unreachable, or they no longer compile with the policy
// source) are logged and leave the policy as it is.
func (s *Server) startGovernance(ctx context.Context, engine *policy.Engine, now func() time.Time) {
	sched := &teg.Scheduler{Store: s.ledger, Now: now}
	if err := s.syncPolicyModules(ctx, engine); err != nil {
		s.log.Warn("governance policy modules", "err", err)
	}
	failing := map[uint64]string{}
	s.bg.Add(1)
	go s.every(ctx, time.Second, func(time.Time) {
		closed, executed, failed, err := sched.RunGovernance(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("governance scheduler", "err", err)
		}
		if closed > 0 || executed > 0 {
			s.log.Info("governance scheduler", "proposals_closed", closed, "proposals_executed", executed)
		}
		for id, err := range failed {
			if msg := err.Error(); failing[id] != msg { // once per proposal and reason
				failing[id] = msg
				s.log.Warn("governance: a passed proposal cannot be executed yet; retrying", "proposal", id, "err", msg)
			}
		}
		if err := s.syncPolicyModules(ctx, engine); err != nil && ctx.Err() == nil {
			s.log.Warn("governance policy modules", "err", err)
		}
	})
}

// syncPolicyModules puts the policy modules the ledger holds in force in engine (a no-op when
// they did not change).
func (s *Server) syncPolicyModules(ctx context.Context, engine *policy.Engine) error {
	mods, err := teg.PolicyModulesOf(ctx, s.ledger)
	if err != nil {
		return err
	}
	return engine.SetModules(ctx, mods)
}
