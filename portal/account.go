package portal

import (
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/registry"
)

// parsePages parses each page template with the shared layout.
func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	funcs := template.FuncMap{
		"field":    func(v *view, name string) string { return v.Fields[name] },
		"statuses": func() []string { return discovery.Statuses },
		"fmtTime":  fmtTime,
		"nonce":    randomToken,
		"list":     func(s ...string) []string { return s },
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" || base == "cards.html" || base == "parts.html" {
			continue
		}
		out[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/cards.html", "templates/parts.html", n))
	}
	return out
}

// home is the dashboard for a signed-in developer, else the landing page with the stack's
// status.
func (p *portal) home(w http.ResponseWriter, r *http.Request) {
	s := p.currentSession(r)
	if s == nil {
		st := Status{}
		if p.cfg.Status != nil {
			st = p.cfg.Status(r.Context())
		}
		p.render(w, r, http.StatusOK, "index.html", &view{Title: "Sovereign Stack", Data: st})
		return
	}
	v := &view{User: s.dev, CSRF: p.cfg.Accounts.SessionMAC(s.subject.CredentialID, "csrf"), Title: "Dashboard"}
	if n, err := strconv.Atoi(r.URL.Query().Get("recovered")); err == nil {
		v.Flash = "Your password is changed and every earlier session has ended. You have " + strconv.Itoa(n) +
			" unused recovery keys left; replace them with the API (POST /api/v1/developers/me/recovery-keys) when few remain."
	}
	r = r.WithContext(withSession(r.Context(), s))
	d := &dashboard{}
	d.Cards, d.CardsErr = p.ownCards(r)
	d.Agents, d.Total, d.AgentsErr = p.ownAgents(r)
	d.nameAgents()
	d.Activity = p.recentActivity(r, d.Agents)
	v.Data = d
	p.render(w, r, http.StatusOK, "dashboard.html", v)
}

// dashboard is what the dashboard shows.
type dashboard struct {
	Cards     []cardRow
	CardsErr  string
	Agents    []agentRow
	Total     string
	AgentsErr string
	// Activity is the latest ledger events of all the developer's agents, newest first.
	Activity []activityRow
}

// cardRow is one of the developer's agent cards with its standing.
type cardRow struct {
	Card     *registry.AgentCard
	Standing *registry.Standing
}

// agentRow is one of the developer's registered agents with its wallet.
type agentRow struct {
	Agent   registry.Agent
	Balance string
	// Name is the name on the agent's card ("" when the card is not in the list).
	Name string
}

// nameAgents gives each registered agent the name on its card (an agent's id is its card's).
func (d *dashboard) nameAgents() {
	names := make(map[string]string, len(d.Cards))
	for _, c := range d.Cards {
		names[c.Card.ID] = c.Card.Name
	}
	for i := range d.Agents {
		d.Agents[i].Name = names[d.Agents[i].Agent.ID]
	}
}

// ownCards lists the caller's cards (any status) with their reputation standing, or why not.
func (p *portal) ownCards(r *http.Request) ([]cardRow, string) {
	s := sessionOf(r)
	q := discovery.Query{Statuses: discovery.Statuses, Limit: 200}
	res, st, _, err := p.cfg.Cards.SearchReputation(r.Context(), s.subject, q, true, registry.ReputationFilter{}, 0)
	if err != nil {
		_, msg, _ := describe(err)
		return nil, msg
	}
	rows := make([]cardRow, 0, len(res.Cards))
	for _, c := range res.Cards {
		row := cardRow{Card: c}
		if v, ok := st[c.ID]; ok {
			row.Standing = &v
		}
		rows = append(rows, row)
	}
	return rows, ""
}

// ownAgents lists the caller's registered agents with their balances and the sum of them.
func (p *portal) ownAgents(r *http.Request) ([]agentRow, string, string) {
	if p.cfg.Onboarding == nil {
		return nil, "", ""
	}
	s := sessionOf(r)
	list, err := p.cfg.Onboarding.Agents(r.Context(), s.subject, "", 200)
	if err != nil {
		_, msg, _ := describe(err)
		return nil, "", msg
	}
	rows := make([]agentRow, 0, len(list))
	var total avt.Amount
	totalKnown := true
	for _, a := range list {
		row := agentRow{Agent: a, Balance: "unavailable"}
		if _, b, err := p.cfg.Onboarding.AgentBalance(r.Context(), s.subject, a.ID); err == nil {
			row.Balance = b.Total.String()
			if t, ok := total.Add(b.Total); ok {
				total = t
			}
		} else {
			totalKnown = false
		}
		rows = append(rows, row)
	}
	sum := total.String() + " AVT"
	if !totalKnown {
		sum += " (some wallets could not be read)"
	}
	return rows, sum, ""
}

