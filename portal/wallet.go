package portal

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/teg"
)

// Payments is the ledger as the portal's transfer form needs it: the fee a transfer would pay
// under the parameters in force, and a transfer made as the sending agent (the ledger lets
// only an agent move its own AVT). *teg.Service is one, in the process that runs the ledger.
type Payments interface {
	QuoteFee(ctx context.Context, amount avt.Amount) (teg.FeeQuote, error)
	Transfer(ctx context.Context, caller policy.Subject, req teg.TransferRequest, idemKey string) (teg.Transfer, bool, error)
}

// AgentAuthenticator resolves an agent's access token (a JWT-SVID, as the token endpoint
// issues it) to the agent's subject, exactly as the API authenticates it.
type AgentAuthenticator func(ctx context.Context, token string) (policy.Subject, error)

// historyPage is how many ledger events a page of the wallet shows.
const historyPage = 20

// errNoPayments is the answer where this process does not run the ledger.
var errNoPayments = apperr.New(apperr.Unavailable, "PAYMENTS_UNAVAILABLE",
	"sending AVT from the portal needs the registry and the ledger in one process; use `sovereign token transfer` with the agent's credential")

// ledgerRow is one ledger event as an agent's owner reads it.
type ledgerRow struct {
	T         teg.Transfer
	Direction string // "in", "out" or "" (neither: the agent's own bookkeeping)
	Other     string // the counterparty
	Delta     string // the change to the agent's total, signed ("" when none)
}

// agentLedger is an agent's wallet as the portal shows it.
type agentLedger struct {
	Agent   *registry.Agent
	Balance registry.WalletBalance
	Rows    []ledgerRow
	// Next continues the history (the sequence to read before, 0: no more).
	Next         uint64
	BalanceChart *chart
	Graph        *graph
	// Err is why the ledger could not be read ("" when it was), Status the answer's status then.
	Err    string
	Status int
}

// loadLedger reads an agent's balance and a page of its history (before: 0 for the newest)
// for its owner; the failure, if any, is told in Err.
func (p *portal) loadLedger(r *http.Request, id string, before uint64, limit int) *agentLedger {
	l := &agentLedger{}
	if p.cfg.Onboarding == nil {
		l.Status, l.Err, _ = describe(errNoOnboarding)
		return l
	}
	s := sessionOf(r)
	a, b, err := p.cfg.Onboarding.AgentBalance(r.Context(), s.subject, id)
	if err != nil {
		l.Status, l.Err, _ = describe(notYours(err))
		return l
	}
	l.Agent, l.Balance = a, b
	h, err := p.cfg.Onboarding.AgentHistory(r.Context(), s.subject, id, before, limit+1)
	if err != nil {
		l.Status, l.Err, _ = describe(err)
		return l
	}
	if len(h) > limit {
		h = h[:limit]
		l.Next = h[len(h)-1].Seq
	}
	for _, t := range h {
		l.Rows = append(l.Rows, rowOf(teg.AccountID(a.ID), t))
	}
	l.BalanceChart = balanceChart(teg.AccountID(a.ID), b.Total, h)
	l.Graph = counterpartyGraph(a.ID, h)
	return l
}

// notYours reads a refusal to touch another developer's agent as "not found", as the card
// pages do: the portal does not tell which ids are someone else's.
func notYours(err error) error {
	if apperr.KindOf(err) == apperr.Forbidden {
		return registry.ErrAgentNotFound
	}
	return err
}

// delta is how t changed agent's total balance, and which way it went.
func delta(agent teg.AccountID, t teg.Transfer) (amount avt.Amount, in, out bool) {
	switch t.Kind {
	case teg.KindTransfer, teg.KindPost:
		if t.To == agent {
			return t.Amount, true, false
		}
		if t.From == agent {
			sum, _ := t.Amount.Add(t.Fee)
			return sum, false, true
		}
	case teg.KindGrant, teg.KindMint:
		if t.To == agent {
			return t.Amount, true, false
		}
	case teg.KindBurn:
		if t.From == agent {
			return t.Amount, false, true
		}
	}
	return avt.Amount{}, false, false
}

