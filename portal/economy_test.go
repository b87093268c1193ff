package portal_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/registry"
)

// api calls the stack's API with the admin key (or bearer when set), failing the test unless
// the answer is want.
func (s *site) api(method, path, bearer string, body any, want int) map[string]any {
	s.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if bearer == "" {
		bearer = s.app.AdminKey
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %v", method, path, res.StatusCode, want, out)
	}
	return out
}

// newAdmin is a signed-in developer an operator made an admin.
func (s *site) newAdmin(email string) *browser {
	s.t.Helper()
	b := s.newUser(email)
	if _, err := s.app.Accounts().SetRoleDirect(context.Background(), email, registry.RoleAdmin); err != nil {
		s.t.Fatal(err)
	}
	b.get("/portal/admin").want(s.t, 200, "Developers")
	return b
}

// registerAgent registers an agent of b's developer through the bootstrap protocol (the
// treasury is funded first so the starting grant is paid) and returns its id.
func (s *site) registerAgent(b *browser, name string) string {
	s.t.Helper()
	s.api("POST", "/api/v1/token/mint", "", map[string]string{"amount": "1000"}, 201)
	b.get("/portal/tokens")
	m := tokenSecretRE.FindStringSubmatch(b.post("/portal/tokens", nil).want(s.t, 201).Body)
	token := m[1]
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	card := map[string]any{"name": name, "description": "An agent of the tests", "version": "1.0.0",
		"supportedInterfaces": []map[string]any{{"url": "https://agents.example.com/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
		"capabilities":        map[string]any{}, "defaultInputModes": []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
		"skills": []map[string]any{{"id": "main", "name": "Main", "description": "Main skill", "tags": []string{"test"}}}}
	body := map[string]any{"card": card, "public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)},
		"proof": base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(token)))}
	bj, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.srv.URL+"/api/v1/onboard/register", bytes.NewReader(bj))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Bootstrap-Token", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != 201 {
		s.t.Fatalf("register: %d %v", res.StatusCode, out)
	}
	return out["agent_id"].(string)
}

var commandRE = regexp.MustCompile(`id="agent-command" readonly value="([^"]+)"`)

// command is the CLI command a page shows for an action only the agent may take.
func command(t *testing.T, p page) string {
	t.Helper()
	m := commandRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no command shown:\n%s", p.Body)
	}
	return strings.ReplaceAll(m[1], "&#39;", "'")
}

func TestEconomy_PagesNeedASession(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	for _, path := range []string{"/portal/staking", "/portal/reputation", "/portal/disputes", "/portal/disputes/dsp_x", "/portal/governance",
		"/portal/governance/1", "/portal/federation", "/portal/admin", "/portal/admin/treasury", "/portal/admin/params",
		"/portal/admin/decisions", "/portal/admin/flags"} {
		p := b.get(path)
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/portal/login?next=") {
			t.Errorf("GET %s: %d %q", path, p.Status, p.Header.Get("Location"))
		}
	}
}

// newForms are every form this part of the portal adds.
var newForms = []string{"/portal/staking", "/portal/disputes", "/portal/disputes/dsp_x/vote", "/portal/governance", "/portal/governance/1/vote",
	"/portal/federation", "/portal/federation/fpr_x", "/portal/admin/agents", "/portal/admin/treasury", "/portal/admin/params", "/portal/admin/flags/flg_x"}

func TestEconomy_FormsWithoutTheCSRFTokenAreRefused(t *testing.T) {
	s := newSite(t)
	b := s.newAdmin("root@example.com")
	for _, path := range newForms {
		b.post(path, url.Values{"csrf": {""}, "amount": {"10"}, "op": {"mint"}}).want(t, 403, "Form refused")
		b.post(path, url.Values{"csrf": {"forged-token-forged-token"}, "amount": {"10"}, "op": {"mint"}}).want(t, 403, "Form refused")
	}
	// Nothing was minted.
	b.get("/portal/admin/treasury").want(t, 200, "Treasury: <strong>0 AVT</strong>")
	anon := s.browser()
	for _, path := range newForms {
		anon.post(path, url.Values{"csrf": {"x"}}).want(t, 401, "not signed in")
	}
}
