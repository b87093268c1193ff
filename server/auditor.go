package server

import (
	"context"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/auditor/auditorhttp"
	"github.com/sovereign-stack/sovereign/auditor/auditorsql"
	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/reputation/repsql"
	"github.com/sovereign-stack/sovereign/teg"
)

// AuditorInterval is how often the auditor's consumer looks for new ledger events.
const AuditorInterval = 250 * time.Millisecond

// registerAuditor builds the auditor over the ledger, the registry and reputation, adds its
// routes, feeds its confirmed flags to the reputation pass, and runs its consumer in the
// background (on one replica at a time: the lease in the store).
func (s *Server) registerAuditor(bgCtx context.Context, api huma.API, tokens *teg.Service, authz policy.Decider, now func() time.Time, reg prometheus.Registerer) {
	svc := &auditor.Service{Store: auditorsql.New(s.db), Authz: authz, Now: now, Log: s.log, Suspender: suspender{s: s, tokens: tokens},
		Disputes: auditor.LedgerDisputes{Tokens: tokens}}
	s.auditor = svc
	s.reputation.Flags = svc
	svc.Confirmed = func(ctx context.Context, f auditor.Flag) {
		for _, a := range f.Agents {
			if _, err := s.reputation.Update(ctx, a, func(in *reputation.Inputs) { in.Flags = append(in.Flags, f.UpdatedAt) }); err != nil {
				s.log.Warn("count a confirmed flag in the score (the next full pass will)", "agent", a, "flag_id", f.ID, "err", err)
			}
		}
	}
	(&auditorhttp.Auditor{Service: svc}).Register(api)
	s.auditorConsumer = &auditor.Consumer{
		Service: svc, Log: s.ledger, Directory: agentDirectory{s: s}, Limits: auditor.ReputationLimits{Ledger: s.ledger, Reputation: s.reputation},
		Ratings: repsql.New(s.db), Transfers: s.ledger, Holder: ids.New("aud"),
	}
	raised := prometheus.NewCounter(prometheus.CounterOpts{Name: "sovereign_auditor_flags_raised_total",
		Help: "Flags the auditor's consumer stored in this process (new patterns only)."})
	reg.MustRegister(raised, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_auditor_events_behind",
		Help: "Ledger events after the auditor's durable cursor (read when scraped)."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, _, err := s.auditorConsumer.Lag(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}), prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_auditor_lag_seconds",
		Help: "Age of the oldest ledger event after the auditor's durable cursor: 0 when caught up (read when scraped)."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		_, behind, err := s.auditorConsumer.Lag(ctx)
		if err != nil {
			return -1
		}
		return behind.Seconds()
	}))
	s.bg.Add(1)
	go s.every(bgCtx, AuditorInterval, func(time.Time) {
		res, err := s.auditorConsumer.Step(bgCtx)
		if err != nil && bgCtx.Err() == nil {
			s.log.Warn("auditor", "err", err)
		}
		if res.Flags > 0 {
			raised.Add(float64(res.Flags))
			s.log.Info("auditor flags raised", "count", res.Flags, "cursor", res.Cursor)
		}
	})
}

// Auditor is the auditor's review service (nil when this server does not run the ledger).
func (s *Server) Auditor() *auditor.Service { return s.auditor }

// AuditorConsumer is the auditor's consumer of the ledger's log (nil when this server does not
// run the ledger).
func (s *Server) AuditorConsumer() *auditor.Consumer { return s.auditorConsumer }

// suspender is escalation to suspension: the registry's suspension of the agent (its requests
// and its wallet stop), or for a wallet the registry does not know (or a TEG alone) the
// ledger's freeze of the wallet.
type suspender struct {
	s      *Server
	tokens *teg.Service
}

func (u suspender) Suspend(ctx context.Context, caller policy.Subject, agent string) error {
	if u.s.onboarding != nil {
		_, err := u.s.onboarding.SetAgentStatus(ctx, caller, agent, registry.AgentSuspended)
		if apperr.KindOf(err) != apperr.NotFound {
			return err
		}
	}
	_, err := u.tokens.SetAccountStatus(ctx, caller, teg.AccountID(agent), teg.AccountSuspended, "")
	return err
}

// agentDirectory answers the auditor's look-ups of agents' developers from the registry's
// tables (none when this process runs the TEG alone: the registry's database is elsewhere).
type agentDirectory struct{ s *Server }

func (d agentDirectory) Agents(ctx context.Context, agents []string) (map[string]auditor.AgentInfo, error) {
	if !d.s.role.runsRegistry() {
		return nil, nil
	}
	o, err := registrysql.AgentOrigins(ctx, d.s.db, agents)
	if err != nil {
		return nil, err
	}
	out := make(map[string]auditor.AgentInfo, len(o))
	for id, a := range o {
		out[id] = auditor.AgentInfo{Developer: a.DeveloperID, CreatedAt: a.CreatedAt}
	}
	return out, nil
}