func rowOf(agent teg.AccountID, t teg.Transfer) ledgerRow {
	row := ledgerRow{T: t}
	amt, in, out := delta(agent, t)
	switch {
	case in:
		row.Direction, row.Other, row.Delta = "in", string(t.From), "+"+amt.String()
	case out:
		row.Direction, row.Other, row.Delta = "out", string(t.To), "−"+amt.String()
	default:
		if t.From == agent {
			row.Other = string(t.To)
		} else {
			row.Other = string(t.From)
		}
	}
	if row.Other == "" && t.Kind == teg.KindGrant {
		row.Other = "treasury"
	}
	return row
}

// walletView is the wallet page.
type walletView struct {
	Agents   []agentRow
	Selected string
	Ledger   *agentLedger
	Pending  []ledgerRow
	Quote    *feeQuote
	IdemKey  string
	CanSend  bool
	Total    string
}

// feeQuote is a fee preview with its picture.
type feeQuote struct {
	Q     teg.FeeQuote
	Chart *chart
}

// walletPage shows the developer's agents' balances, one agent's history (paged) and the
// transfer form.
func (p *portal) walletPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Wallet"
	d := p.loadWallet(r, r.URL.Query().Get("agent"), r.URL.Query().Get("before"))
	v.Data = d
	v.Form = map[string]string{"from": d.Selected}
	status := http.StatusOK
	if d.Ledger != nil && d.Ledger.Err != "" {
		v.Error, status = d.Ledger.Err, d.Ledger.Status
	}
	p.render(w, r, status, "wallet.html", v)
}

func (p *portal) loadWallet(r *http.Request, selected, before string) *walletView {
	d := &walletView{IdemKey: randomToken(), CanSend: p.cfg.Payments != nil && p.cfg.AuthenticateAgent != nil}
	d.Agents, d.Total, _ = p.ownAgents(r)
	if selected == "" && len(d.Agents) > 0 {
		selected = d.Agents[0].Agent.ID
	}
	d.Selected = selected
	if selected != "" {
		b, _ := strconv.ParseUint(before, 10, 64)
		d.Ledger = p.loadLedger(r, selected, b, historyPage)
		settled := map[string]bool{}
		for _, row := range d.Ledger.Rows {
			if row.T.PendingID != "" {
				settled[row.T.PendingID] = true
			}
		}
		now := time.Now()
		for _, row := range d.Ledger.Rows {
			if row.T.Kind == teg.KindPending && !settled[row.T.ID] && row.T.State == teg.PendingActive &&
				(row.T.ExpiresAt == nil || row.T.ExpiresAt.After(now)) {
				d.Pending = append(d.Pending, row)
			}
		}
	}
	return d
}

