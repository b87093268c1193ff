package portal

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
)

func (p *portal) agents(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "My agents"
	d := &dashboard{}
	d.Cards, d.CardsErr = p.ownCards(r)
	d.Agents, d.Total, d.AgentsErr = p.ownAgents(r)
	d.nameAgents()
	if r.URL.Query().Get("saved") != "" {
		v.Flash = "Saved: the agent card is published."
	}
	v.Data = d
	p.render(w, r, http.StatusOK, "agents.html", v)
}

// cardForm is the card editor's fields. The editor edits the fields a person usually changes;
// the rest of an existing card (more skills, signatures' inputs, extensions) is kept as it is.
type cardForm struct {
	ID, Version                            string
	Name, Description, URL, AgentVersion   string
	SkillName, SkillDescription, Tags      string
	Status                                 string
	CardVersion                            int
	SignatureStatus, URN, CreatedAt, Owner string
	// Shown on an existing card's page: its signatures, versions and, when it is a registered
	// agent, its wallet.
	Signatures []agentcard.SignatureResult
	Versions   []registry.CardVersion
	Ledger     *agentLedger
}

// formFields are the editor's field names, by the card's ProtoJSON paths that errors name.
var cardFieldOf = []struct{ prefix, field string }{
	{"name", "name"},
	{"description", "description"},
	{"version", "agent_version"},
	{"supportedInterfaces", "url"},
	{"skills[0].name", "skill_name"},
	{"skills[0].description", "skill_description"},
	{"skills[0].tags", "tags"},
	{"status", "status"},
}

// editorField is the editor field an error about the card's path is shown next to ("" when the
// editor has none: the message goes at the top).
func editorField(path string) string {
	for _, f := range cardFieldOf {
		if path == f.prefix || strings.HasPrefix(path, f.prefix+".") || strings.HasPrefix(path, f.prefix+"[") {
			return f.field
		}
	}
	return ""
}

func readCardForm(r *http.Request) cardForm {
	f := r.PostForm
	return cardForm{Name: strings.TrimSpace(f.Get("name")), Description: strings.TrimSpace(f.Get("description")),
		URL: strings.TrimSpace(f.Get("url")), AgentVersion: strings.TrimSpace(f.Get("agent_version")),
		SkillName: strings.TrimSpace(f.Get("skill_name")), SkillDescription: strings.TrimSpace(f.Get("skill_description")),
		Tags: f.Get("tags"), Status: f.Get("status")}
}

// cardFormOf fills the editor from a published card.
func cardFormOf(c *registry.AgentCard, urn string) cardForm {
	pc := c.Proto()
	f := cardForm{ID: c.ID, Name: pc.GetName(), Description: pc.GetDescription(), AgentVersion: pc.GetVersion(),
		Status: c.Status, CardVersion: c.Version, SignatureStatus: c.SignatureStatus, URN: urn,
		CreatedAt: c.CreatedAt.Format("2006-01-02 15:04 MST")}
	if ifs := pc.GetSupportedInterfaces(); len(ifs) > 0 {
		f.URL = ifs[0].GetUrl()
	}
	if sk := pc.GetSkills(); len(sk) > 0 {
		f.SkillName, f.SkillDescription, f.Tags = sk[0].GetName(), sk[0].GetDescription(), strings.Join(sk[0].GetTags(), ", ")
	}
	return f
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// cardJSON merges the editor's fields into base (an existing card's JSON, or a new card's
// defaults) and returns the card to publish.
func cardJSON(base []byte, f cardForm) ([]byte, error) {
	card := map[string]any{}
	if len(base) > 0 {
		if err := json.Unmarshal(base, &card); err != nil {
			return nil, apperr.Internalf("read stored card: %w", err)
		}
	} else {
		card["capabilities"] = map[string]any{}
		card["defaultInputModes"] = []any{"text/plain"}
		card["defaultOutputModes"] = []any{"text/plain"}
	}
	card["name"], card["description"], card["version"] = f.Name, f.Description, f.AgentVersion
	ifs, _ := card["supportedInterfaces"].([]any)
	first := map[string]any{"protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
	if len(ifs) > 0 {
		if m, ok := ifs[0].(map[string]any); ok {
			first = m
		}
	} else {
		ifs = []any{first}
	}
	first["url"] = f.URL
	ifs[0] = first
	card["supportedInterfaces"] = ifs
	skills, _ := card["skills"].([]any)
	skill := map[string]any{}
	if len(skills) > 0 {
		if m, ok := skills[0].(map[string]any); ok {
			skill = m
		}
	} else {
		skills = []any{skill}
	}
	if id, _ := skill["id"].(string); id == "" {
		id = strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(f.SkillName), "-"), "-")
		if id == "" {
			id = "main"
		}
		skill["id"] = id
	}
	skill["name"], skill["description"] = f.SkillName, f.SkillDescription
	tags := []any{}
	for t := range strings.SplitSeq(f.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	skill["tags"] = tags
	skills[0] = skill
	card["skills"] = skills
	return json.Marshal(card)
}

// failCard shows a card error next to the editor field it is about.
func (p *portal) failCard(w http.ResponseWriter, r *http.Request, page string, v *view, err error) {
	if ae, ok := apperr.As(err); ok {
		if path, ok := ae.Details["field"].(string); ok {
			if f := editorField(path); f != "" {
				shown := ae.With("field", f)
				// Next to its field the message need not name the card's path.
				shown.Message = strings.TrimPrefix(ae.Message, path+" ")
				err = shown
			} else {
				cp := *ae
				cp.Details = nil
				cp.Message = ae.Message + " (at " + path + ")"
				err = &cp
			}
		}
	}
	p.fail(w, r, page, v, err)
}

func (p *portal) newCardPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "New agent card"
	v.Data = &cardForm{AgentVersion: "1.0.0", URL: "https://", SkillName: "Main skill"}
	p.render(w, r, http.StatusOK, "card.html", v)
}

