package portal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/teg"
)

// routesAdmin adds the admin pages. Each reads or acts through the service the API uses, whose
// policy decides: a developer without the admin role gets a page saying the policy refused.
func (p *portal) routesAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /portal/admin", p.user(p.adminPage))
	mux.HandleFunc("POST /portal/admin/agents", p.user(p.adminAgentStatus))
	mux.HandleFunc("POST /portal/admin/developers/{id}", p.user(p.adminDeveloperStatus))
	mux.HandleFunc("GET /portal/admin/treasury", p.user(p.treasuryPage))
	mux.HandleFunc("POST /portal/admin/treasury", p.user(p.treasuryAct))
	mux.HandleFunc("GET /portal/admin/params", p.user(p.paramsPage))
	mux.HandleFunc("POST /portal/admin/params", p.user(p.setParams))
	mux.HandleFunc("GET /portal/admin/decisions", p.user(p.decisionsPage))
	mux.HandleFunc("GET /portal/admin/flags", p.user(p.flagsPage))
	mux.HandleFunc("POST /portal/admin/flags/{id}", p.user(p.reviewFlag))
}

// adminRefused answers an admin page the policy refused: a page that says so in words.
func (p *portal) adminRefused(w http.ResponseWriter, r *http.Request, v *view, err error) {
	_, msg, _ := describe(err)
	said := strings.TrimSuffix(msg, ".")
	if ae, ok := apperr.As(err); ok {
		if id, ok := ae.Details["decision_id"].(string); ok {
			said += "; decision " + id
		}
	}
	p.render(w, r, http.StatusForbidden, "message.html", &view{Title: "Administrators only", User: v.User, CSRF: v.CSRF,
		Message: "This page is for administrators, and your account is not one (the policy said: " + said +
			"). An operator can give an account the admin role with “sovereign developer make-admin EMAIL”."})
}

// refused reports whether err is the policy's refusal (answered with the admin-only page).
func (p *portal) refused(w http.ResponseWriter, r *http.Request, v *view, err error) bool {
	if apperr.KindOf(err) == apperr.Forbidden {
		p.adminRefused(w, r, v, err)
		return true
	}
	return false
}

// adminView is the admin overview.
type adminView struct {
	Developers []registry.Developer
	Statuses   []string
}

func (p *portal) loadAdmin(r *http.Request, v *view) (*adminView, error) {
	v.Title = "Admin"
	d := &adminView{Statuses: []string{registry.AgentSuspended, registry.AgentRevoked, registry.AgentActive}}
	v.Data = d
	devs, err := p.cfg.Accounts.ListDevelopers(r.Context(), sessionOf(r).subject, "", 500)
	d.Developers = devs
	return d, err
}

func (p *portal) adminPage(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadAdmin(r, v); err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "admin.html", v, err)
		}
		return
	}
	p.render(w, r, http.StatusOK, "admin.html", v)
}

// adminAgentStatus suspends, revokes or reactivates an agent (the registry's rules: its wallet
// freezes with it).
func (p *portal) adminAgentStatus(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadAdmin(r, v); err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "admin.html", v, err)
		}
		return
	}
	f := r.PostForm
	v.Form = map[string]string{"agent": strings.TrimSpace(f.Get("agent")), "status": f.Get("status")}
	if p.cfg.Onboarding == nil {
		p.fail(w, r, "admin.html", v, errNoOnboarding)
		return
	}
	if v.Form["agent"] == "" {
		p.fail(w, r, "admin.html", v, apperr.New(apperr.Invalid, "AGENT_REQUIRED", "give the agent's id (agt_…)").With("field", "agent"))
		return
	}
	a, err := p.cfg.Onboarding.SetAgentStatus(r.Context(), sessionOf(r).subject, v.Form["agent"], v.Form["status"])
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			err = withField(err, "agent")
		}
		p.fail(w, r, "admin.html", v, err)
		return
	}
	v.Form = nil
	v.Flash = "Agent " + a.ID + " is now " + a.Status + "."
	p.render(w, r, http.StatusOK, "admin.html", v)
}

