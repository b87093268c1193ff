package portal

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/registry"
)

// routesDeveloper registers the developer's pages beyond the account basics: recovery,
// discovery, each agent's ledger, the wallet and templates.
func (p *portal) routesDeveloper(mux *http.ServeMux) {
	mux.HandleFunc("GET /portal/recover", p.anon(p.recoverPage))
	mux.HandleFunc("POST /portal/recover", p.anon(p.recoverAccount))
	mux.HandleFunc("GET /portal/discover", p.user(p.discover))
	mux.HandleFunc("GET /portal/discover/{id}", p.user(p.cardDocument))
	mux.HandleFunc("GET /portal/wallet", p.user(p.walletPage))
	mux.HandleFunc("POST /portal/wallet/transfer", p.user(p.transfer))
	mux.HandleFunc("GET /portal/templates", p.user(p.templatesPage))
	mux.HandleFunc("GET /portal/templates/{name}", p.user(p.templatePage))
	mux.HandleFunc("POST /portal/templates/{name}", p.user(p.renderTemplate))
}

func (p *portal) recoverPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Recover your account"
	p.render(w, r, http.StatusOK, "recover.html", v)
}

// recoverAccount sets a new password with a recovery key: every session of the account ends
// and the person is signed in with a new one.
func (p *portal) recoverAccount(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Recover your account"
	v.Form = map[string]string{"email": r.PostForm.Get("email")}
	if pw := r.PostForm.Get("password"); pw != r.PostForm.Get("password2") {
		v.Fields = map[string]string{"password2": "The two passwords are not the same."}
		p.render(w, r, http.StatusUnprocessableEntity, "recover.html", v)
		return
	}
	// Not within the login budgets: a recovery key is the way in that a guesser exhausting
	// them cannot block (and a key is a 256-bit secret, checked before any password work).
	rec, err := p.cfg.Accounts.Recover(r.Context(), registry.RecoverInput{Email: v.Form["email"],
		RecoveryKey: strings.TrimSpace(r.PostForm.Get("recovery_key")), NewPassword: r.PostForm.Get("password")})
	if err != nil {
		switch {
		case failField(err) == "password" || failField(err) == "email":
		case apperr.CodeOf(err) == registry.ErrRecoveryInvalid.Code:
			err = withField(err, "recovery_key")
		}
		p.fail(w, r, "recover.html", v, err)
		return
	}
	p.startSession(w, r, rec.Tokens)
	http.Redirect(w, r, "/portal/?recovered="+strconv.Itoa(rec.RemainingKeys), http.StatusSeeOther)
}

// discoverPage is what the discovery page shows.
type discoverPage struct {
	Results    []discoverHit
	Searched   bool
	DidYouMean string
	Next       string
	Statuses   []string
}

// discoverHit is one result card.
type discoverHit struct {
	Card      *registry.AgentCard
	URN       string
	Relevance int
	Standing  *registry.Standing
}

// discoverLimit is the size of a page of discovery results.
const discoverLimit = 20

