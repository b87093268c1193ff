package portal_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/registry"
)

func TestAdmin_PagesRefuseDevelopersInWords(t *testing.T) {
	s := newSite(t)
	b := s.newUser("ada@example.com")
	if strings.Contains(b.get("/portal/").Body, `href="/portal/admin"`) {
		t.Error("a developer's menu links the admin pages")
	}
	for _, path := range []string{"/portal/admin", "/portal/admin/treasury", "/portal/admin/params", "/portal/admin/decisions", "/portal/admin/flags"} {
		b.get(path).want(t, 403, "Administrators only", "your account is not one", "make-admin")
	}
	b.get("/portal/")
	b.post("/portal/admin/treasury", url.Values{"op": {"mint"}, "amount": {"5"}}).want(t, 403, "Administrators only")
	b.post("/portal/admin/agents", url.Values{"agent": {"agt_x"}, "status": {"suspended"}}).want(t, 403, "Administrators only")
	b.post("/portal/admin/params", url.Values{"changes": {"fee.rate_bps = 5"}, "base_version": {"1"}}).want(t, 403, "Administrators only")
	b.post("/portal/admin/flags/flg_x", url.Values{"action": {"confirm"}}).want(t, 403, "Administrators only")
}

func TestAdmin_DevelopersAndAgentStatus(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	agent := s.registerFundedAgent(ada, "Ada's agent")
	root := s.newAdmin("root@example.com")
	root.get("/portal/").want(t, 200, `href="/portal/admin"`)
	root.get("/portal/admin").want(t, 200, "ada@example.com", "root@example.com", "<td>admin</td>")
	root.post("/portal/admin/agents", url.Values{"agent": {agent}, "status": {"suspended"}}).want(t, 200, "is now suspended")
	ada.get("/portal/agents").want(t, 200, "suspended")
	root.post("/portal/admin/agents", url.Values{"agent": {agent}, "status": {"active"}}).want(t, 200, "is now active")
	root.post("/portal/admin/agents", url.Values{"agent": {""}, "status": {"suspended"}}).want(t, 422, `id="agent-err"><span class="field-error"`)
	root.post("/portal/admin/agents", url.Values{"agent": {"agt_nonexistent"}, "status": {"suspended"}}).want(t, 404, `id="agent-err"><span class="field-error"`)
	root.post("/portal/admin/agents", url.Values{"agent": {agent}, "status": {"exploded"}}).want(t, 422, `id="status-err"><span class="field-error"`)
	root.post("/portal/admin/agents", url.Values{"agent": {agent}, "status": {"revoked"}}).want(t, 200, "is now revoked")
	root.post("/portal/admin/agents", url.Values{"agent": {agent}, "status": {"active"}}).want(t, 409, "stays revoked")
}

var idemRE = regexp.MustCompile(`name="idem" value="([^"]+)"`)

func TestAdmin_MintAndGrant(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	agent := s.registerFundedAgent(ada, "Ada's agent") // mints 1000 with the admin key; 100 granted
	root := s.newAdmin("root@example.com")
	p := root.get("/portal/admin/treasury").want(t, 200, "Treasury: <strong>900 AVT</strong>")
	idem := idemRE.FindStringSubmatch(p.Body)[1]
	form := url.Values{"op": {"mint"}, "amount": {"250.5"}, "message": {"grants budget"}, "idem": {idem}}
	root.post("/portal/admin/treasury", form).want(t, 200, "Minted 250.5 AVT into the treasury", "1150.5 AVT")
	// The same page sent twice mints once.
	root.post("/portal/admin/treasury", form).want(t, 200, "already sent", "1150.5 AVT")
	root.post("/portal/admin/treasury", url.Values{"op": {"mint"}, "amount": {"-3"}}).want(t, 422, `id="mint_amount-err"><span class="field-error"`, `value="-3"`)
	root.post("/portal/admin/treasury", url.Values{"op": {"mint"}, "amount": {"1e3"}}).want(t, 422, `id="mint_amount-err"><span class="field-error"`)
	root.post("/portal/admin/treasury", url.Values{"op": {"grant"}, "to": {agent}, "amount": {"50"}, "idem": {"g1"}}).want(t, 200, "Granted 50 AVT to "+agent)
	root.post("/portal/admin/treasury", url.Values{"op": {"grant"}, "amount": {"5"}}).want(t, 422, `id="to-err"><span class="field-error"`)
	p = root.post("/portal/admin/treasury", url.Values{"op": {"grant"}, "to": {agent}, "amount": {"1000000"}})
	if p.Status != 422 || !strings.Contains(p.Body, `class="field-error"`) && !strings.Contains(p.Body, `class="error"`) {
		t.Fatalf("grant beyond the treasury: %d\n%s", p.Status, p.Body)
	}
	root.post("/portal/admin/treasury", url.Values{"op": {"burn"}, "amount": {"5"}}).want(t, 422)
	if strings.Contains(p.Body, "{&#34;error") || strings.Contains(p.Body, `{"error"`) {
		t.Error("a raw error envelope on the page")
	}
}