// adminDeveloperStatus suspends or reactivates a developer account.
func (p *portal) adminDeveloperStatus(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadAdmin(r, v); err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "admin.html", v, err)
		}
		return
	}
	var suspend bool
	switch r.PostForm.Get("action") {
	case "suspend":
		suspend = true
	case "reactivate":
	default:
		p.fail(w, r, "admin.html", v, apperr.New(apperr.Invalid, "INVALID_FIELD", "suspend or reactivate"))
		return
	}
	d, err := p.cfg.Accounts.SetDeveloperSuspended(r.Context(), sessionOf(r).subject, r.PathValue("id"), suspend)
	p.loadAdmin(r, v)
	if err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "admin.html", v, err)
		}
		return
	}
	v.Flash = d.Email + " is reactivated."
	if d.SuspendedAt != nil {
		v.Flash = d.Email + " is suspended: their sessions ended and their API keys are refused."
	}
	p.render(w, r, http.StatusOK, "admin.html", v)
}

// treasuryView is the mint and grant page.
type treasuryView struct {
	Treasury *teg.Account
	Idem     string
}

func (p *portal) loadTreasury(r *http.Request, v *view) (*treasuryView, error) {
	v.Title = "Mint and grant AVT"
	d := &treasuryView{Idem: randomToken()}
	v.Data = d
	if p.econ().Tokens == nil {
		return d, errNoLedger
	}
	a, err := p.econ().Tokens.Balance(r.Context(), sessionOf(r).subject, teg.Treasury)
	if apperr.KindOf(err) == apperr.NotFound { // nothing minted yet
		a, err = teg.Account{ID: teg.Treasury}, nil
	}
	if err != nil {
		return d, err
	}
	d.Treasury = &a
	return d, nil
}

func (p *portal) treasuryPage(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadTreasury(r, v); err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "treasury.html", v, err)
		}
		return
	}
	p.render(w, r, http.StatusOK, "treasury.html", v)
}

// treasuryAct mints AVT into the treasury or grants AVT from it to a wallet. The form's
// one-time key makes a second submission of the same page a replay, not a second mint.
func (p *portal) treasuryAct(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadTreasury(r, v); err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "treasury.html", v, err)
		}
		return
	}
	f := r.PostForm
	op := f.Get("op")
	v.Form = map[string]string{"op": op, "to": strings.TrimSpace(f.Get("to")), "amount": f.Get("amount"), "message": f.Get("message")}
	amount, err := amountField(v.Form["amount"], op+"_amount")
	if err != nil {
		p.fail(w, r, "treasury.html", v, err)
		return
	}
	var t teg.Transfer
	var replayed bool
	switch op {
	case "mint":
		t, replayed, err = p.econ().Tokens.Mint(r.Context(), sessionOf(r).subject, amount, v.Form["message"], f.Get("idem"))
	case "grant":
		if v.Form["to"] == "" {
			err = apperr.New(apperr.Invalid, "RECIPIENT_REQUIRED", "give the wallet to grant to (an agent id)").With("field", "to")
			break
		}
		t, replayed, err = p.econ().Tokens.Grant(r.Context(), sessionOf(r).subject, teg.AccountID(v.Form["to"]), amount, v.Form["message"], f.Get("idem"))
	default:
		err = apperr.New(apperr.Invalid, "INVALID_FIELD", "mint or grant").With("field", "op")
	}
	if err != nil {
		if p.refused(w, r, v, err) {
			return
		}
		if f := failField(err); f == "amount" || f == "" && apperr.KindOf(err) == apperr.Invalid {
			err = withField(err, op+"_amount")
		}
		p.fail(w, r, "treasury.html", v, err)
		return
	}
	p.loadTreasury(r, v)
	v.Form = nil
	what := map[string]string{"mint": "Minted " + t.Amount.String() + " AVT into the treasury",
		"grant": "Granted " + t.Amount.String() + " AVT to " + string(t.To)}[op]
	if replayed {
		what += " (this form was already sent: nothing new was done)"
	}
	v.Flash = what + ". Ledger event #" + strconv.FormatUint(t.Seq, 10) + "."
	p.render(w, r, http.StatusOK, "treasury.html", v)
}

