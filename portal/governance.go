package portal

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/teg"
)

// governanceView is the proposals page.
type governanceView struct {
	agentChoice
	Proposals []teg.Proposal
	Kinds     []teg.ProposalKind
	agentCommand
}

// portalProposalKinds are the kinds of proposal the portal's form makes (a policy module, a
// file of Rego with its tests, is proposed with the CLI).
var portalProposalKinds = []teg.ProposalKind{teg.ProposalParams, teg.ProposalSpend, teg.ProposalMint}

func (p *portal) loadGovernance(r *http.Request, v *view) *governanceView {
	v.Title = "Governance"
	d := &governanceView{Kinds: portalProposalKinds}
	v.Data = d
	var err error
	if d.Agents, err = p.myAgents(r); err != nil {
		_, v.Error, _ = describe(err)
	}
	if p.econ().Tokens == nil {
		_, v.Error, _ = describe(errNoLedger)
		return d
	}
	status := teg.ProposalStatus(r.URL.Query().Get("status"))
	if d.Proposals, err = p.econ().Tokens.Proposals(r.Context(), sessionOf(r).subject, status, 0, 100); err != nil {
		_, v.Error, _ = describe(err)
	}
	return d
}

func (p *portal) governancePage(w http.ResponseWriter, r *http.Request, v *view) {
	p.loadGovernance(r, v)
	p.render(w, r, http.StatusOK, "governance.html", v)
}

// parseChanges reads a parameter change's lines "key = JSON value" (a bare word is a string).
func parseChanges(text string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		if !ok || k == "" || val == "" {
			return nil, apperr.New(apperr.Invalid, "INVALID_CHANGE", "write one change a line, as key = value (e.g. fee.rate_bps = 5): “"+line+"”").With("field", "changes")
		}
		if !json.Valid([]byte(val)) {
			b, _ := json.Marshal(val)
			val = string(b)
		}
		out[k] = json.RawMessage(val)
	}
	if len(out) == 0 {
		return nil, apperr.New(apperr.Invalid, "INVALID_CHANGE", "write at least one change, as key = value").With("field", "changes")
	}
	return out, nil
}

// propose makes a proposal for one of the caller's agents, or says which command does it.
func (p *portal) propose(w http.ResponseWriter, r *http.Request, v *view) {
	f := r.PostForm
	d := p.loadGovernance(r, v)
	keys := []string{"agent", "kind", "title", "description", "changes", "to", "amount", "reason", "deposit"}
	v.Form = map[string]string{}
	for _, k := range keys {
		v.Form[k] = strings.TrimSpace(f.Get(k))
	}
	d.Selected = v.Form["agent"]
	if p.econ().Tokens == nil {
		p.fail(w, r, "governance.html", v, errNoLedger)
		return
	}
	if _, err := p.ownedAgent(r, v.Form["agent"]); err != nil {
		p.fail(w, r, "governance.html", v, withField(err, "agent"))
		return
	}
	c := teg.ProposalContent{Kind: teg.ProposalKind(v.Form["kind"]), Title: v.Form["title"], Description: v.Form["description"],
		To: teg.AccountID(v.Form["to"]), Reason: v.Form["reason"]}
	args := []string{"govern", "create-proposal"}
	flags := []string{"kind", v.Form["kind"], "title", v.Form["title"], "description", v.Form["description"]}
	var err error
	switch c.Kind {
	case teg.ProposalParams:
		if c.Changes, err = parseChanges(v.Form["changes"]); err == nil {
			for k, val := range c.Changes {
				flags = append(flags, "change", k+"="+string(val))
			}
		}
	case teg.ProposalSpend, teg.ProposalMint:
		if c.Amount, err = amountField(v.Form["amount"], "amount"); err == nil {
			flags = append(flags, "to", v.Form["to"], "amount", c.Amount.String(), "reason", v.Form["reason"])
		}
	default:
		err = apperr.New(apperr.Invalid, "INVALID_FIELD", "choose a parameter change, a treasury spend or a mint (a policy module is proposed with the CLI)").With("field", "kind")
	}
	var deposit avt.Amount
	if err == nil && v.Form["deposit"] != "" {
		deposit, err = amountField(v.Form["deposit"], "deposit")
		flags = append(flags, "deposit", v.Form["deposit"])
	}
	if err != nil {
		p.fail(w, r, "governance.html", v, err)
		return
	}
	var made teg.Proposal
	if !p.actAsAgent(w, r, "governance.html", v, &d.agentCommand, func() error {
		var err error
		made, _, err = p.econ().Tokens.Propose(r.Context(), sessionOf(r).subject, teg.ProposeRequest{Content: c, Deposit: deposit}, f.Get("idem"))
		return err
	}, p.command(v.Form["agent"], args, flags...), nil) {
		return
	}
	http.Redirect(w, r, "/portal/governance/"+strconv.FormatUint(made.ID, 10), http.StatusSeeOther)
}

// proposalView is one proposal's page.
type proposalView struct {
	agentChoice
	Proposal teg.Proposal
	Tally    teg.Tally
	Changes  map[string]string
	Options  []teg.VoteOption
	agentCommand
}

