package portal

import (
	"net/http"
	"slices"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/teg"
)

// disputesView is the disputes page: the disputes the caller's agents take part in (an admin:
// every dispute) and the filing form.
type disputesView struct {
	agentChoice
	Disputes   []teg.Dispute
	Categories []string
	agentCommand
}

func (p *portal) loadDisputes(r *http.Request, v *view) *disputesView {
	v.Title = "Disputes"
	d := &disputesView{Categories: teg.DisputeCategories}
	v.Data = d
	var err error
	if d.Agents, err = p.myAgents(r); err != nil {
		_, v.Error, _ = describe(err)
		return d
	}
	tokens := p.econ().Tokens
	if tokens == nil {
		_, v.Error, _ = describe(errNoLedger)
		return d
	}
	s := sessionOf(r).subject
	if s.HasRole(policy.RoleAdmin) {
		if d.Disputes, err = tokens.Disputes(r.Context(), s, "", ""); err != nil {
			_, v.Error, _ = describe(err)
		}
		return d
	}
	seen := map[string]bool{}
	for _, a := range d.Agents {
		list, err := tokens.Disputes(r.Context(), p.readerFor(r), teg.AccountID(a.ID), "")
		if err != nil {
			_, v.Error, _ = describe(err)
			return d
		}
		for _, x := range list {
			if !seen[x.ID] {
				seen[x.ID] = true
				d.Disputes = append(d.Disputes, x)
			}
		}
	}
	slices.SortStableFunc(d.Disputes, func(a, b teg.Dispute) int { return b.FiledAt.Compare(a.FiledAt) })
	return d
}

func (p *portal) disputesPage(w http.ResponseWriter, r *http.Request, v *view) {
	p.loadDisputes(r, v)
	p.render(w, r, http.StatusOK, "disputes.html", v)
}

// fileDispute files a dispute for one of the caller's agents, or says which command does it.
func (p *portal) fileDispute(w http.ResponseWriter, r *http.Request, v *view) {
	f := r.PostForm
	d := p.loadDisputes(r, v)
	v.Form = map[string]string{"agent": f.Get("agent"), "against": strings.TrimSpace(f.Get("against")), "transfer": strings.TrimSpace(f.Get("transfer")),
		"category": f.Get("category"), "claim": f.Get("claim")}
	d.Selected = v.Form["agent"]
	if v.Error != "" {
		p.render(w, r, http.StatusServiceUnavailable, "disputes.html", v)
		return
	}
	if _, err := p.ownedAgent(r, v.Form["agent"]); err != nil {
		p.fail(w, r, "disputes.html", v, withField(err, "agent"))
		return
	}
	if v.Form["against"] == "" && v.Form["transfer"] == "" {
		p.fail(w, r, "disputes.html", v, apperr.New(apperr.Invalid, "RESPONDENT_REQUIRED", "name the other agent, or the transfer the dispute is about").With("field", "against"))
		return
	}
	if !slices.Contains(teg.DisputeCategories, v.Form["category"]) {
		p.fail(w, r, "disputes.html", v, teg.ErrDisputeCategory.With("field", "category"))
		return
	}
	if strings.TrimSpace(v.Form["claim"]) == "" {
		p.fail(w, r, "disputes.html", v, apperr.New(apperr.Invalid, "CLAIM_REQUIRED", "say what you claim").With("field", "claim"))
		return
	}
	filing := teg.DisputeFiling{Agent: teg.AccountID(v.Form["agent"]), Respondent: teg.AccountID(v.Form["against"]), Transfer: v.Form["transfer"],
		Category: v.Form["category"], Claim: v.Form["claim"]}
	cmd := p.command(v.Form["agent"], []string{"dispute", "file"}, "against", v.Form["against"], "transfer", v.Form["transfer"],
		"category", v.Form["category"], "claim", v.Form["claim"])
	var filed *teg.DisputeView
	if !p.actAsAgent(w, r, "disputes.html", v, &d.agentCommand, func() error {
		var err error
		filed, _, err = p.econ().Tokens.FileDispute(r.Context(), sessionOf(r).subject, filing, f.Get("idem"))
		return err
	}, cmd, nil) {
		return
	}
	http.Redirect(w, r, "/portal/disputes/"+filed.ID, http.StatusSeeOther)
}

// disputeView is one dispute's page.
type disputeView struct {
	Dispute *teg.DisputeView
	// Panelists are the caller's agents on the current round's panel (they get the vote forms).
	Panelists []string
	Votes     []string
	agentCommand
}