// paramsView is the parameters page.
type paramsView struct {
	Current teg.ParamsVersion
	Version int
	JSON    string
	History []teg.ParamsVersion
}

func (p *portal) loadParams(r *http.Request, v *view) (*paramsView, error) {
	v.Title = "Ledger parameters"
	d := &paramsView{}
	v.Data = d
	tokens := p.econ().Tokens
	if tokens == nil {
		return d, errNoLedger
	}
	// The page is for those who may change the parameters (reading them is public in the
	// API): the policy is asked the question the change will ask.
	if p.econ().Authz != nil {
		if err := policy.Authorize(r.Context(), p.econ().Authz, policy.Input{Subject: sessionOf(r).subject, Action: policy.ActionTegParamsSet,
			Resource: policy.Resource{Kind: "params"}}); err != nil {
			return d, err
		}
	}
	cur, err := tokens.Params(r.Context())
	if err != nil {
		return d, err
	}
	d.Version, d.Current = cur.Params.Version, cur
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(cur.Params.Encode()), "", "  "); err != nil {
		return d, apperr.Internalf("parameters: %w", err)
	}
	d.JSON = buf.String()
	d.History, _ = tokens.ParamsHistory(r.Context())
	return d, nil
}

func (p *portal) paramsPage(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadParams(r, v); err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "params.html", v, err)
		}
		return
	}
	p.render(w, r, http.StatusOK, "params.html", v)
}

// setParams changes parameters (key = value lines) from the version the page showed; a change
// made since is refused (PARAMS_VERSION_CONFLICT), and once governance has taken the parameters
// over the ledger refuses every admin change (PARAMS_GOVERNED).
func (p *portal) setParams(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadParams(r, v); err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "params.html", v, err)
		}
		return
	}
	f := r.PostForm
	v.Form = map[string]string{"changes": f.Get("changes"), "message": f.Get("message")}
	base, _ := strconv.Atoi(f.Get("base_version"))
	pv, err := p.changeParams(r, base, v.Form["changes"], v.Form["message"])
	if err == nil {
		p.loadParams(r, v)
		v.Form = nil
		v.Flash = "Parameters changed: version " + strconv.Itoa(pv.Params.Version) + " is in force."
		p.render(w, r, http.StatusOK, "params.html", v)
		return
	}
	if p.refused(w, r, v, err) {
		return
	}
	if f := failField(err); f != "" && f != "changes" && f != "message" {
		err = withField(err, "changes")
	}
	p.fail(w, r, "params.html", v, err)
}

// changeParams applies the "key = value" lines of text to the parameters in force and sets the
// result as the version after base.
func (p *portal) changeParams(r *http.Request, base int, text, message string) (teg.ParamsVersion, error) {
	changes, err := parseChanges(text)
	if err != nil {
		return teg.ParamsVersion{}, err
	}
	cur, err := p.econ().Tokens.Params(r.Context())
	if err != nil {
		return teg.ParamsVersion{}, err
	}
	next, err := teg.ApplyChanges(cur.Params, changes)
	if err != nil {
		return teg.ParamsVersion{}, withField(err, "changes")
	}
	pv, _, err := p.econ().Tokens.SetParams(r.Context(), sessionOf(r).subject, base, next, message, "")
	return pv, err
}

// decisionsView is the decision-log search page.
type decisionsView struct {
	Configured bool
	Found      string
	Searched   bool
}

// maxDecisionLine bounds one line of the decision log the search reads.
const maxDecisionLine = 4 << 20

var errDecisionNotFound = apperr.New(apperr.NotFound, "DECISION_NOT_FOUND", "no decision with this id in the decision log").With("field", "id")

// decisionsPage finds a decision in the policy's decision log by its id (the id a refusal
// carries), for admins as the policy says.
func (p *portal) decisionsPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Policy decision log"
	d := &decisionsView{}
	v.Data = d
	e := p.econ()
	if e.Authz == nil {
		p.fail(w, r, "decisions.html", v, errNoService)
		return
	}
	s := sessionOf(r).subject
	err := policy.Authorize(r.Context(), e.Authz, policy.Input{Subject: s, Action: policy.ActionDecisionLogRead, Resource: policy.Resource{Kind: "decision_log"}})
	if err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "decisions.html", v, err)
		}
		return
	}
	d.Configured = e.DecisionLog != "" && e.DecisionLog != "-"
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	v.Form = map[string]string{"id": id}
	if id == "" || !d.Configured {
		p.render(w, r, http.StatusOK, "decisions.html", v)
		return
	}
	d.Searched = true
	found, err := findDecision(e.DecisionLog, id)
	if err != nil {
		p.fail(w, r, "decisions.html", v, err)
		return
	}
	d.Found = found
	p.render(w, r, http.StatusOK, "decisions.html", v)
}