func (p *portal) createCard(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "New agent card"
	f := readCardForm(r)
	v.Data = &f
	js, err := cardJSON(nil, f)
	if err == nil {
		var c *registry.AgentCard
		if c, err = p.cfg.Cards.Create(r.Context(), sessionOf(r).subject, registry.CardInput{JSON: js}); err == nil {
			http.Redirect(w, r, "/portal/agents?saved="+c.ID, http.StatusSeeOther)
			return
		}
	}
	p.failCard(w, r, "card.html", v, err)
}

// ownCard is the caller's published card id, or the refusal to show (another developer's card
// reads as not found).
func (p *portal) ownCard(r *http.Request, id string) (*registry.AgentCard, error) {
	c, err := p.cfg.Cards.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	s := sessionOf(r)
	if c.OwnerID != s.subject.ID && !s.subject.HasRole(policy.RoleAdmin) {
		return nil, registry.ErrCardNotFound
	}
	return c, nil
}

func (p *portal) editCardPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Edit agent card"
	c, err := p.ownCard(r, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, "message.html", v, err)
		return
	}
	f := cardFormOf(c, p.cfg.Cards.URN(c))
	f.Signatures = c.Signatures
	f.Versions, _ = p.cfg.Cards.History(r.Context(), c.ID, 0, 50)
	if p.cfg.Onboarding != nil {
		if _, err := p.cfg.Onboarding.Agent(r.Context(), sessionOf(r).subject, c.ID); err == nil {
			f.Ledger = p.loadLedger(r, c.ID, 0, 10)
		}
	}
	v.Data = &f
	p.render(w, r, http.StatusOK, "card.html", v)
}

func (p *portal) updateCard(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Edit agent card"
	c, err := p.ownCard(r, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, "message.html", v, err)
		return
	}
	f := readCardForm(r)
	cur := cardFormOf(c, p.cfg.Cards.URN(c))
	f.ID, f.CardVersion, f.SignatureStatus, f.URN, f.CreatedAt = cur.ID, cur.CardVersion, cur.SignatureStatus, cur.URN, cur.CreatedAt
	v.Data = &f
	ifVersion, _ := strconv.Atoi(r.PostForm.Get("if_version"))
	if f.Status != "" && !validStatus(f.Status) {
		p.fail(w, r, "card.html", v, apperr.New(apperr.Invalid, "INVALID_FIELD", "choose one of the listed statuses").With("field", "status"))
		return
	}
	js, err := cardJSON(c.JSON, f)
	if err == nil {
		_, err = p.cfg.Cards.Update(r.Context(), sessionOf(r).subject, c.ID, registry.CardInput{JSON: js, Status: f.Status, SignedOnly: c.SignedOnly}, ifVersion)
	}
	if err != nil {
		if apperr.CodeOf(err) == "VERSION_CONFLICT" {
			err = apperr.New(apperr.Conflict, "CARD_VERSION_CONFLICT", "someone changed this card while you were editing it; reload the page to see their change, then edit again")
		}
		p.failCard(w, r, "card.html", v, err)
		return
	}
	http.Redirect(w, r, "/portal/agents?saved="+c.ID, http.StatusSeeOther)
}

func validStatus(s string) bool {
	for _, st := range discovery.Statuses {
		if s == st {
			return true
		}
	}
	return false
}
