package server

import (
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/portal"
	"github.com/sovereign-stack/sovereign/teg"
)

// portalEconomy is what the portal's economy, federation and admin pages run on: the services of
// this process (the ledger's when it runs here), the policy engine and the decision log.
func (s *Server) portalEconomy(authz policy.Decider) *portal.Economy {
	e := &portal.Economy{Authz: authz, Reputation: s.reputation, Auditor: s.auditor, DecisionLog: s.cfg.DecisionLog}
	if w, ok := s.wallets.(*teg.ServiceWallets); ok {
		e.Tokens, e.Registry = w.Service, w.As
	}
	if s.fed != nil {
		e.Federation = s.fed.service
		if f := s.fed.fanout; f != nil {
			e.PeerHealth = f.Health
		}
	}
	return e
}