// findDecision reads the decision log at path for the event with decision id, indented.
func findDecision(path, id string) (string, error) {
	if len(id) > 100 {
		return "", errDecisionNotFound
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", errDecisionNotFound
		}
		return "", apperr.Internalf("open decision log: %w", err)
	}
	defer f.Close()
	want := []byte(`"decision_id":` + strconv.Quote(id))
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxDecisionLine)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, want) {
			continue
		}
		var ev struct {
			DecisionID string `json:"decision_id"`
		}
		if json.Unmarshal(line, &ev) != nil || ev.DecisionID != id {
			continue
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, line, "", "  "); err != nil {
			return "", apperr.Internalf("decision log line: %w", err)
		}
		return buf.String(), nil
	}
	if err := sc.Err(); err != nil {
		return "", apperr.Internalf("read decision log: %w", err)
	}
	return "", errDecisionNotFound
}

// flagsView is the auditor flags page.
type flagsView struct {
	Flags    []auditor.Flag
	Status   string
	Statuses []auditor.Status
}

func (p *portal) loadFlags(r *http.Request, v *view) (*flagsView, error) {
	v.Title = "Auditor flags"
	d := &flagsView{Status: r.URL.Query().Get("status"),
		Statuses: []auditor.Status{auditor.StatusNew, auditor.StatusAcknowledged, auditor.StatusResolved, auditor.StatusEscalated}}
	v.Data = d
	au := p.econ().Auditor
	if au == nil {
		return d, errNoLedger
	}
	flags, err := au.Flags(r.Context(), sessionOf(r).subject, auditor.FlagQuery{Status: auditor.Status(d.Status), Limit: 200})
	d.Flags = flags
	return d, err
}

func (p *portal) flagsPage(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadFlags(r, v); err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "flags.html", v, err)
		}
		return
	}
	p.render(w, r, http.StatusOK, "flags.html", v)
}

// reviewFlag acknowledges, confirms, dismisses or escalates a flag, as the auditor allows.
func (p *portal) reviewFlag(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := p.loadFlags(r, v); err != nil {
		if !p.refused(w, r, v, err) {
			p.fail(w, r, "flags.html", v, err)
		}
		return
	}
	f := r.PostForm
	id, note, au := r.PathValue("id"), strings.TrimSpace(f.Get("note")), p.econ().Auditor
	var fl auditor.Flag
	var err error
	switch f.Get("action") {
	case "acknowledge":
		fl, err = au.Acknowledge(r.Context(), sessionOf(r).subject, id, note)
	case "confirm":
		fl, err = au.Resolve(r.Context(), sessionOf(r).subject, id, auditor.Confirmed, note)
	case "dismiss":
		fl, err = au.Resolve(r.Context(), sessionOf(r).subject, id, auditor.Dismissed, note)
	case "suspend":
		fl, err = au.Escalate(r.Context(), sessionOf(r).subject, id, auditor.ToSuspension, note)
	case "dispute":
		fl, err = au.Escalate(r.Context(), sessionOf(r).subject, id, auditor.ToDispute, note)
	default:
		err = apperr.New(apperr.Invalid, "INVALID_FIELD", "choose acknowledge, confirm, dismiss, or escalate to a suspension or a dispute")
	}
	p.loadFlags(r, v)
	if err != nil {
		if p.refused(w, r, v, err) {
			return
		}
		p.fail(w, r, "flags.html", v, err)
		return
	}
	v.Flash = "Flag " + fl.ID + " is now " + strings.ToLower(string(fl.Status)) + "."
	p.render(w, r, http.StatusOK, "flags.html", v)
}
