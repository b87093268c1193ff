package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/registry"
)

func TestLanding_ShowsStatusAndSecurityHeaders(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	p := b.get("/portal/").want(t, 200, "Sovereign Stack", "store reachable", `href="/portal/signup"`)
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if p.Header.Get("X-Frame-Options") != "DENY" || p.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", p.Header)
	}
	css := b.get("/portal/static/portal.css").want(t, 200, "font-family")
	if !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet type %q", css.Header.Get("Content-Type"))
	}
	b.get("/portal/no-such-page").want(t, 404, "no such page")
}

func TestSignUp_VerifyLogInLogOut(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	s.signUp(b, "ada@example.com")
	s.logIn(b, "ada@example.com")
	b.get("/portal/").want(t, 200, "Welcome, Ada", "No agent cards yet")
	b.post("/portal/logout", nil).want(t, 200, "You are logged out")
	p := b.get("/portal/agents")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/portal/login?next=") {
		t.Fatalf("after logout: %d %s", p.Status, p.Header.Get("Location"))
	}
}

func TestSignUp_Failures(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.get("/portal/signup")
	form := func(email, name, pw, pw2 string) url.Values {
		return url.Values{"email": {email}, "name": {name}, "password": {pw}, "password2": {pw2}}
	}
	b.post("/portal/signup", form("not an email", "Ada", "correct horse battery", "correct horse battery")).
		want(t, 422, `id="email-err"><span class="field-error"`, `value="not an email"`)
	b.post("/portal/signup", form("ada@example.com", "Ada", "short", "short")).want(t, 422, `id="password-err"><span class="field-error"`)
	b.post("/portal/signup", form("ada@example.com", "Ada", "correct horse battery", "another one entirely")).
		want(t, 422, "The two passwords are not the same")
	b.post("/portal/signup", form("ada@example.com", "", "correct horse battery", "correct horse battery")).want(t, 422, `id="name-err"><span class="field-error"`)
	b.post("/portal/signup", form("ada@example.com", "Ada", "correct horse battery", "correct horse battery")).want(t, 201)
	p := b.post("/portal/signup", form("ada@example.com", "Ada", "correct horse battery", "correct horse battery"))
	if p.Status != http.StatusConflict || !strings.Contains(p.Body, `class="field-error"`) && !strings.Contains(p.Body, `class="error"`) {
		t.Fatalf("duplicate sign-up: %d\n%s", p.Status, p.Body)
	}
	if strings.Contains(p.Body, "correct horse battery") {
		t.Error("the page echoes the password")
	}
}

func TestVerify_Failures(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.get("/portal/verify?token=avev_abc").want(t, 200, `value="avev_abc"`)
	b.post("/portal/verify", url.Values{"token": {"nonsense"}}).want(t, 400, `id="token-err"><span class="field-error"`)
	b.post("/portal/verify", url.Values{"token": {"avev_0000000000000000000000000000000000000000000"}}).want(t, 400, `id="token-err"><span class="field-error"`)
	s.signUp(b, "ada@example.com")
	// The token was used by signUp: a second use is refused in words.
	p := b.post("/portal/verify", url.Values{"token": {s.mail.Token(t, "ada@example.com")}})
	if p.Status < 400 || p.Status >= 500 || !strings.Contains(p.Body, "field-error") {
		t.Fatalf("reused token: %d\n%s", p.Status, p.Body)
	}
	b.post("/portal/verify/resend", url.Values{"email": {"nobody@example.com"}}).want(t, 200, "a new verification email is on its way")
	b.post("/portal/verify/resend", url.Values{"email": {"@@"}}).want(t, 422, `id="resend-err"><span class="field-error"`)
}

func TestLogIn_Failures(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	s.signUp(b, "ada@example.com")
	b.get("/portal/login")
	p := b.post("/portal/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong password here"}}).want(t, 401, `class="error"`)
	if strings.Contains(p.Body, "wrong password here") {
		t.Error("the page echoes the password")
	}
	b.post("/portal/login", url.Values{"email": {"nobody@example.com"}, "password": {"correct horse battery"}}).want(t, 401, `class="error"`)
	b.post("/portal/login", url.Values{"email": {"not an email"}, "password": {"x"}}).want(t, 422)
	// A next that leaves the portal is ignored.
	r := b.post("/portal/login", url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}, "next": {"//evil.example/"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/" {
		t.Fatalf("login with foreign next: %d %q", r.Status, r.Header.Get("Location"))
	}
}

