package portal

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/teg"
)

// Economy is what the staking, reputation, dispute, governance, federation and admin pages run
// on. Each field may be nil where this process does not run that service (a registry of split
// mode has no ledger in process): the page then says so and shows the CLI command instead.
type Economy struct {
	// Tokens is the ledger's service (staking, disputes, governance, mint, parameters).
	Tokens *teg.Service
	// Registry is the registry's own subject. Once the policy has said that the signed-in
	// developer owns an agent (agent.read), the portal reads that agent's staking and disputes
	// as the registry, as the registry reads an owned agent's balance.
	Registry   policy.Subject
	Reputation *reputation.Service
	Auditor    *auditor.Service
	Federation *federation.Service
	// PeerHealth is what live queries saw of a peer (by trust domain); nil: not known.
	PeerHealth func(trustDomain string) federation.Health
	// Authz decides what has no service of its own (reading the decision log).
	Authz policy.Decider
	// DecisionLog is the policy decision log's file ("" or "-": not kept in a file).
	DecisionLog string
}

var (
	errNoLedger = apperr.New(apperr.Unavailable, "LEDGER_NOT_IN_PROCESS",
		"this page needs the token ledger, which does not run in this registry's process; use the sovereign CLI against the TEG")
	errNoService = apperr.New(apperr.Unavailable, "SERVICE_NOT_IN_PROCESS", "this service does not run in this registry's process")
)

// econ is the economy the portal runs on (never nil).
func (p *portal) econ() *Economy {
	if p.cfg.Economy == nil {
		return &Economy{}
	}
	return p.cfg.Economy
}

// routesEconomy adds the staking, reputation, dispute, governance and federation pages.
func (p *portal) routesEconomy(mux *http.ServeMux) {
	mux.HandleFunc("GET /portal/staking", p.user(p.stakingPage))
	mux.HandleFunc("POST /portal/staking", p.user(p.stakingAct))
	mux.HandleFunc("GET /portal/reputation", p.user(p.reputationPage))
	mux.HandleFunc("GET /portal/disputes", p.user(p.disputesPage))
	mux.HandleFunc("POST /portal/disputes", p.user(p.fileDispute))
	mux.HandleFunc("GET /portal/disputes/{id}", p.user(p.disputePage))
	mux.HandleFunc("POST /portal/disputes/{id}/vote", p.user(p.disputeVote))
	mux.HandleFunc("GET /portal/governance", p.user(p.governancePage))
	mux.HandleFunc("POST /portal/governance", p.user(p.propose))
	mux.HandleFunc("GET /portal/governance/{id}", p.user(p.proposalPage))
	mux.HandleFunc("POST /portal/governance/{id}/vote", p.user(p.vote))
	mux.HandleFunc("GET /portal/federation", p.user(p.peersPage))
	mux.HandleFunc("POST /portal/federation", p.user(p.proposePeer))
	mux.HandleFunc("POST /portal/federation/{id}", p.user(p.decidePeer))
}

// agentChoice is the caller's agents for a picker, and the one chosen.
type agentChoice struct {
	Agents   []registry.Agent
	Selected string
}

// myAgents lists the caller's registered agents (none where onboarding is elsewhere).
func (p *portal) myAgents(r *http.Request) ([]registry.Agent, error) {
	if p.cfg.Onboarding == nil {
		return nil, nil
	}
	return p.cfg.Onboarding.Agents(r.Context(), sessionOf(r).subject, "", 200)
}

// ownedAgent is agent id when the policy lets the caller read it (its developer, or an admin),
// else the refusal (another developer's agent reads as not found).
func (p *portal) ownedAgent(r *http.Request, id string) (*registry.Agent, error) {
	if id == "" {
		return nil, apperr.New(apperr.Invalid, "AGENT_REQUIRED", "choose one of your agents").With("field", "agent")
	}
	if p.cfg.Onboarding == nil {
		return nil, errNoOnboarding
	}
	a, err := p.cfg.Onboarding.Agent(r.Context(), sessionOf(r).subject, id)
	if apperr.KindOf(err) == apperr.Forbidden {
		return nil, registry.ErrAgentNotFound
	}
	if err != nil {
		return nil, withField(err, "agent")
	}
	return a, nil
}

