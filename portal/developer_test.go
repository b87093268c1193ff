package portal_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/agentvault"
)

var recoveryKeyRE = regexp.MustCompile(`<code>(avrk_[^<]+)</code>`)

func TestRecover_SetsANewPasswordAndEndsEverySession(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.get("/portal/signup")
	p := b.post("/portal/signup", url.Values{"email": {"ada@example.com"}, "name": {"Ada"}, "password": {"correct horse battery"},
		"password2": {"correct horse battery"}}).want(t, 201)
	keys := recoveryKeyRE.FindAllStringSubmatch(p.Body, -1)
	if len(keys) == 0 {
		t.Fatalf("no recovery keys shown:\n%s", p.Body)
	}
	other := s.browser()
	s.logIn(other, "ada@example.com")

	r := s.browser()
	r.get("/portal/login").want(t, 200, `href="/portal/recover"`)
	r.get("/portal/recover").want(t, 200, `<label for="recovery_key">`)
	form := func(email, key, pw, pw2 string) url.Values {
		return url.Values{"email": {email}, "recovery_key": {key}, "password": {pw}, "password2": {pw2}}
	}
	r.post("/portal/recover", form("ada@example.com", "avrk_wrong", "a brand new password", "a brand new password")).
		want(t, 401, `id="recovery_key-err"><span class="field-error"`, `value="ada@example.com"`)
	r.post("/portal/recover", form("ada@example.com", keys[0][1], "a brand new password", "another one")).
		want(t, 422, "The two passwords are not the same")
	r.post("/portal/recover", form("ada@example.com", keys[0][1], "short", "short")).want(t, 422, `id="password-err"><span class="field-error"`)
	r.post("/portal/recover", form("not an email", keys[0][1], "a brand new password", "a brand new password")).
		want(t, 422, `id="email-err"><span class="field-error"`)
	done := r.post("/portal/recover", form("ada@example.com", keys[0][1], "a brand new password", "a brand new password"))
	if done.Status != http.StatusSeeOther || done.Header.Get("Location") != "/portal/?recovered=2" {
		t.Fatalf("recover: %d %q\n%s", done.Status, done.Header.Get("Location"), done.Body)
	}
	// Signed in by the recovery; every earlier session has ended.
	r.get(done.Header.Get("Location")).want(t, 200, "Dashboard", "Your password is changed", "2 unused recovery keys left")
	if p := other.get("/portal/agents"); p.Status != http.StatusSeeOther {
		t.Fatalf("a session from before the recovery still works: %d", p.Status)
	}
	// The key is used up.
	s.browser().get("/portal/recover")
	r2 := s.browser()
	r2.get("/portal/recover")
	r2.post("/portal/recover", form("ada@example.com", keys[0][1], "yet another password", "yet another password")).
		want(t, 401, `id="recovery_key-err"><span class="field-error"`)
	// The new password logs in.
	l := s.browser()
	l.get("/portal/login")
	if p := l.post("/portal/login", url.Values{"email": {"ada@example.com"}, "password": {"a brand new password"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("login with the new password: %d", p.Status)
	}
}

func TestVerifyLink_OpensThePortalAndTheAPIRouteStillWorks(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.get("/portal/signup")
	b.post("/portal/signup", url.Values{"email": {"ada@example.com"}, "name": {"Ada"}, "password": {"correct horse battery"},
		"password2": {"correct horse battery"}}).want(t, 201)
	link, _ := url.Parse(s.mail.Link("ada@example.com"))
	if link.Host != "registry.test" || link.Path != "/portal/verify" {
		t.Fatalf("the verification link is %s", link)
	}
	tok := link.Query().Get("token")
	b.get(link.RequestURI()).want(t, 200, `value="`+tok+`"`)
	b.post("/portal/verify", url.Values{"token": {tok}}).want(t, 200, "is verified")

	// The API route takes the same tokens.
	c := s.browser()
	c.get("/portal/signup")
	c.post("/portal/signup", url.Values{"email": {"bob@example.com"}, "name": {"Bob"}, "password": {"correct horse battery"},
		"password2": {"correct horse battery"}}).want(t, 201)
	res, err := http.Get(s.srv.URL + "/api/v1/auth/verify-email?token=" + url.QueryEscape(s.mail.Token(t, "bob@example.com")))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("API verification: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
}

// agentCard is a valid card for an agent named name.
func agentCard(name string) []byte {
	b, _ := json.Marshal(map[string]any{"name": name, "description": name + " answers questions about " + name, "version": "1.0.0",
		"supportedInterfaces": []map[string]any{{"url": "https://agents.example.com/" + name, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
		"capabilities":        map[string]any{}, "defaultInputModes": []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
		"skills": []map[string]any{{"id": "answer", "name": "Answer", "description": "answers questions", "tags": []string{"qa"}}}})
	return b
}

// registerAgent registers an agent for b's developer as the CLI does (a bootstrap token from
// the tokens page, then the agent library's registration) and returns it.
func (s *site) registerAgent(b *browser, name string) *agentvault.Registration {
	s.t.Helper()
	b.get("/portal/tokens")
	p := b.post("/portal/tokens", nil).want(s.t, 201)
	m := tokenSecretRE.FindStringSubmatch(p.Body)
	if m == nil {
		s.t.Fatalf("no bootstrap token:\n%s", p.Body)
	}
	reg, err := agentvault.NewRegistry(s.srv.URL, agentvault.BearerToken("")).Register(context.Background(), agentCard(name),
		agentvault.RegisterOptions{BootstrapToken: m[1]})
	if err != nil {
		s.t.Fatal(err)
	}
	return reg
}

func TestWallet_BalanceHistoryFeePreviewAndTransfer(t *testing.T) {
	s := newFundedSite(t)
	b := s.newUser("ada@example.com")
	b.get("/portal/wallet").want(t, 200, "No registered agents yet")
	payer := s.registerAgent(b, "payer")
	payee := s.registerAgent(b, "payee")
	from, to := payer.Identity.ID, payee.Identity.ID

	b.get("/portal/wallet?agent="+from).want(t, 200, "100 AVT", "grant", "Send AVT", "oauth_client_secret")
	send := func(action, amount, secret, dest string) url.Values {
		return url.Values{"from": {from}, "to": {dest}, "amount": {amount}, "message": {"for the answers"}, "client_secret": {secret},
			"action": {action}, "idem": {"k-" + action + amount + dest[len(dest)-6:] + secret[max(len(secret)-6, 0):]}}
	}
	b.post("/portal/wallet/transfer", send("preview", "10", "", to)).
		want(t, 200, "Fee:", `id="fee-chart-title"`, "How the fee splits", "treasury", `value="10"`)
	b.post("/portal/wallet/transfer", send("preview", "ten", "", to)).want(t, 422, `id="amount-err"><span class="field-error"`)
	b.post("/portal/wallet/transfer", send("send", "10", "", to)).want(t, 422, `id="client_secret-err"><span class="field-error"`)
	b.post("/portal/wallet/transfer", send("send", "10", payee.ClientSecret, to)).want(t, 401, `id="client_secret-err"><span class="field-error"`)
	b.post("/portal/wallet/transfer", send("send", "10", "avcs_"+strings.Repeat("x", 43), to)).want(t, 401, `id="client_secret-err"><span class="field-error"`)
	b.post("/portal/wallet/transfer", send("send", "10", payer.ClientSecret, "sys:treasury")).want(t, 422, `id="to-err"><span class="field-error"`)
	b.post("/portal/wallet/transfer", send("send", "1000", payer.ClientSecret, to)).want(t, 403, `id="amount-err"><span class="field-error"`, "per-transfer limit")
	ok := b.post("/portal/wallet/transfer", send("send", "10", payer.ClientSecret, to)).want(t, 201, "Sent 10 AVT to "+to, "for the answers")
	if strings.Contains(ok.Body, payer.ClientSecret) {
		t.Fatal("the page shows the client secret")
	}
	// Sending the same form twice pays once.
	b.post("/portal/wallet/transfer", send("send", "10", payer.ClientSecret, to)).want(t, 201)
	hist := b.get("/portal/wallet?agent="+from).want(t, 200, "for the answers", `id="counterparty-graph-title"`, "counterparties")
	if n := strings.Count(hist.Body, "for the answers</td>"); n != 1 {
		t.Fatalf("%d transfers in the history, want 1:\n%s", n, hist.Body)
	}
	b.get("/portal/wallet?agent="+to).want(t, 200, "&#43;10", "110 AVT")
	b.get("/portal/").want(t, 200, "Recent activity", "&#43;10")
	// The agent's own page: wallet, versions, signature state.
	b.get("/portal/agents/"+from).want(t, 200, "Wallet", "Latest ledger events", "Versions", "The card is not signed", `id="balance-chart-title"`)

	// Another developer sees none of it.
	bob := s.newUser("bob@example.com")
	p := bob.get("/portal/wallet?agent=" + from)
	if p.Status != http.StatusNotFound || strings.Contains(p.Body, "for the answers") || !strings.Contains(p.Body, `class="error"`) {
		t.Fatalf("another developer's wallet:\n%s", p.Body)
	}
	bob.post("/portal/wallet/transfer", send("send", "1", payer.ClientSecret, to)).want(t, 404, `class="error"`)
}

func TestWallet_HistoryPages(t *testing.T) {
	s := newFundedSite(t)
	b := s.newUser("ada@example.com")
	payer := s.registerAgent(b, "payer")
	payee := s.registerAgent(b, "payee")
	for i := range 21 {
		b.get("/portal/wallet")
		b.post("/portal/wallet/transfer", url.Values{"from": {payer.Identity.ID}, "to": {payee.Identity.ID}, "amount": {"0.1"},
			"client_secret": {payer.ClientSecret}, "action": {"send"}, "idem": {"page-" + string(rune('a'+i))}}).want(t, 201)
	}
	first := b.get("/portal/wallet?agent="+payer.Identity.ID).want(t, 200, "Older events")
	m := regexp.MustCompile(`href="(/portal/wallet\?agent=[^"]+&amp;before=\d+)"`).FindStringSubmatch(first.Body)
	if m == nil {
		t.Fatalf("no link to older events:\n%s", first.Body)
	}
	older := b.get(strings.ReplaceAll(m[1], "&amp;", "&")).want(t, 200, "grant")
	if strings.Contains(older.Body, "Older events") {
		t.Fatal("the second page links to a third")
	}
}

func TestDiscover_SearchFiltersCardsAndDocument(t *testing.T) {
	s := newSite(t)
	b := s.newUser("ada@example.com")
	b.get("/portal/agents/new")
	f := cardForm("Polyglot")
	f.Set("description", `Translates documents. <a href="javascript:alert(1)">click</a>`)
	b.post("/portal/agents/new", f)
	b.post("/portal/agents/new", cardForm("<script>alert(1)</script>"))
	p := b.get("/portal/discover?q=translate").want(t, 200, "Polyglot", `role="search"`)
	if strings.Contains(p.Body, `<a href="javascript:`) || strings.Contains(p.Body, "<script>") {
		t.Fatalf("card content rendered as markup:\n%s", p.Body)
	}
	id := regexp.MustCompile(`href="/portal/discover/(agt_[^"]+)">Polyglot<`).FindStringSubmatch(p.Body)[1]
	doc := b.get("/portal/discover/"+id).want(t, 200, "The card document", "Translates documents", "urn:air:registry.test:agent:", "Translate")
	if strings.Contains(doc.Body, `<a href="javascript:`) {
		t.Fatal("the card document rendered a javascript: link")
	}
	b.get("/portal/discover?tag=translation").want(t, 200, "Polyglot")
	b.get("/portal/discover?tag=nothing-has-this").want(t, 200, "No agent matches")
	b.get("/portal/discover?q=alert").want(t, 200, "&lt;script&gt;alert(1)&lt;/script&gt;")
	b.get("/portal/discover?status=exploded").want(t, 422, `id="status-err"><span class="field-error"`)
	b.get("/portal/discover?min_reputation=lots").want(t, 422, `id="min_reputation-err"><span class="field-error"`)
	b.get("/portal/discover?tier=Nonesuch").want(t, 422, `id="tier-err"><span class="field-error"`)
	b.get("/portal/discover/agt_nonexistent").want(t, 404)
}

func TestTemplates_RenderPublishAndDownloadAProject(t *testing.T) {
	s := newSite(t)
	b := s.newUser("ada@example.com")
	list := b.get("/portal/templates").want(t, 200, `href="/portal/templates/`)
	name := regexp.MustCompile(`href="/portal/templates/([a-z0-9-]+)"`).FindStringSubmatch(list.Body)[1]
	page := b.get("/portal/templates/"+name).want(t, 200, "Render the card")
	inputs := regexp.MustCompile(`<input id="(p_[a-z0-9_]+)" name="[^"]+" value="([^"]*)"`).FindAllStringSubmatch(page.Body, -1)
	form := url.Values{}
	for _, in := range inputs {
		form.Set(in[1], in[2])
	}
	if form.Get("p_name") != "" || strings.Contains(page.Body, `for="p_name"`) {
		form.Set("p_name", "Portal Agent")
	}
	form.Set("action", "render")
	b.post("/portal/templates/"+name, form).want(t, 200, "Rendered", "The card", "sovereign agent new --template "+name)
	zipForm := url.Values{}
	for k, v := range form {
		zipForm[k] = v
	}
	zipForm.Set("action", "project")
	zipForm.Set("csrf", b.csrf)
	req, _ := http.NewRequest(http.MethodPost, b.base+"/portal/templates/"+name, strings.NewReader(zipForm.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("project: %d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), buf.String())
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range zr.File {
		files = append(files, f.Name)
	}
	if !strings.Contains(strings.Join(files, " "), "my-agent/agent-card.json") {
		t.Fatalf("project files %v", files)
	}
	form.Set("action", "publish")
	if p := b.post("/portal/templates/"+name, form); p.Status != http.StatusSeeOther {
		t.Fatalf("publish: %d\n%s", p.Status, p.Body)
	}
	b.get("/portal/templates/no-such-template").want(t, 404)
}

func TestTemplates_ABadValueIsShownNextToItsField(t *testing.T) {
	s := newSite(t)
	b := s.newUser("ada@example.com")
	page := b.get("/portal/templates").want(t, 200)
	for _, m := range regexp.MustCompile(`href="/portal/templates/([a-z0-9-]+)"`).FindAllStringSubmatch(page.Body, -1) {
		tp := b.get("/portal/templates/" + m[1])
		if !strings.Contains(tp.Body, `id="p_name"`) {
			continue
		}
		form := url.Values{"p_name": {""}, "action": {"render"}}
		if strings.Contains(tp.Body, `id="p_url"`) {
			form.Set("p_name", "X")
			form.Set("p_url", "not a url")
			b.post("/portal/templates/"+m[1], form).want(t, 422, `id="p_url-err"><span class="field-error"`)
			return
		}
	}
	t.Skip("no built-in template with name and url parameters")
}

func TestLogIn_TooManyAttemptsPointsAtRecovery(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	s.signUp(b, "ada@example.com")
	b.get("/portal/login")
	var p page
	for range 8 {
		p = b.post("/portal/login", url.Values{"email": {"ada@example.com"}, "password": {"not the password at all"}})
		if p.Status == http.StatusTooManyRequests {
			break
		}
	}
	p.want(t, 429, "on the Recover page", `href="/portal/recover"`)
}