func TestLogIn_ReturnsToThePageAsked(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	s.signUp(b, "ada@example.com")
	p := b.get("/portal/keys")
	if p.Status != http.StatusSeeOther {
		t.Fatalf("unauthenticated keys page: %d", p.Status)
	}
	b.get(p.Header.Get("Location")).want(t, 200, `name="next" value="/portal/keys"`)
	r := b.post("/portal/login", url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}, "next": {"/portal/keys"}})
	if r.Header.Get("Location") != "/portal/keys" {
		t.Fatalf("after login: %q", r.Header.Get("Location"))
	}
}

func TestUnauthenticated_EveryPageRedirectsAndEveryFormIsRefused(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	for _, path := range []string{"/portal/agents", "/portal/agents/new", "/portal/agents/agt_x", "/portal/keys", "/portal/tokens"} {
		p := b.get(path)
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/portal/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s: %d %q", path, p.Status, p.Header.Get("Location"))
		}
	}
	for _, path := range []string{"/portal/logout", "/portal/agents/new", "/portal/agents/agt_x", "/portal/keys", "/portal/keys/k/revoke", "/portal/tokens", "/portal/tokens/t/revoke"} {
		b.post(path, url.Values{"csrf": {"whatever"}}).want(t, 401, "not signed in")
	}
}