func (p *portal) loadProposal(r *http.Request, v *view) (*proposalView, error) {
	v.Title = "Proposal"
	d := &proposalView{Options: []teg.VoteOption{teg.VoteYes, teg.VoteNo, teg.VoteAbstain, teg.VoteVeto}}
	v.Data = d
	if p.econ().Tokens == nil {
		return d, errNoLedger
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return d, apperr.New(apperr.NotFound, "PROPOSAL_NOT_FOUND", "no proposal with this number")
	}
	if d.Tally, d.Proposal, err = p.econ().Tokens.Tally(r.Context(), sessionOf(r).subject, id); err != nil {
		return d, err
	}
	d.Changes = map[string]string{}
	for k, val := range d.Proposal.Content.Changes {
		d.Changes[k] = string(val)
	}
	d.Agents, _ = p.myAgents(r)
	v.Title = "Proposal #" + r.PathValue("id") + ": " + d.Proposal.Content.Title
	return d, nil
}

func (p *portal) proposalPage(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadProposal(r, v); err != nil {
		p.fail(w, r, "message.html", v, err)
		return
	}
	p.render(w, r, http.StatusOK, "proposal.html", v)
}

// vote votes on a proposal for one of the caller's agents, or says which command does it.
func (p *portal) vote(w http.ResponseWriter, r *http.Request, v *view) {
	d, err := p.loadProposal(r, v)
	if err != nil {
		p.fail(w, r, "message.html", v, err)
		return
	}
	f := r.PostForm
	v.Form = map[string]string{"agent": f.Get("agent"), "option": f.Get("option")}
	d.Selected = v.Form["agent"]
	if _, err := p.ownedAgent(r, v.Form["agent"]); err != nil {
		p.fail(w, r, "proposal.html", v, withField(err, "agent"))
		return
	}
	opt := teg.VoteOption(v.Form["option"])
	if !opt.Valid() {
		p.fail(w, r, "proposal.html", v, teg.ErrInvalidVote.With("field", "option"))
		return
	}
	id := d.Proposal.ID
	if !p.actAsAgent(w, r, "proposal.html", v, &d.agentCommand, func() error {
		_, _, err := p.econ().Tokens.Vote(r.Context(), sessionOf(r).subject, id, opt, f.Get("idem"))
		return err
	}, p.command(v.Form["agent"], []string{"govern", "vote", strconv.FormatUint(id, 10), string(opt)}), nil) {
		return
	}
	p.loadProposal(r, v)
	v.Flash = "Your vote is counted."
	p.render(w, r, http.StatusOK, "proposal.html", v)
}

// peerRow is a peer with what live queries saw of it.
type peerRow struct {
	Peer   federation.Peer
	Health *federation.Health
}

// peersView is the federation page.
type peersView struct {
	Peers   []peerRow
	IsAdmin bool
}

func (p *portal) loadPeers(r *http.Request, v *view) *peersView {
	v.Title = "Federation peers"
	d := &peersView{IsAdmin: sessionOf(r).dev.Role == "admin"}
	v.Data = d
	fed := p.econ().Federation
	if fed == nil {
		_, v.Error, _ = describe(errNoService)
		return d
	}
	peers, err := fed.List(r.Context(), sessionOf(r).subject)
	if err != nil {
		_, v.Error, _ = describe(err)
		return d
	}
	for _, pr := range peers {
		row := peerRow{Peer: pr}
		if h := p.econ().PeerHealth; h != nil && pr.State == federation.StateActive {
			x := h(pr.TrustDomain)
			row.Health = &x
		}
		d.Peers = append(d.Peers, row)
	}
	return d
}

func (p *portal) peersPage(w http.ResponseWriter, r *http.Request, v *view) {
	p.loadPeers(r, v)
	status := http.StatusOK
	if v.Error != "" {
		status = http.StatusForbidden
	}
	p.render(w, r, status, "peers.html", v)
}

// proposePeer proposes a peer registry (a verified developer, as the policy says).
func (p *portal) proposePeer(w http.ResponseWriter, r *http.Request, v *view) {
	f := r.PostForm
	p.loadPeers(r, v)
	v.Form = map[string]string{}
	for _, k := range []string{"name", "base_url", "trust_domain", "bundle_endpoint"} {
		v.Form[k] = strings.TrimSpace(f.Get(k))
	}
	fed := p.econ().Federation
	if fed == nil {
		p.fail(w, r, "peers.html", v, errNoService)
		return
	}
	peer, err := fed.Propose(r.Context(), sessionOf(r).subject, federation.Proposal{Name: v.Form["name"], BaseURL: v.Form["base_url"],
		TrustDomain: v.Form["trust_domain"], BundleEndpoint: v.Form["bundle_endpoint"]})
	if err != nil {
		p.fail(w, r, "peers.html", v, err)
		return
	}
	v.Error = ""
	p.loadPeers(r, v)
	v.Form = nil
	v.Flash = "Peer “" + peer.Name + "” proposed: an admin approves it before it is queried."
	p.render(w, r, http.StatusCreated, "peers.html", v)
}

// decidePeer approves, rejects, deactivates or reactivates a peer (admins, as the policy says).
func (p *portal) decidePeer(w http.ResponseWriter, r *http.Request, v *view) {
	f := r.PostForm
	fed := p.econ().Federation
	if fed == nil {
		p.loadPeers(r, v)
		p.fail(w, r, "peers.html", v, errNoService)
		return
	}
	peer, err := fed.Decide(r.Context(), sessionOf(r).subject, r.PathValue("id"), federation.Action(f.Get("action")), strings.TrimSpace(f.Get("reason")))
	p.loadPeers(r, v)
	if err != nil {
		p.fail(w, r, "peers.html", v, err)
		return
	}
	v.Flash = "Peer “" + peer.Name + "” is now " + strings.ToLower(strings.ReplaceAll(string(peer.State), "_", " ")) + "."
	p.render(w, r, http.StatusOK, "peers.html", v)
}