func (p *portal) signupPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Sign up"
	p.render(w, r, http.StatusOK, "signup.html", v)
}

// signup creates an account and shows its recovery keys once.
func (p *portal) signup(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Sign up"
	v.Form = map[string]string{"email": r.PostForm.Get("email"), "name": r.PostForm.Get("name")}
	if pw := r.PostForm.Get("password"); pw != r.PostForm.Get("password2") {
		v.Fields = map[string]string{"password2": "The two passwords are not the same."}
		p.render(w, r, http.StatusUnprocessableEntity, "signup.html", v)
		return
	}
	reg, err := p.cfg.Accounts.Register(r.Context(), registry.RegisterInput{Email: v.Form["email"], Name: v.Form["name"], Password: r.PostForm.Get("password")})
	if err != nil {
		p.fail(w, r, "signup.html", v, err)
		return
	}
	v.Title = "Account created"
	v.Data = reg
	p.render(w, r, http.StatusCreated, "signedup.html", v)
}

func (p *portal) verifyPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Verify your email"
	v.Form = map[string]string{"token": r.URL.Query().Get("token")}
	p.render(w, r, http.StatusOK, "verify.html", v)
}

// verify uses an emailed verification token (a POST, so that mail scanners opening the link do
// not use it up).
func (p *portal) verify(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Verify your email"
	v.Form = map[string]string{"token": strings.TrimSpace(r.PostForm.Get("token"))}
	d, err := p.cfg.Accounts.VerifyEmail(r.Context(), v.Form["token"])
	if err != nil {
		err = withField(err, "token")
		p.fail(w, r, "verify.html", v, err)
		return
	}
	v.Flash = "Thank you: " + d.Email + " is verified. You can log in now."
	v.Form = nil
	p.render(w, r, http.StatusOK, "verify.html", v)
}

// resend sends a new verification email; the answer is the same whether or not the address has
// an account.
func (p *portal) resend(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Verify your email"
	v.Form = map[string]string{"email": r.PostForm.Get("email")}
	if err := p.cfg.Accounts.ResendVerification(r.Context(), v.Form["email"]); err != nil {
		if failField(err) == "" {
			err = withField(err, "email")
		}
		p.fail(w, r, "verify.html", v, err)
		return
	}
	v.Flash = "If an unverified account has this email, a new verification email is on its way."
	p.render(w, r, http.StatusOK, "verify.html", v)
}

func (p *portal) loginPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Log in"
	v.Form = map[string]string{"next": safeNext(r.URL.Query().Get("next"))}
	p.render(w, r, http.StatusOK, "login.html", v)
}

// login checks the password (within the API's login budgets), starts a new session and sets
// its cookie.
func (p *portal) login(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Log in"
	v.Form = map[string]string{"email": r.PostForm.Get("email"), "next": safeNext(r.PostForm.Get("next"))}
	email, err := registry.NormalizeEmail(v.Form["email"])
	if err == nil && p.cfg.CheckLogin != nil {
		err = p.cfg.CheckLogin(r.Context(), email)
	}
	var t *registry.Tokens
	if err == nil {
		t, err = p.cfg.Accounts.Login(r.Context(), email, r.PostForm.Get("password"))
	}
	if ae, ok := apperr.As(err); ok && ae.Kind == apperr.TooManyRequests {
		shown := *ae
		shown.Message = "too many login attempts for this email; try again in a few minutes, or set a new password with one of your recovery keys on the Recover page, which also signs you in"
		err = &shown
	}
	if err != nil {
		p.fail(w, r, "login.html", v, err)
		return
	}
	p.startSession(w, r, t)
	http.Redirect(w, r, v.Form["next"], http.StatusSeeOther)
}

// logout ends the session everywhere (its refresh tokens too) and clears the cookie.
func (p *portal) logout(w http.ResponseWriter, r *http.Request, v *view) {
	s := sessionOf(r)
	if err := p.cfg.Accounts.Logout(r.Context(), s.subject, ""); err != nil {
		p.fail(w, r, "message.html", &view{Title: "Log out", User: v.User, CSRF: v.CSRF}, err)
		return
	}
	p.clearSession(w, r)
	p.render(w, r, http.StatusOK, "message.html", &view{Title: "Logged out", Message: "You are logged out. The session has ended on every device that used it."})
}