func TestCSRF_FormsWithoutTheTokenAreRefused(t *testing.T) {
	s := newSite(t)
	b := s.newUser("ada@example.com")
	good := b.csrf
	for _, path := range []string{"/portal/keys", "/portal/tokens", "/portal/agents/new", "/portal/logout"} {
		b.post(path, url.Values{"csrf": {""}, "name": {"k"}}).want(t, 403, "Form refused")
		b.post(path, url.Values{"csrf": {"forged-token-forged-token"}, "name": {"k"}}).want(t, 403, "Form refused")
	}
	// The session still works: the refused logout did not end it.
	b.csrf = good
	b.get("/portal/keys").want(t, 200, "No API keys yet")

	// Anonymous forms: the token must match the browser's own CSRF cookie.
	other := s.browser()
	other.get("/portal/login")
	other.post("/portal/login", url.Values{"csrf": {good}, "email": {"ada@example.com"}, "password": {"correct horse battery"}}).want(t, 403, "Form refused")
	fresh := s.browser() // never loaded a page: no CSRF cookie
	fresh.post("/portal/signup", url.Values{"csrf": {"x"}}).want(t, 403, "Form refused")

	// A cross-site post is refused even with the right token.
	form := url.Values{"csrf": {b.csrf}, "name": {"k"}}
	req, _ := http.NewRequest(http.MethodPost, b.base+"/portal/keys", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	b.do(req).want(t, 403, "Form refused")
}

func TestSession_LogoutElsewhereEndsIt(t *testing.T) {
	s := newSite(t)
	one := s.newUser("ada@example.com")
	two := s.browser()
	s.logIn(two, "ada@example.com")
	two.post("/portal/logout", nil).want(t, 200)
	// Each login is its own session: the other browser stays signed in.
	one.get("/portal/").want(t, 200, "Dashboard")

	// A copied cookie of an ended session no longer signs in; an altered one never did.
	three := s.browser()
	s.logIn(three, "ada@example.com")
	u, _ := url.Parse(s.srv.URL + "/portal/")
	cookies := three.c.Jar.Cookies(u)
	three.post("/portal/logout", nil).want(t, 200)
	thief := s.browser()
	thief.c.Jar.SetCookies(u, cookies)
	if p := thief.get("/portal/agents"); p.Status != http.StatusSeeOther {
		t.Fatalf("ended session's cookie still works: %d", p.Status)
	}
	for _, c := range cookies {
		if c.Name == "sov_session" {
			c.Value = strings.Replace(c.Value, ".", ".x", 1)
		}
	}
	forger := s.browser()
	forger.c.Jar.SetCookies(u, cookies)
	if p := forger.get("/portal/agents"); p.Status != http.StatusSeeOther {
		t.Fatalf("altered cookie works: %d", p.Status)
	}
}

func TestSession_CookieAttributes(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	s.signUp(b, "ada@example.com")
	b.get("/portal/login")
	req, _ := http.NewRequest(http.MethodPost, b.base+"/portal/login", strings.NewReader(url.Values{"csrf": {b.csrf},
		"email": {"ada@example.com"}, "password": {"correct horse battery"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var found bool
	for _, c := range res.Cookies() {
		if c.Name == "sov_session" {
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/portal/" || c.Secure {
				t.Errorf("session cookie %+v", c)
			}
		}
	}
	if !found {
		t.Fatal("no session cookie set at login")
	}
}

// cardForm is a valid card editor submission.
func cardForm(name string) url.Values {
	return url.Values{"name": {name}, "description": {"Translates text between languages."}, "url": {"https://agents.example.com/a2a"},
		"agent_version": {"1.0.0"}, "skill_name": {"Translate"}, "skill_description": {"Translate a text"}, "tags": {"translation, nlp"}}
}

var cardLinkRE = regexp.MustCompile(`href="/portal/agents/(agt_[^"]+)"`)

func TestAgents_CreateEditAndList(t *testing.T) {
	s := newSite(t)
	b := s.newUser("ada@example.com")
	b.get("/portal/agents/new").want(t, 200, `<label for="name">`)
	p := b.post("/portal/agents/new", cardForm("Polyglot"))
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/portal/agents?saved=") {
		t.Fatalf("create: %d\n%s", p.Status, p.Body)
	}
	list := b.get(p.Header.Get("Location")).want(t, 200, "Saved", "Polyglot", "unsigned", "<td>100 · New</td>")
	m := cardLinkRE.FindStringSubmatch(list.Body)
	if m == nil {
		t.Fatalf("no card link:\n%s", list.Body)
	}
	id := m[1]
	b.get("/portal/").want(t, 200, "Polyglot")
	edit := b.get("/portal/agents/"+id).want(t, 200, `value="Polyglot"`, `value="translation, nlp"`, "urn:air:registry.test:agent:", `name="if_version" value="1"`)
	_ = edit
	f := cardForm("Polyglot Pro")
	f.Set("status", "inactive")
	f.Set("if_version", "1")
	p = b.post("/portal/agents/"+id, f)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", p.Status, p.Body)
	}
	b.get("/portal/agents").want(t, 200, "Polyglot Pro", "inactive")
	// Editing with the old version is a conflict told in words.
	b.get("/portal/agents/" + id)
	b.post("/portal/agents/"+id, f).want(t, 409, "Someone changed this card")
}

func TestAgents_ValidationErrorsAreShownNextToTheField(t *testing.T) {
	s := newSite(t)
	b := s.newUser("ada@example.com")
	b.get("/portal/agents/new")
	bad := cardForm("Polyglot")
	bad.Set("url", "not a url")
	b.post("/portal/agents/new", bad).want(t, 422, `id="url-err"><span class="field-error"`, `value="Polyglot"`)
	bad = cardForm("")
	b.post("/portal/agents/new", bad).want(t, 422, `id="name-err"><span class="field-error"`)
	bad = cardForm("Polyglot")
	bad.Set("agent_version", "")
	b.post("/portal/agents/new", bad).want(t, 422, `id="agent_version-err"><span class="field-error"`)

	// A status that is not one of the list.
	p := b.post("/portal/agents/new", cardForm("Polyglot"))
	id := strings.TrimPrefix(p.Header.Get("Location"), "/portal/agents?saved=")
	b.get("/portal/agents/" + id)
	f := cardForm("Polyglot")
	f.Set("status", "exploded")
	b.post("/portal/agents/"+id, f).want(t, 422, `id="status-err"><span class="field-error"`)
}

func TestAgents_ScriptInACardIsInert(t *testing.T) {
	s := newSite(t)
	b := s.newUser("ada@example.com")
	b.get("/portal/agents/new")
	f := cardForm("<script>alert(1)</script>")
	f.Set("description", `<a href="javascript:alert(1)">click</a>`)
	p := b.post("/portal/agents/new", f)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", p.Status, p.Body)
	}
	list := b.get("/portal/agents").want(t, 200, "&lt;script&gt;alert(1)&lt;/script&gt;")
	if strings.Contains(list.Body, "<script>") {
		t.Fatal("a card name was rendered as markup")
	}
	id := cardLinkRE.FindStringSubmatch(list.Body)[1]
	edit := b.get("/portal/agents/" + id)
	if strings.Contains(edit.Body, `<a href="javascript:`) {
		t.Fatal("a description was rendered as markup")
	}
}

func TestAgents_AnotherDevelopersCardIsNotFound(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	ada.get("/portal/agents/new")
	p := ada.post("/portal/agents/new", cardForm("Polyglot"))
	id := strings.TrimPrefix(p.Header.Get("Location"), "/portal/agents?saved=")
	bob := s.newUser("bob@example.com")
	bob.get("/portal/agents/"+id).want(t, 404, "No agent card with this id.")
	bob.post("/portal/agents/"+id, cardForm("Mine now")).want(t, 404)
	bob.get("/portal/agents/agt_nonexistent").want(t, 404)
	ada.get("/portal/agents").want(t, 200, "Polyglot")
}

var keySecretRE = regexp.MustCompile(`id="new-key" readonly value="(avreg_[^"]+)"`)
var revokeRE = regexp.MustCompile(`action="(/portal/(?:keys|tokens)/[^"]+/revoke)"`)

func TestAPIKeys_CreateOnceListRevoke(t *testing.T) {
	s := newSite(t)
	b := s.newUser("ada@example.com")
	b.get("/portal/keys").want(t, 200, "No API keys yet")
	p := b.post("/portal/keys", url.Values{"name": {"ci"}, "scope": {"read"}}).want(t, 201, "shown only this once")
	m := keySecretRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no key shown:\n%s", p.Body)
	}
	// The key works against the API.
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/api/v1/developers/me", nil)
	req.Header.Set("Authorization", "Bearer "+m[1])
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("API with the new key: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	list := b.get("/portal/keys").want(t, 200, "<td>ci</td>", "<td>read</td>")
	if strings.Contains(list.Body, m[1]) {
		t.Fatal("the key's secret is shown again")
	}
	rv := revokeRE.FindStringSubmatch(list.Body)
	b.post(rv[1], nil).want(t, 200, "is revoked", "revoked")
	b.post("/portal/keys/key_nonexistent/revoke", nil).want(t, 404, `class="error"`)
	b.post("/portal/keys", url.Values{"name": {""}}).want(t, 422)
	b.post("/portal/keys", url.Values{"name": {"x"}, "scope": {"admin"}}).want(t, 422, `id="scope-err"><span class="field-error"`)
}

var tokenSecretRE = regexp.MustCompile(`id="new-token" readonly value="([^"]+)"`)

func TestBootstrapTokens_RequestOnceListRevoke(t *testing.T) {
	s := newSite(t)
	b := s.newUser("ada@example.com")
	b.get("/portal/tokens").want(t, 200, "No outstanding tokens")
	p := b.post("/portal/tokens", nil).want(t, 201, "shown only this once", "sovereign agent register --card agent-card.json --bootstrap-token ", "--registry http://registry.test")
	secret := tokenSecretRE.FindStringSubmatch(p.Body)
	if secret == nil {
		t.Fatalf("no token shown:\n%s", p.Body)
	}
	list := b.get("/portal/tokens").want(t, 200, "Outstanding tokens")
	if strings.Contains(list.Body, secret[1]) {
		t.Fatal("the token's secret is shown again")
	}
	rv := revokeRE.FindStringSubmatch(list.Body)
	b.post(rv[1], nil).want(t, 200, "Bootstrap token revoked", "No outstanding tokens")
	p = b.post(rv[1], nil)
	if p.Status != 404 || !strings.Contains(p.Body, `class="error"`) {
		t.Fatalf("revoking twice: %d\n%s", p.Status, p.Body)
	}
}

func TestUnverified_CannotPublishAndIsToldWhy(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.get("/portal/signup")
	b.post("/portal/signup", url.Values{"email": {"ada@example.com"}, "name": {"Ada"}, "password": {"correct horse battery"},
		"password2": {"correct horse battery"}}).want(t, 201)
	s.logIn(b, "ada@example.com")
	b.get("/portal/").want(t, 200, "not verified yet")
	b.get("/portal/agents/new")
	p := b.post("/portal/agents/new", cardForm("Polyglot"))
	if p.Status != 403 || !strings.Contains(p.Body, `class="error"`) {
		t.Fatalf("unverified publish: %d\n%s", p.Status, p.Body)
	}
	b.post("/portal/tokens", nil).want(t, 403, `class="error"`)
}

func TestSession_APlantedCookieIsNotTheOneUsedAfterLogin(t *testing.T) {
	s := newSite(t)
	victim := s.browser()
	s.signUp(victim, "ada@example.com")
	u, _ := url.Parse(s.srv.URL + "/portal/")
	planted := &http.Cookie{Name: "sov_session", Value: "ses_attacker.chosen", Path: "/portal/"}
	victim.c.Jar.SetCookies(u, []*http.Cookie{planted})
	s.logIn(victim, "ada@example.com")
	for _, c := range victim.c.Jar.Cookies(u) {
		if c.Name == "sov_session" && c.Value == planted.Value {
			t.Fatal("the planted session cookie survived the login")
		}
	}
}

func TestSession_EndsWithItsSession(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newSiteAt(t, clock)
	b := s.newUser("ada@example.com")
	mu.Lock()
	now = now.Add(registry.SessionTTL + time.Minute)
	mu.Unlock()
	if p := b.get("/portal/agents"); p.Status != http.StatusSeeOther {
		t.Fatalf("a session past its end still signs in: %d", p.Status)
	}
	b.post("/portal/keys", url.Values{"name": {"k"}}).want(t, 401, "not signed in")
}
