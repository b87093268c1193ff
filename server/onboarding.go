package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/identity/identityhttp"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registryhttp"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/teg"
)

// registerOnboarding adds the bootstrap protocol and the agents' own routes, and the sweeper
// that marks silent agents inactive.
func (s *Server) registerOnboarding(bgCtx context.Context, api huma.API, authz policy.Decider, limits *httpapi.RateLimits, now func() time.Time) error {
	grant, grantCap, err := onboardingGrant(s.cfg.Onboarding, s.role == RoleAll)
	if err != nil {
		return err
	}
	tegID, err := identity.TEGID(s.issuer.TrustDomain())
	if err != nil {
		return err
	}
	var issuer identity.Issuer = s.issuer
	if s.cfg.IdentityMode == config.IdentitySpire {
		issuer = spireOnboardingIssuer{s.issuer}
	}
	s.onboarding = registry.NewOnboarding(registry.OnboardingConfig{Store: registrysql.NewOnboarding(s.db), Cards: s.cards,
		Authz: authz, Issuer: issuer, Wallets: onboardingWallets{s.wallets}, StartingGrant: grant,
		GrantDailyCap: grantCap, Audience: []string{tegID.String()}, Now: now, Logger: s.log})
	(&registryhttp.Onboarding{Service: s.onboarding, Cards: &registryhttp.Cards{Service: s.cards, BaseURL: s.cfg.PublicURL}, Limits: limits,
		HeartbeatInterval: s.cfg.Onboarding.HeartbeatInterval}).Register(api)
	interval := s.cfg.Onboarding.HeartbeatInterval
	s.bg.Add(1)
	go s.every(bgCtx, interval, func(time.Time) {
		if n, err := s.onboarding.ReleaseStale(bgCtx, 2*time.Minute); err != nil && bgCtx.Err() == nil {
			s.log.Warn("release interrupted registrations", "err", err)
		} else if n > 0 {
			s.log.Info("interrupted registrations released", "count", n)
		}
		if n, err := s.onboarding.MarkStale(bgCtx, interval); err != nil && bgCtx.Err() == nil {
			s.log.Warn("mark stale agents", "err", err)
		} else if n > 0 {
			s.log.Info("agents marked inactive after missed heartbeats", "count", n)
		}
	})
	return nil
}

// spireOnboardingIssuer is the issuer onboarding mints with in spire mode. SPIRE takes an
// X.509-SVID's SPIFFE ID from the CSR's URI SAN, and a registering agent cannot name its ID
// (registration assigns it), so a registration CSR must name spiffe://TD/agent/<agent_id>
// of the registration's card — which only a CSR sent later can. A CSR without a URI SAN is
// therefore refused with a message saying what to do, before anything is registered.
type spireOnboardingIssuer struct{ identity.Issuer }

// MintX509SVID refuses a CSR without a URI SAN with INVALID_CSR and passes any other to SPIRE.
func (i spireOnboardingIssuer) MintX509SVID(ctx context.Context, csrDER []byte, id spiffeid.ID, ttl time.Duration) ([]*x509.Certificate, error) {
	if csr, err := x509.ParseCertificateRequest(csrDER); err == nil && len(csr.URIs) == 0 {
		return nil, apperr.New(apperr.BadRequest, identity.CodeInvalidCSR,
			"with SPIRE an X.509-SVID is minted only from a CSR naming the agent's SPIFFE ID, which registration assigns: "+
				"register without a csr, then send one naming spiffe_id to POST "+identityhttp.SVIDPath).With("field", "csr")
	}
	return i.Issuer.MintX509SVID(ctx, csrDER, id, ttl)
}