// transfer previews the fee of a transfer (action=preview) or sends it as the agent, with the
// agent's client secret that its owner pastes (used for this request only, never kept).
func (p *portal) transfer(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Wallet"
	f := r.PostForm
	v.Form = map[string]string{"from": f.Get("from"), "to": strings.TrimSpace(f.Get("to")), "amount": strings.TrimSpace(f.Get("amount")),
		"message": f.Get("message"), "client_id": strings.TrimSpace(f.Get("client_id"))}
	d := p.loadWallet(r, v.Form["from"], "")
	v.Data = d
	if k := f.Get("idem"); k != "" && len(k) <= 64 {
		d.IdemKey = k
	}
	if !d.CanSend {
		p.fail(w, r, "wallet.html", v, errNoPayments)
		return
	}
	if !slices.ContainsFunc(d.Agents, func(a agentRow) bool { return a.Agent.ID == v.Form["from"] }) {
		p.fail(w, r, "wallet.html", v, registry.ErrAgentNotFound) // not one of the caller's agents
		return
	}
	amount, err := avt.Parse(v.Form["amount"])
	if err != nil {
		p.fail(w, r, "wallet.html", v, withField(err, "amount"))
		return
	}
	q, err := p.cfg.Payments.QuoteFee(r.Context(), amount)
	if err != nil {
		p.fail(w, r, "wallet.html", v, withField(err, "amount"))
		return
	}
	d.Quote = &feeQuote{Q: q, Chart: feeChart(q)}
	if f.Get("action") == "preview" {
		p.render(w, r, http.StatusOK, "wallet.html", v)
		return
	}
	agent, err := p.cfg.Onboarding.Agent(r.Context(), sessionOf(r).subject, v.Form["from"])
	if err != nil {
		p.fail(w, r, "wallet.html", v, withField(notYours(err), "from"))
		return
	}
	caller, err := p.agentCaller(r.Context(), agent, strings.TrimSpace(f.Get("client_secret")))
	if err != nil {
		p.fail(w, r, "wallet.html", v, err)
		return
	}
	t, _, err := p.cfg.Payments.Transfer(r.Context(), caller, teg.TransferRequest{To: teg.AccountID(v.Form["to"]), Amount: amount, Message: v.Form["message"]}, "portal:"+d.IdemKey)
	if err != nil {
		p.fail(w, r, "wallet.html", v, err)
		return
	}
	d = p.loadWallet(r, agent.ID, "")
	d.Quote = &feeQuote{Q: q, Chart: feeChart(q)}
	v.Data = d
	v.Form = map[string]string{"from": agent.ID}
	v.Flash = "Sent " + t.Amount.String() + " AVT to " + string(t.To) + " (fee " + t.Fee.String() + " AVT). Transfer " + t.ID + "."
	p.render(w, r, http.StatusCreated, "wallet.html", v)
}

// errAgentSecret is a client secret that does not belong to the sending agent.
var errAgentSecret = apperr.New(apperr.Unauthenticated, "INVALID_AGENT_SECRET",
	"this is not the client secret of the sending agent (it is in the credentials file `sovereign agent register` wrote)").With("field", "client_secret")

// agentCaller signs in as agent with its client secret: the token endpoint's grant, then the
// API's own authentication of the token, so the ledger decides as it does for the agent.
func (p *portal) agentCaller(ctx context.Context, agent *registry.Agent, secret string) (policy.Subject, error) {
	if secret == "" {
		return policy.Subject{}, apperr.New(apperr.Invalid, "MISSING_FIELD", "paste the agent's client secret").With("field", "client_secret")
	}
	tok, _, err := p.cfg.Onboarding.AgentToken(ctx, agent.ClientID, secret)
	if apperr.CodeOf(err) == apperr.CodeOf(registry.ErrInvalidClient) {
		return policy.Subject{}, errAgentSecret
	}
	if err != nil {
		return policy.Subject{}, err
	}
	sub, err := p.cfg.AuthenticateAgent(ctx, tok)
	if err != nil {
		return policy.Subject{}, err
	}
	if sub.Kind != policy.KindAgent || sub.ID != agent.ID {
		return policy.Subject{}, errAgentSecret
	}
	return sub, nil
}

// fmtTime formats a time for the pages.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// activityRow is one ledger event of one of the developer's agents.
type activityRow struct {
	Agent string
	ledgerRow
}

// maxActivity is how many events the dashboard's recent activity shows, from the ledgers of
// at most maxActivityAgents agents (the first in id order).
const (
	maxActivity       = 10
	maxActivityAgents = 20
)

// recentActivity is the latest ledger events of the developer's agents, newest first (agents
// whose ledger cannot be read are left out).
func (p *portal) recentActivity(r *http.Request, agents []agentRow) []activityRow {
	if p.cfg.Onboarding == nil {
		return nil
	}
	var out []activityRow
	for _, a := range agents[:min(len(agents), maxActivityAgents)] {
		h, err := p.cfg.Onboarding.AgentHistory(r.Context(), sessionOf(r).subject, a.Agent.ID, 0, maxActivity)
		if err != nil {
			continue
		}
		for _, t := range h {
			out = append(out, activityRow{Agent: a.Agent.ID, ledgerRow: rowOf(teg.AccountID(a.Agent.ID), t)})
		}
	}
	slices.SortFunc(out, func(a, b activityRow) int { return b.T.CreatedAt.Compare(a.T.CreatedAt) })
	if len(out) > maxActivity {
		out = out[:maxActivity]
	}
	return out
}