func TestAdmin_Parameters(t *testing.T) {
	s := newSite(t)
	root := s.newAdmin("root@example.com")
	root.get("/portal/admin/params").want(t, 200, "Version <strong>1</strong> is in force", "rate_bps", `name="base_version" value="1"`)
	root.post("/portal/admin/params", url.Values{"changes": {"fee.rate_bps = 5"}, "message": {"halve the fee"}, "base_version": {"1"}}).
		want(t, 200, "version 2 is in force", "Version <strong>2</strong>", "halve the fee")
	// A change made from the page of version 1 after version 2 is a conflict, told in words.
	p := root.post("/portal/admin/params", url.Values{"changes": {"fee.rate_bps = 7"}, "base_version": {"1"}})
	if p.Status != 409 || !strings.Contains(p.Body, `class="error"`) && !strings.Contains(p.Body, "field-error") {
		t.Fatalf("stale change: %d\n%s", p.Status, p.Body)
	}
	root.post("/portal/admin/params", url.Values{"changes": {"no equals sign"}, "base_version": {"2"}}).want(t, 422, `id="changes-err"><span class="field-error"`, "no equals sign")
	root.post("/portal/admin/params", url.Values{"changes": {""}, "base_version": {"2"}}).want(t, 422, `id="changes-err"><span class="field-error"`)
	root.post("/portal/admin/params", url.Values{"changes": {"nonsense.key = 5"}, "base_version": {"2"}}).want(t, 422, `id="changes-err"><span class="field-error"`)
	root.post("/portal/admin/params", url.Values{"changes": {"fee.rate_bps = -4"}, "base_version": {"2"}}).want(t, 422, `class="field-error"`)
}

var decisionRE = regexp.MustCompile(`decision (\S+?)\)`)

func TestAdmin_DecisionLogSearch(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "decisions.jsonl")
	s := newSiteWith(t, nil, func(c *config.Config) { c.DecisionLog = logFile })
	ada := s.newUser("ada@example.com")
	refusal := ada.get("/portal/admin").want(t, 403, "Administrators only")
	m := decisionRE.FindStringSubmatch(refusal.Body)
	if m == nil {
		t.Fatalf("the refusal names no decision:\n%s", refusal.Body)
	}
	ada.get("/portal/admin/decisions?id="+m[1]).want(t, 403, "Administrators only")
	root := s.newAdmin("root@example.com")
	root.get("/portal/admin/decisions").want(t, 200, `<label for="id">`)
	var found page
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		found = root.get("/portal/admin/decisions?id=" + url.QueryEscape(m[1]))
		if found.Status == 200 || time.Now().After(deadline) {
			break
		}
	}
	found.want(t, 200, "&#34;decision_id&#34;: &#34;"+m[1], "developer.list", "&#34;allow&#34;: false", "REDACTED")
	root.get("/portal/admin/decisions?id=nonexistent").want(t, 404, `id="id-err"><span class="field-error"`)
	root.get("/portal/admin/decisions?id="+strings.Repeat("x", 300)).want(t, 404, `id="id-err"><span class="field-error"`)
	if b, _ := os.ReadFile(logFile); len(b) == 0 {
		t.Fatal("empty decision log")
	}

	// A registry without a decision log file says how to keep one.
	plain := newSite(t)
	plain.newAdmin("root@example.com").get("/portal/admin/decisions?id=x").want(t, 200, "keeps no decision log", "--decision-log")
}

var flagRE = regexp.MustCompile(`action="/portal/admin/flags/([^"]+)"`)

