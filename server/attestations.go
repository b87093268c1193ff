package server

import (
	"context"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/attestation"
	"github.com/sovereign-stack/sovereign/attestation/attesthttp"
	"github.com/sovereign-stack/sovereign/attestation/attestsql"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/teg"
)

// AttestationRetryInterval is how often the background loop pays the rewards of attestations
// stored but not yet paid (a crash between storing and paying, the treasury short of funds).
const AttestationRetryInterval = 30 * time.Second

// registerAttestations builds the attestation service over the ledger (transfers, rewards
// granted from the treasury as the registry), the registry's agents (keys, developers,
// heartbeats) and its store, adds its routes, makes the reputation score count attestations,
// and retries unpaid rewards in the background. It needs the ledger and the registry in one
// process (`sovereign up`).
func (s *Server) registerAttestations(bgCtx context.Context, api huma.API, authz policy.Decider, now func() time.Time, registryID spiffeid.ID) {
	st := attestsql.New(s.db)
	s.attestations = &attestation.Service{Store: st, Ledger: s.ledger, Treasury: s.wallets, Directory: registryAgents{registrysql.NewOnboarding(s.db)},
		Issuer: s.issuer, RegistryID: registryID, Authz: authz, Now: now, Log: s.log,
		Params: attestation.Params{UptimeFreshness: registry.StaleIntervals * s.cfg.Onboarding.HeartbeatInterval, EvidenceBase: s.cfg.PublicURL}}
	s.reputation.Attestations = st
	s.attestations.Rules = func(ctx context.Context) (teg.AttestationParams, error) {
		p, err := s.ledger.Params(ctx)
		return p.EffectiveAttestations(), err
	}
	s.attestations.Counted = func(ctx context.Context, subject string) {
		s.ops.attestations.Inc()
		n, err := st.AttestationCount(ctx, subject)
		if err == nil {
			_, err = s.reputation.Update(ctx, subject, func(in *reputation.Inputs) { in.Attestations = n })
		}
		if err != nil { // the next full pass counts it
			s.log.Warn("count an attestation in the score", "agent", subject, "err", err)
		}
	}
	(&attesthttp.Attestations{Service: s.attestations}).Register(api)
	s.bg.Add(1)
	go s.every(bgCtx, AttestationRetryInterval, func(time.Time) {
		if n, err := s.attestations.PayPending(bgCtx, 100); err != nil && bgCtx.Err() == nil {
			s.log.Warn("pay pending attestation rewards", "err", err)
		} else if n > 0 {
			s.log.Info("pending attestation rewards paid", "count", n)
		}
	})
}

// Attestations is the attestation service (nil unless this process runs the ledger and the
// registry).
func (s *Server) Attestations() *attestation.Service { return s.attestations }

// registryAgents is the registry's agent records as attestations read them.
type registryAgents struct{ store *registrysql.Onboarding }

func (r registryAgents) Agent(ctx context.Context, id string) (attestation.Agent, bool, error) {
	a, err := r.store.Agent(ctx, id)
	if apperr.KindOf(err) == apperr.NotFound {
		return attestation.Agent{}, false, nil
	}
	if err != nil {
		return attestation.Agent{}, false, err
	}
	return attestation.Agent{ID: a.ID, DeveloperID: a.DeveloperID, PublicKey: a.PublicKey, Status: a.Status, LastHeartbeatAt: a.LastHeartbeatAt}, true, nil
}