// onboardingGrant is the starting grant in effect (configured, or the mode's default: embedded
// or split) and the per-developer daily cap on grants (nil: none).
func onboardingGrant(c config.Onboarding, embedded bool) (avt.Amount, *avt.Amount, error) {
	g, _ := c.Amounts(embedded)
	grant, err := avt.Parse(g)
	if err != nil {
		return avt.Amount{}, nil, fmt.Errorf("server: onboarding.starting_grant %q: %w", g, err)
	}
	if c.GrantDailyCapPerDeveloper == config.GrantCapUnlimited {
		return grant, nil, nil
	}
	limit, err := avt.Parse(c.GrantDailyCapPerDeveloper)
	if err != nil {
		return avt.Amount{}, nil, fmt.Errorf("server: onboarding.grant_daily_cap_per_developer %q must be an AVT amount, 0 or %q: %w",
			c.GrantDailyCapPerDeveloper, config.GrantCapUnlimited, err)
	}
	return grant, &limit, nil
}

// genesis mints the genesis supply in effect (configured, or the mode's default: embedded or
// split) to the treasury the first time the ledger starts.
func genesis(ctx context.Context, tokens *teg.Service, supply string, log *slog.Logger) error {
	amount, err := avt.Parse(supply)
	if err != nil {
		return fmt.Errorf("server: onboarding.genesis_supply %q: %w", supply, err)
	}
	if amount.IsZero() {
		return nil
	}
	_, replayed, err := tokens.Genesis(ctx, amount)
	switch {
	case apperr.CodeOf(err) == "IDEMPOTENCY_KEY_REUSED":
		log.Warn("genesis supply already minted with another amount; the configured one is ignored", "configured", supply)
	case err != nil:
		return fmt.Errorf("server: genesis mint: %w", err)
	case !replayed:
		log.Info("genesis supply minted to the treasury", "avt", supply)
	}
	return nil
}

// onboardingWallets opens a new agent's wallet and grants it the starting AVT, and freezes and
// unfreezes it with the agent's status, through the registry's Wallets (in process or over
// mTLS); idempotency keys derived from the agent id (and the time of a status change) make a
// retry apply once.
type onboardingWallets struct{ w teg.Wallets }

func (o onboardingWallets) CreateWallet(ctx context.Context, agentID string, grant avt.Amount) error {
	if o.w == nil {
		return registry.ErrWalletUnavailable
	}
	if _, err := o.w.OpenWallet(ctx, teg.AccountID(agentID), "onboard-open:"+agentID); err != nil {
		return err
	}
	if grant.IsZero() {
		return nil
	}
	_, _, err := o.w.Grant(ctx, teg.AccountID(agentID), grant, "starting grant", "onboard-grant:"+agentID)
	return err
}

// WalletBalance reads the agent's wallet as the registry (the TEG's policy lets the registry
// service read balances).
func (o onboardingWallets) WalletBalance(ctx context.Context, agentID string) (registry.WalletBalance, error) {
	if o.w == nil {
		return registry.WalletBalance{}, registry.ErrWalletReadUnavailable
	}
	a, err := o.w.Balance(ctx, teg.AccountID(agentID))
	if err != nil {
		return registry.WalletBalance{}, err
	}
	return registry.WalletBalance{Liquid: a.Liquid, Locked: a.Locked, Staked: a.Staked, Unbonding: a.Unbonding, Total: a.Total()}, nil
}

// WalletHistory reads the agent's ledger events as the registry (the TEG's policy lets the
// registry service read them; the registry lets only the agent's developer or an admin ask).
func (o onboardingWallets) WalletHistory(ctx context.Context, agentID string, before uint64, limit int) ([]teg.Transfer, error) {
	if o.w == nil {
		return nil, registry.ErrWalletReadUnavailable
	}
	return o.w.History(ctx, teg.AccountID(agentID), before, limit)
}

// SetWalletStatus sets the wallet's status to the agent's: the registry's statuses and the
// ledger's have the same names (teg.AccountActive, AccountSuspended, AccountRevoked).
func (o onboardingWallets) SetWalletStatus(ctx context.Context, agentID, status string, at time.Time) error {
	if o.w == nil {
		return registry.ErrWalletStatusUnavailable
	}
	key := fmt.Sprintf("agent-status:%s:%s:%d", agentID, status, at.UnixNano())
	_, err := o.w.SetStatus(ctx, teg.AccountID(agentID), teg.AccountStatus(status), key)
	return err
}