// readerFor is the subject that reads an owned agent's ledger records: an admin as itself,
// anyone else through the registry (after ownedAgent).
func (p *portal) readerFor(r *http.Request) policy.Subject {
	s := sessionOf(r).subject
	if s.HasRole(policy.RoleAdmin) || p.econ().Registry.ID == "" {
		return s
	}
	return p.econ().Registry
}

// agentCommand is a page's answer to an action only the agent itself may take: the refusal
// and the command that takes it with the agent's own credential.
type agentCommand struct {
	Command string
	Why     string
}

// actAsAgent runs act as the signed-in developer and reports whether the handler may go on
// (act succeeded). Otherwise it has answered: an error is shown on page (through field, which
// names the form field it belongs to, when given); a refusal because the action is the agent's
// own (staking, disputes, governance take the agent's credential, not its developer's) renders
// page with status 403, the explanation and cmd, the CLI command to run instead, set in into.
func (p *portal) actAsAgent(w http.ResponseWriter, r *http.Request, page string, v *view, into *agentCommand,
	act func() error, cmd string, field func(error) error) bool {
	err := act()
	if err == nil {
		return true
	}
	if apperr.KindOf(err) == apperr.Forbidden || apperr.KindOf(err) == apperr.Unavailable && apperr.CodeOf(err) == "LEDGER_NOT_IN_PROCESS" {
		why := "The portal cannot do this for your agent"
		if ae, ok := apperr.As(err); ok && ae.Message != "" {
			why += " (the policy says: " + strings.TrimSuffix(ae.Message, ".") + ")"
		}
		*into = agentCommand{Command: cmd, Why: why + ". The ledger takes it only with the agent's own credential. " +
			"Run this command where the agent was registered (its key store is there):"}
		p.render(w, r, http.StatusForbidden, page, v)
		return false
	}
	if field != nil {
		err = field(err)
	}
	p.fail(w, r, page, v, err)
	return false
}

// command is a sovereign CLI command line: args, then each flag pair whose value is not empty,
// acting as agent against this registry.
func (p *portal) command(agent string, args []string, flags ...string) string {
	var b strings.Builder
	b.WriteString("sovereign")
	for _, a := range args {
		b.WriteString(" " + shellQuote(a))
	}
	for i := 0; i+1 < len(flags); i += 2 {
		if flags[i+1] != "" {
			b.WriteString(" --" + flags[i] + " " + shellQuote(flags[i+1]))
		}
	}
	if agent != "" {
		b.WriteString(" --as " + shellQuote(agent))
	}
	b.WriteString(" --registry " + shellQuote(p.cfg.PublicURL))
	return b.String()
}

// amountField parses a form's amount, an error naming field.
func amountField(v, field string) (avt.Amount, error) {
	a, err := avt.Parse(strings.TrimSpace(v))
	if err != nil {
		return avt.Amount{}, withField(err, field)
	}
	return a, nil
}

// stakingView is the staking page.
type stakingView struct {
	agentChoice
	Summary *teg.StakingSummary
	agentCommand
}

// stakeActions are the staking form's actions: the CLI subcommand each is.
var stakeActions = map[string]string{"stake": "deposit", "unstake": "withdraw", "delegate": "delegate", "undelegate": "undelegate"}

// loadStaking puts the staking page of agent (none: the caller's first) in v, and the status
// to answer (a failure's message is in v.Error).
func (p *portal) loadStaking(r *http.Request, v *view, agent string) (*stakingView, int) {
	d := &stakingView{}
	v.Title = "Staking"
	v.Data = d
	failed := func(err error) (*stakingView, int) {
		var status int
		status, v.Error, _ = describe(err)
		return d, status
	}
	var err error
	if d.Agents, err = p.myAgents(r); err != nil {
		return failed(err)
	}
	if agent == "" && len(d.Agents) > 0 {
		agent = d.Agents[0].ID
	}
	d.Selected = agent
	if agent == "" {
		return d, http.StatusOK
	}
	if p.econ().Tokens == nil {
		return failed(errNoLedger)
	}
	if _, err := p.ownedAgent(r, agent); err != nil {
		return failed(err)
	}
	sum, err := p.econ().Tokens.StakingOf(r.Context(), p.readerFor(r), teg.AccountID(agent))
	if err != nil {
		return failed(err)
	}
	d.Summary = &sum
	return d, http.StatusOK
}