// loadDispute reads dispute id for the caller: an admin reads any; a developer one that an
// agent of theirs takes part in (anyone else is told it does not exist, as the API tells them).
func (p *portal) loadDispute(r *http.Request, v *view, id string) (*disputeView, error) {
	v.Title = "Dispute"
	d := &disputeView{Votes: []string{teg.SideFiler, teg.SideRespondent}}
	v.Data = d
	tokens := p.econ().Tokens
	if tokens == nil {
		return d, errNoLedger
	}
	s := sessionOf(r).subject
	if s.HasRole(policy.RoleAdmin) {
		dv, err := tokens.DisputeOf(r.Context(), s, id)
		d.Dispute = dv
		return d, err
	}
	agents, err := p.myAgents(r)
	if err != nil {
		return d, err
	}
	dv, err := tokens.DisputeOf(r.Context(), p.readerFor(r), id)
	if err != nil {
		return d, err
	}
	mine := false
	for _, a := range agents {
		id := teg.AccountID(a.ID)
		if dv.Party(id) {
			mine = true
		}
		if rd := dv.Round(); rd != nil && slices.Contains(rd.Panel, id) {
			mine = true
			d.Panelists = append(d.Panelists, a.ID)
		}
	}
	if !mine {
		return d, teg.ErrDisputeNotFound.With("dispute", id)
	}
	d.Dispute = dv
	v.Title = "Dispute " + dv.ID
	return d, nil
}

func (p *portal) disputePage(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadDispute(r, v, r.PathValue("id")); err != nil {
		p.fail(w, r, "message.html", v, err)
		return
	}
	p.render(w, r, http.StatusOK, "dispute.html", v)
}

// disputeVote commits or reveals a panelist's vote, or says which command does it.
func (p *portal) disputeVote(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	d, err := p.loadDispute(r, v, id)
	if err != nil {
		p.fail(w, r, "message.html", v, err)
		return
	}
	f := r.PostForm
	v.Form = map[string]string{"agent": f.Get("agent"), "vote": f.Get("vote"), "step": f.Get("step")}
	if len(d.Panelists) == 0 {
		p.fail(w, r, "dispute.html", v, apperr.New(apperr.Forbidden, "NOT_A_PANELIST", "none of your agents sits on this dispute's panel: only panelists vote"))
		return
	}
	if !slices.Contains(d.Panelists, v.Form["agent"]) {
		p.fail(w, r, "dispute.html", v, apperr.New(apperr.Invalid, "NOT_A_PANELIST", "choose one of your agents on this dispute's panel").With("field", "agent"))
		return
	}
	vote := v.Form["vote"]
	if vote != teg.SideFiler && vote != teg.SideRespondent {
		p.fail(w, r, "dispute.html", v, apperr.New(apperr.Invalid, "INVALID_VOTE", "vote filer or respondent").With("field", "vote"))
		return
	}
	salt := strings.TrimSpace(f.Get("salt"))
	var cmd string
	var act func() error
	agent := teg.AccountID(v.Form["agent"])
	switch v.Form["step"] {
	case "commit":
		cmd = p.command(string(agent), []string{"dispute", "commit", id}, "vote", vote, "salt", salt)
		act = func() error {
			if salt == "" {
				return apperr.New(apperr.Forbidden, "AGENT_CREDENTIAL_REQUIRED", "a vote is committed with the agent's own credential")
			}
			_, _, err := p.econ().Tokens.CommitVote(r.Context(), sessionOf(r).subject, agent, id, teg.CommitmentOf(id, agent, vote, salt), f.Get("idem"))
			return err
		}
	case "reveal":
		if salt == "" {
			p.fail(w, r, "dispute.html", v, apperr.New(apperr.Invalid, "SALT_REQUIRED", "give the salt you committed with").With("field", "salt"))
			return
		}
		cmd = p.command(string(agent), []string{"dispute", "reveal", id}, "vote", vote, "salt", salt)
		act = func() error {
			_, _, err := p.econ().Tokens.RevealVote(r.Context(), sessionOf(r).subject, agent, id, vote, salt, f.Get("idem"))
			return err
		}
	default:
		p.fail(w, r, "dispute.html", v, apperr.New(apperr.Invalid, "INVALID_FIELD", "commit or reveal").With("field", "step"))
		return
	}
	if !p.actAsAgent(w, r, "dispute.html", v, &d.agentCommand, act, cmd, nil) {
		return
	}
	p.loadDispute(r, v, id)
	v.Flash = map[string]string{"commit": "Your vote is committed: keep the salt to reveal it.", "reveal": "Your vote is revealed."}[v.Form["step"]]
	p.render(w, r, http.StatusOK, "dispute.html", v)
}