// discover searches the registry's cards: free text, tags, skill, status, reputation.
func (p *portal) discover(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Discover agents"
	q := r.URL.Query()
	v.Form = map[string]string{"q": q.Get("q"), "tag": q.Get("tag"), "skill": q.Get("skill"), "status": q.Get("status"),
		"min_reputation": q.Get("min_reputation"), "tier": q.Get("tier"), "sort": q.Get("sort")}
	d := &discoverPage{Statuses: discovery.Statuses}
	v.Data = d
	dq := discovery.Query{Text: strings.TrimSpace(q.Get("q")), Limit: discoverLimit}
	if t := strings.TrimSpace(q.Get("tag")); t != "" {
		dq.Tags = []string{t}
	}
	if s := strings.TrimSpace(q.Get("skill")); s != "" {
		dq.Skills = []string{s}
	}
	if s := q.Get("status"); s != "" {
		if !validStatus(s) {
			p.fail(w, r, "discover.html", v, apperr.New(apperr.Invalid, "INVALID_FIELD", "choose one of the listed statuses").With("field", "status"))
			return
		}
		dq.Statuses = []string{s}
	}
	var f registry.ReputationFilter
	if s := strings.TrimSpace(q.Get("min_reputation")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			p.fail(w, r, "discover.html", v, registry.ErrInvalidMinReputation.With("field", "min_reputation"))
			return
		}
		f.MinScore = &n
	}
	f.Tier = strings.TrimSpace(q.Get("tier"))
	f.Sort = q.Get("sort") == "reputation"
	offset := 0
	if a := q.Get("after"); a != "" {
		var pos discovery.Position
		if err := json.Unmarshal([]byte(a), &pos); err == nil && pos.ID != "" {
			dq.After = &pos
		} else if n, err := strconv.Atoi(a); err == nil && n > 0 {
			offset = n
		}
	}
	d.Searched = true
	res, st, nextOffset, err := p.cfg.Cards.SearchReputation(r.Context(), sessionOf(r).subject, dq, false, f, offset)
	if err != nil {
		p.fail(w, r, "discover.html", v, err)
		return
	}
	d.DidYouMean = res.DidYouMean
	for i, c := range res.Cards {
		h := discoverHit{Card: c, URN: p.cfg.Cards.URN(c)}
		if i < len(res.Relevance) {
			h.Relevance = res.Relevance[i]
		}
		if s, ok := st[c.ID]; ok {
			h.Standing = &s
		}
		d.Results = append(d.Results, h)
	}
	next := url.Values{}
	for k, val := range v.Form {
		if val != "" {
			next.Set(k, val)
		}
	}
	switch {
	case nextOffset > 0:
		next.Set("after", strconv.Itoa(nextOffset))
		d.Next = "/portal/discover?" + next.Encode()
	case res.Next != nil:
		b, _ := json.Marshal(res.Next)
		next.Set("after", string(b))
		d.Next = "/portal/discover?" + next.Encode()
	}
	p.render(w, r, http.StatusOK, "discover.html", v)
}

// cardDoc is the agent card document page.
type cardDoc struct {
	Card     *registry.AgentCard
	URN      string
	JSON     string
	Standing *registry.Standing
	Skills   []skillView
	Endpoint string
}

type skillView struct{ Name, Description, Tags string }

// cardDocument shows a published card: its fields as a person reads them and the document
// itself (text, never markup).
func (p *portal) cardDocument(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Agent card"
	c, err := p.cfg.Cards.Get(r.Context(), r.PathValue("id"))
	if err == nil && c.Status != "active" && c.OwnerID != sessionOf(r).subject.ID {
		err = registry.ErrCardNotFound
	}
	if err != nil {
		p.fail(w, r, "message.html", v, err)
		return
	}
	d := &cardDoc{Card: c, URN: p.cfg.Cards.URN(c)}
	var pretty bytes.Buffer
	if json.Indent(&pretty, c.JSON, "", "  ") == nil {
		d.JSON = pretty.String()
	} else {
		d.JSON = string(c.JSON)
	}
	pc := c.Proto()
	if ifs := pc.GetSupportedInterfaces(); len(ifs) > 0 {
		d.Endpoint = ifs[0].GetUrl()
	}
	for _, s := range pc.GetSkills() {
		d.Skills = append(d.Skills, skillView{Name: s.GetName(), Description: s.GetDescription(), Tags: strings.Join(s.GetTags(), ", ")})
	}
	if res, st, _, err := p.cfg.Cards.SearchReputation(r.Context(), sessionOf(r).subject,
		discovery.Query{Statuses: discovery.Statuses, OwnerID: c.OwnerID, Limit: 500}, false, registry.ReputationFilter{}, 0); err == nil && res != nil {
		if s, ok := st[c.ID]; ok {
			d.Standing = &s
		}
	}
	v.Title = c.Name
	v.Data = d
	p.render(w, r, http.StatusOK, "carddoc.html", v)
}
