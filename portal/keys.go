package portal

import (
	"net/http"
	"strings"

	"github.com/sovereign-stack/sovereign/registry"
)

// keysPage is what the API keys page shows: the keys, and a new key's secret once.
type keysPage struct {
	Keys   []registry.APIKey
	New    *registry.APIKey
	Secret string
}

// listPage is a page that shows what load puts in the view.
func (p *portal) listPage(title, page string, load func(*http.Request, *view)) func(http.ResponseWriter, *http.Request, *view) {
	return func(w http.ResponseWriter, r *http.Request, v *view) {
		v.Title = title
		load(r, v)
		p.render(w, r, http.StatusOK, page, v)
	}
}

// loadKeys puts the caller's API keys in the view (a *keysPage).
func (p *portal) loadKeys(r *http.Request, v *view) {
	d := &keysPage{}
	keys, err := p.cfg.Accounts.ListAPIKeys(r.Context(), sessionOf(r).subject, "", 200)
	if err != nil {
		_, v.Error, _ = describe(err)
	}
	d.Keys = keys
	v.Data = d
}

// createKey creates a key and shows its secret on this answer only.
func (p *portal) createKey(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "API keys"
	v.Form = map[string]string{"name": r.PostForm.Get("name")}
	scopes := r.PostForm["scope"]
	k, secret, err := p.cfg.Accounts.CreateAPIKey(r.Context(), sessionOf(r).subject, registry.NewAPIKey{Name: strings.TrimSpace(v.Form["name"]), Scopes: scopes})
	if err != nil {
		p.loadKeys(r, v)
		if f := failField(err); f == "scopes" {
			err = withField(err, "scope")
		}
		p.fail(w, r, "keys.html", v, err)
		return
	}
	p.loadKeys(r, v)
	d := v.Data.(*keysPage)
	d.New, d.Secret = k, secret
	v.Form = nil
	v.Flash = "API key created. Copy it now: it is shown only this once."
	p.render(w, r, http.StatusCreated, "keys.html", v)
}

func (p *portal) revokeKey(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "API keys"
	k, err := p.cfg.Accounts.RevokeAPIKey(r.Context(), sessionOf(r).subject, r.PathValue("id"))
	p.loadKeys(r, v)
	if err != nil {
		p.fail(w, r, "keys.html", v, err)
		return
	}
	v.Flash = "API key “" + k.Name + "” is revoked: requests with it are refused from now on."
	p.render(w, r, http.StatusOK, "keys.html", v)
}

// tokensPage is what the bootstrap tokens page shows.
type tokensPage struct {
	Tokens  []registry.BootstrapToken
	New     *registry.BootstrapToken
	Secret  string
	Command string
}

// loadTokens puts the caller's outstanding bootstrap tokens in the view (a *tokensPage).
func (p *portal) loadTokens(r *http.Request, v *view) {
	d := &tokensPage{}
	v.Data = d
	if p.cfg.Onboarding == nil {
		_, v.Error, _ = describe(errNoOnboarding)
		return
	}
	toks, err := p.cfg.Onboarding.BootstrapTokens(r.Context(), sessionOf(r).subject)
	if err != nil {
		_, v.Error, _ = describe(err)
	}
	d.Tokens = toks
}

// createToken issues a bootstrap token, shown once with the command that registers an agent
// with it.
func (p *portal) createToken(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Bootstrap tokens"
	if p.cfg.Onboarding == nil {
		p.loadTokens(r, v)
		p.fail(w, r, "tokens.html", v, errNoOnboarding)
		return
	}
	t, secret, err := p.cfg.Onboarding.RequestBootstrapToken(r.Context(), sessionOf(r).subject)
	p.loadTokens(r, v)
	d := v.Data.(*tokensPage)
	if err != nil {
		p.fail(w, r, "tokens.html", v, err)
		return
	}
	d.New, d.Secret = t, secret
	d.Command = "sovereign agent register --card agent-card.json --bootstrap-token " + secret + " --registry " + p.cfg.PublicURL
	v.Flash = "Bootstrap token created. Copy it now: it is shown only this once, and registers one agent."
	p.render(w, r, http.StatusCreated, "tokens.html", v)
}

func (p *portal) revokeToken(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = "Bootstrap tokens"
	if p.cfg.Onboarding == nil {
		p.loadTokens(r, v)
		p.fail(w, r, "tokens.html", v, errNoOnboarding)
		return
	}
	err := p.cfg.Onboarding.RevokeBootstrapToken(r.Context(), sessionOf(r).subject, r.PathValue("id"))
	p.loadTokens(r, v)
	if err != nil {
		p.fail(w, r, "tokens.html", v, err)
		return
	}
	v.Flash = "Bootstrap token revoked: it can no longer register an agent."
	p.render(w, r, http.StatusOK, "tokens.html", v)
}