func (p *portal) stakingPage(w http.ResponseWriter, r *http.Request, v *view) {
	_, status := p.loadStaking(r, v, r.URL.Query().Get("agent"))
	p.render(w, r, status, "staking.html", v)
}

// stakingAct stakes, unstakes, delegates or undelegates for one of the caller's agents, or says
// which command does it.
func (p *portal) stakingAct(w http.ResponseWriter, r *http.Request, v *view) {
	f := r.PostForm
	agent, action := f.Get("agent"), f.Get("action")
	d, status := p.loadStaking(r, v, agent)
	v.Form = map[string]string{"amount": f.Get("amount"), "validator": strings.TrimSpace(f.Get("validator")), "action": action}
	if v.Error != "" {
		p.render(w, r, status, "staking.html", v)
		return
	}
	sub, ok := stakeActions[action]
	if !ok {
		p.fail(w, r, "staking.html", v, apperr.New(apperr.Invalid, "INVALID_FIELD", "choose stake, unstake, delegate or undelegate").With("field", "action"))
		return
	}
	if (action == "delegate" || action == "undelegate") && v.Form["validator"] == "" {
		p.fail(w, r, "staking.html", v, apperr.New(apperr.Invalid, "VALIDATOR_REQUIRED", "name the validator (its agent id)").With("field", "validator"))
		return
	}
	amount, err := amountField(v.Form["amount"], "amount")
	if err != nil {
		p.fail(w, r, "staking.html", v, err)
		return
	}
	req := teg.StakeRequest{Agent: teg.AccountID(agent), Validator: teg.AccountID(v.Form["validator"]), Amount: amount}
	cmd := p.command(agent, []string{"stake", sub}, "amount", amount.String(), "validator", v.Form["validator"])
	if !p.actAsAgent(w, r, "staking.html", v, &d.agentCommand, func() error {
		var err error
		if action == "stake" || action == "delegate" {
			_, _, err = p.econ().Tokens.Stake(r.Context(), sessionOf(r).subject, req, f.Get("idem"))
		} else {
			_, _, err = p.econ().Tokens.Unstake(r.Context(), sessionOf(r).subject, req, f.Get("idem"))
		}
		return err
	}, cmd, func(err error) error { return withField(err, fieldOr(err, "amount")) }) {
		return
	}
	p.loadStaking(r, v, agent)
	v.Flash = "Done: " + action + " " + amount.String() + " AVT."
	v.Form = nil
	p.render(w, r, http.StatusOK, "staking.html", v)
}

// fieldOr is the form field err names, else def.
func fieldOr(err error, def string) string {
	if f := failField(err); f != "" {
		return f
	}
	return def
}

// reputationView is the reputation page.
type reputationView struct {
	agentChoice
	Score *reputation.StoredScore
	Chart *chart
	// Factors are the chart's figures as text (its text alternative).
	Factors []factorRow
}

// factorRow is one factor of a score as the table shows it.
type factorRow struct{ Name, Value, Weight, Points string }

// reputationPage shows an agent's score, tier and factors (public, as the API's): the caller's
// own agents to pick from, or any agent id.
func (p *portal) reputationPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Reputation"
	d := &reputationView{}
	v.Data = d
	var err error
	if d.Agents, err = p.myAgents(r); err != nil {
		_, v.Error, _ = describe(err)
	}
	agent := strings.TrimSpace(r.URL.Query().Get("agent"))
	if agent == "" && len(d.Agents) > 0 {
		agent = d.Agents[0].ID
	}
	d.Selected = agent
	v.Form = map[string]string{"agent": agent}
	status := http.StatusOK
	if agent != "" {
		if p.econ().Reputation == nil {
			_, v.Error, _ = describe(errNoLedger)
		} else if sc, _, err := p.econ().Reputation.Reputation(r.Context(), sessionOf(r).subject, agent); err != nil {
			status, v.Error, _ = describe(err)
		} else {
			d.Score = &sc
			var points []string
			d.Chart, points = factorChart(sc.Factors)
			for i, f := range sc.Factors {
				d.Factors = append(d.Factors, factorRow{Name: f.Name, Value: fmt.Sprintf("%.3g", f.Value), Weight: fmt.Sprintf("%.3g", f.Weight),
					Points: points[i]})
			}
		}
	}
	p.render(w, r, status, "reputation.html", v)
}