// ringFlag makes agents send value around a circle and waits for the auditor's flag.
func ringFlag(t *testing.T, s *site, ring ...string) {
	t.Helper()
	s.api("POST", "/api/v1/token/mint", "", map[string]string{"amount": "1000"}, 201)
	iss := s.app.Issuer()
	aud, _ := identity.TEGID(iss.TrustDomain())
	for _, a := range ring {
		s.api("POST", "/api/v1/admin/teg/accounts", "", map[string]string{"agent_id": a}, 201)
		s.api("POST", "/api/v1/token/grant", "", map[string]string{"to": a, "amount": "100"}, 201)
	}
	for i, a := range ring {
		id, _ := identity.AgentID(iss.TrustDomain(), a)
		tok, err := iss.MintJWTSVID(context.Background(), id, []string{aud.String()}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		s.api("POST", "/api/v1/token/transfer", tok, map[string]string{"to": ring[(i+1)%len(ring)], "amount": []string{"10", "9", "8"}[i]}, 201)
	}
}

func TestAdmin_AuditorFlags(t *testing.T) {
	s := newSite(t)
	root := s.newAdmin("root@example.com")
	root.get("/portal/admin/flags").want(t, 200, "No flags")
	ringFlag(t, s, "agt_a", "agt_b", "agt_c")
	var p page
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p = root.get("/portal/admin/flags?status=NEW")
		if flagRE.MatchString(p.Body) || time.Now().After(deadline) {
			break
		}
	}
	p.want(t, 200, "CIRCULAR_FLOW")
	id := flagRE.FindStringSubmatch(p.Body)[1]
	root.post("/portal/admin/flags/"+id, url.Values{"action": {"acknowledge"}, "note": {"looking"}}).want(t, 200, "is now acknowledged")
	root.post("/portal/admin/flags/"+id, url.Values{"action": {"explode"}}).want(t, 422, `class="error"`)
	root.post("/portal/admin/flags/"+id, url.Values{"action": {"confirm"}, "note": {"wash trading"}}).want(t, 200, "is now resolved", "(confirmed)")
	root.post("/portal/admin/flags/"+id, url.Values{"action": {"dismiss"}}).want(t, 409, `class="error"`)
	root.post("/portal/admin/flags/flg_nonexistent", url.Values{"action": {"confirm"}}).want(t, 404, `class="error"`)
	root.get("/portal/admin/flags?status=RESOLVED").want(t, 200, id)

	// Escalation to a suspension freezes the subject's wallet and marks the flag escalated.
	ringFlag(t, s, "agt_d", "agt_e", "agt_f")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p = root.get("/portal/admin/flags?status=NEW")
		if flagRE.MatchString(p.Body) || time.Now().After(deadline) {
			break
		}
	}
	id = flagRE.FindStringSubmatch(p.Body)[1]
	root.post("/portal/admin/flags/"+id, url.Values{"action": {"suspend"}, "note": {"ring"}}).want(t, 200, "is now escalated", "→ suspension")
}

func TestAdmin_RoleTakenAwayEndsAdminPagesAtOnce(t *testing.T) {
	s := newSite(t)
	root := s.newAdmin("root@example.com")
	if _, err := s.app.Accounts().SetRoleDirect(context.Background(), "root@example.com", registry.RoleDeveloper); err != nil {
		t.Fatal(err)
	}
	root.get("/portal/admin").want(t, 403, "Administrators only")
	if _, err := s.app.Accounts().SetRoleDirect(context.Background(), "root@example.com", "owner"); err == nil {
		t.Fatal("an unknown role was given")
	}
}

func TestAdmin_SuspendAndReactivateADeveloper(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	root := s.newAdmin("root@example.com")
	list := root.get("/portal/admin").want(t, 200, `aria-label="Suspend ada@example.com"`)
	id := regexp.MustCompile(`action="/portal/admin/developers/([^"]+)">[^\n]*\n[^\n]*\n<button type="submit" aria-label="Suspend ada@example.com"`).FindStringSubmatch(list.Body)[1]
	if strings.Contains(list.Body, `aria-label="Suspend root@example.com"`) {
		t.Error("an admin is offered to suspend their own account")
	}
	// Ada's API key, to see it refused while she is suspended.
	ada.get("/portal/keys")
	key := keySecretRE.FindStringSubmatch(ada.post("/portal/keys", url.Values{"name": {"ci"}, "scope": {"read"}}).want(t, 201).Body)[1]
	root.get("/portal/admin")
	root.post("/portal/admin/developers/ada-not-an-id", url.Values{"action": {"suspend"}}).want(t, 404, `class="error"`)
	root.post("/portal/admin/developers/"+id, url.Values{"action": {"explode"}}).want(t, 422, `class="error"`)
	root.post("/portal/admin/developers/"+id, url.Values{"action": {"suspend"}}).want(t, 200, "ada@example.com is suspended", "Reactivate ada@example.com")
	if p := ada.get("/portal/agents"); p.Status != 303 {
		t.Fatalf("a suspended developer's session still works: %d", p.Status)
	}
	s.api("GET", "/api/v1/developers/me", key, nil, 403)
	relogin := s.browser()
	relogin.get("/portal/login")
	relogin.post("/portal/login", url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}}).want(t, 403, "suspended")
	root.post("/portal/admin/developers/"+id, url.Values{"action": {"reactivate"}}).want(t, 200, "ada@example.com is reactivated")
	s.api("GET", "/api/v1/developers/me", key, nil, 200)
	s.logIn(relogin, "ada@example.com")
	// Not on oneself, and not for developers.
	self := regexp.MustCompile(`<td>root@example.com</td><td>admin</td><td>yes</td><td>[^<]*</td><td><code>([^<]+)</code>`).FindStringSubmatch(root.get("/portal/admin").Body)
	if self == nil {
		t.Fatal("root's row not found")
	}
	root.post("/portal/admin/developers/"+self[1], url.Values{"action": {"suspend"}}).want(t, 409, "cannot suspend your own account")
	relogin.post("/portal/admin/developers/"+id, url.Values{"action": {"suspend"}}).want(t, 403, "Administrators only")
}
