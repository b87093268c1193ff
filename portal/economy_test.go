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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/teg"
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

// registerFundedAgent registers an agent of b's developer through the bootstrap protocol (the
// treasury is funded first so the starting grant is paid) and returns its id.
func (s *site) registerFundedAgent(b *browser, name string) string {
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

func TestStaking_ShowsTheStakeAndTheCommandForTheAgent(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	agent := s.registerFundedAgent(ada, "Ada's agent")
	ada.get("/portal/staking").want(t, 200, "Stake of "+agent, "No stake yet", `<label for="amount">`)
	ada.get("/portal/staking?agent="+agent).want(t, 200, "Stake of "+agent)
	// The ledger takes staking from the agent itself: the page says so and gives the command.
	p := ada.post("/portal/staking", url.Values{"agent": {agent}, "action": {"stake"}, "amount": {"10"}}).want(t, 403, "cannot do this for your agent")
	if got, want := command(t, p), "sovereign stake deposit --amount 10 --as "+agent+" --registry http://registry.test"; got != want {
		t.Errorf("command %q, want %q", got, want)
	}
	p = ada.post("/portal/staking", url.Values{"agent": {agent}, "action": {"delegate"}, "amount": {"12.5"}, "validator": {"agt_val"}}).want(t, 403)
	if got := command(t, p); !strings.Contains(got, "stake delegate --amount 12.5 --validator agt_val --as "+agent) {
		t.Errorf("command %q", got)
	}
	ada.post("/portal/staking", url.Values{"agent": {agent}, "action": {"stake"}, "amount": {"ten"}}).want(t, 422, `id="amount-err"><span class="field-error"`, `value="ten"`)
	ada.post("/portal/staking", url.Values{"agent": {agent}, "action": {"undelegate"}, "amount": {"1"}}).want(t, 422, `id="validator-err"><span class="field-error"`)
	ada.post("/portal/staking", url.Values{"agent": {agent}, "action": {"explode"}, "amount": {"1"}}).want(t, 422, `id="action-err"><span class="field-error"`)

	// Another developer's agent is not found, to read or to act on.
	bob := s.newUser("bob@example.com")
	bob.get("/portal/staking?agent="+agent).want(t, 404, "No agent with this id")
	bob.post("/portal/staking", url.Values{"agent": {agent}, "action": {"stake"}, "amount": {"10"}}).want(t, 404, "No agent with this id")

	// An admin acts for any agent, as the API lets admins: the stake is made.
	root := s.newAdmin("root@example.com")
	root.get("/portal/staking?agent=" + agent)
	root.post("/portal/staking", url.Values{"agent": {agent}, "action": {"stake"}, "amount": {"10"}}).want(t, 200, "Done: stake 10 AVT", "<td>10 AVT</td>")
	root.post("/portal/staking", url.Values{"agent": {agent}, "action": {"stake"}, "amount": {"100000"}}).want(t, 422, `class="field-error"`)
	ada.get("/portal/staking?agent="+agent).want(t, 200, "<th scope=\"row\">Staked</th><td>10 AVT</td>")
}

func TestReputation_ChartWithATextAlternative(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	agent := s.registerFundedAgent(ada, "Ada's agent")
	p := ada.get("/portal/reputation").want(t, 200, "of 1000", "tier <strong>", `<figure class="chart">`, `role="img"`,
		`<title id="factor-chart-title">Reputation factors</title>`, `aria-label="Reputation factors"`, "transitive_trust")
	if strings.Contains(p.Body, "style=") || strings.Contains(p.Body, "<script") {
		t.Error("the chart carries inline style or script")
	}
	ada.get("/portal/reputation?agent="+agent).want(t, 200, "of 1000")
	ada.get("/portal/reputation?agent=agt_nonexistent").want(t, 404, `class="error"`)
}

func TestDisputes_ListFileAndFailures(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	agent := s.registerFundedAgent(ada, "Ada's agent")
	other := s.registerFundedAgent(s.newUser("bob@example.com"), "Bob's agent")
	ada.get("/portal/disputes").want(t, 200, "No disputes.", `<label for="claim">`)
	p := ada.post("/portal/disputes", url.Values{"agent": {agent}, "against": {other}, "category": {"failed_service"}, "claim": {"it did not answer"}}).
		want(t, 403, "cannot do this for your agent", "dispute.file")
	if got, want := command(t, p), "sovereign dispute file --against "+other+" --category failed_service --claim 'it did not answer' --as "+agent+" --registry http://registry.test"; got != want {
		t.Errorf("command %q, want %q", got, want)
	}
	ada.post("/portal/disputes", url.Values{"agent": {agent}, "category": {"other"}, "claim": {"x"}}).want(t, 422, `id="against-err"><span class="field-error"`)
	ada.post("/portal/disputes", url.Values{"agent": {agent}, "against": {other}, "category": {"vibes"}, "claim": {"x"}}).want(t, 422, `id="category-err"><span class="field-error"`)
	ada.post("/portal/disputes", url.Values{"agent": {agent}, "against": {other}, "category": {"other"}, "claim": {" "}}).want(t, 422, `id="claim-err"><span class="field-error"`)
	ada.post("/portal/disputes", url.Values{"agent": {other}, "against": {agent}, "category": {"other"}, "claim": {"x"}}).want(t, 404, `id="agent-err"><span class="field-error"`)
	ada.get("/portal/disputes/dsp_nonexistent").want(t, 404, "No such dispute")
	ada.post("/portal/disputes/dsp_nonexistent/vote", url.Values{"agent": {agent}, "vote": {"filer"}, "step": {"commit"}}).want(t, 404)
}

func TestGovernance_ListProposeVoteAndFailures(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	agent := s.registerFundedAgent(ada, "Ada's agent")
	ada.get("/portal/governance").want(t, 200, "No proposals.", `<label for="changes">`)
	p := ada.post("/portal/governance", url.Values{"agent": {agent}, "kind": {"param_change"}, "title": {"halve the fee"}, "changes": {"fee.rate_bps = 5"}}).
		want(t, 403, "cannot do this for your agent", "governance.propose")
	if got := command(t, p); got != "sovereign govern create-proposal --kind param_change --title 'halve the fee' --change fee.rate_bps=5 --as "+agent+" --registry http://registry.test" {
		t.Errorf("command %q", got)
	}
	p = ada.post("/portal/governance", url.Values{"agent": {agent}, "kind": {"mint"}, "title": {"budget"}, "amount": {"500"}, "reason": {"grants"}}).want(t, 403)
	if got := command(t, p); !strings.Contains(got, "--kind mint --title budget --amount 500 --reason grants") {
		t.Errorf("command %q", got)
	}
	ada.post("/portal/governance", url.Values{"agent": {agent}, "kind": {"param_change"}, "title": {"t"}, "changes": {"oops"}}).want(t, 422, `id="changes-err"><span class="field-error"`)
	ada.post("/portal/governance", url.Values{"agent": {agent}, "kind": {"mint"}, "title": {"t"}, "amount": {"lots"}}).want(t, 422, `id="amount-err"><span class="field-error"`)
	ada.post("/portal/governance", url.Values{"agent": {agent}, "kind": {"policy_module"}, "title": {"t"}}).want(t, 422, `id="kind-err"><span class="field-error"`)
	ada.post("/portal/governance", url.Values{"agent": {"agt_nonexistent"}, "kind": {"mint"}, "title": {"t"}, "amount": {"1"}}).want(t, 404, `id="agent-err"><span class="field-error"`)
	ada.get("/portal/governance/42").want(t, 404, `class="error"`)
	ada.get("/portal/governance/abc").want(t, 404, "No proposal with this number")
	ada.post("/portal/governance/42/vote", url.Values{"agent": {agent}, "option": {"yes"}}).want(t, 404)
}

var peerActionRE = regexp.MustCompile(`action="/portal/federation/(fpr_[^"]+)"`)

func TestFederation_ProposeListAndDecide(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	ada.get("/portal/federation").want(t, 200, "No peer registries yet", `<label for="trust_domain">`)
	peer := url.Values{"name": {"East"}, "base_url": {"https://east.example.com"}, "trust_domain": {"east.test"},
		"bundle_endpoint": {"https://east.example.com/.well-known/spiffe-bundle"}}
	p := ada.post("/portal/federation", peer).want(t, 201, "proposed", "PENDING_APPROVAL")
	if peerActionRE.MatchString(p.Body) {
		t.Error("a developer is shown the admin's decision form")
	}
	bad := url.Values{"name": {"West"}, "base_url": {"https://west.example.com"}, "trust_domain": {"not a domain!"},
		"bundle_endpoint": {"https://west.example.com/.well-known/spiffe-bundle"}}
	ada.post("/portal/federation", bad).want(t, 422, `id="trust_domain-err"><span class="field-error"`, `value="West"`)
	root := s.newAdmin("root@example.com")
	list := root.get("/portal/federation").want(t, 200, "East")
	id := peerActionRE.FindStringSubmatch(list.Body)[1]
	ada.post("/portal/federation/"+id, url.Values{"action": {"approve"}}).want(t, 403, `class="error"`)
	root.post("/portal/federation/"+id, url.Values{"action": {"reactivate"}}).want(t, 409, `class="error"`)
	root.post("/portal/federation/"+id, url.Values{"action": {"approve"}, "reason": {"known operator"}}).want(t, 200, "is now active", "known operator", "breaker")
	root.post("/portal/federation/"+id, url.Values{"action": {"deactivate"}}).want(t, 200, "is now inactive")
	root.post("/portal/federation/fpr_nonexistent", url.Values{"action": {"approve"}}).want(t, 404)
}

var (
	controlRE = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idAttrRE  = regexp.MustCompile(`\bid="([^"]+)"`)
)

// TestEconomy_EveryPageIsWholeAndLabelled: each new page renders to its end, each of its
// controls has a label, and each picture a text alternative.
func TestEconomy_EveryPageIsWholeAndLabelled(t *testing.T) {
	s := newSite(t)
	root := s.newAdmin("root@example.com")
	agent := s.registerFundedAgent(root, "Root's agent")
	for _, path := range []string{"/portal/staking?agent=" + agent, "/portal/reputation?agent=" + agent, "/portal/disputes", "/portal/governance",
		"/portal/federation", "/portal/admin", "/portal/admin/treasury", "/portal/admin/params", "/portal/admin/decisions", "/portal/admin/flags"} {
		p := root.get(path).want(t, 200)
		if !strings.HasSuffix(strings.TrimSpace(p.Body), "</html>") {
			t.Errorf("%s is cut short:\n%s", path, p.Body)
		}
		for _, c := range controlRE.FindAllString(p.Body, -1) {
			if strings.Contains(c, `type="hidden"`) {
				continue
			}
			id := idAttrRE.FindStringSubmatch(c)
			if id == nil || !strings.Contains(p.Body, `<label for="`+id[1]+`"`) {
				t.Errorf("%s: a control without a label: %s", path, c)
			}
		}
		if strings.Contains(p.Body, "<svg") && (!strings.Contains(p.Body, `role="img"`) || !strings.Contains(p.Body, "<title")) {
			t.Errorf("%s: a picture without a text alternative", path)
		}
	}
}

// agentToken is a JWT-SVID of agent for the ledger, minted by the stack's issuer.
func (s *site) agentToken(agent string) string {
	s.t.Helper()
	iss := s.app.Issuer()
	aud, _ := identity.TEGID(iss.TrustDomain())
	id, _ := identity.AgentID(iss.TrustDomain(), agent)
	tok, err := iss.MintJWTSVID(context.Background(), id, []string{aud.String()}, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func TestDisputes_AFiledDisputeWithItsTimeline(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	filer := s.registerFundedAgent(ada, "Ada's agent")
	respondent := s.registerFundedAgent(s.newUser("bob@example.com"), "Bob's agent")
	d := s.api("POST", "/api/v1/disputes", s.agentToken(filer), map[string]string{"respondent": respondent, "category": "failed_service", "claim": "<b>never answered</b>"}, 201)
	id := d["id"].(string)
	list := ada.get("/portal/disputes").want(t, 200, `href="/portal/disputes/`+id+`"`, "failed_service")
	_ = list
	p := ada.get("/portal/disputes/"+id).want(t, 200, "Timeline", "&lt;b&gt;never answered&lt;/b&gt;", filer, respondent)
	if !strings.HasSuffix(strings.TrimSpace(p.Body), "</html>") {
		t.Fatalf("cut short:\n%s", p.Body)
	}
	// A developer with no agent in it does not see it; an admin does.
	s.newUser("eve@example.com").get("/portal/disputes/"+id).want(t, 404, "No such dispute")
	s.newAdmin("root@example.com").get("/portal/disputes/"+id).want(t, 200, "Timeline")
	// Ada has no agent on its panel: her vote is refused in words.
	ada.get("/portal/disputes/" + id)
	ada.post("/portal/disputes/"+id+"/vote", url.Values{"agent": {filer}, "vote": {"filer"}, "step": {"commit"}}).want(t, 403, "None of your agents sits on this dispute")
}

// allowAll is a policy that allows everything: the tests' way to make a proposal without
// first raising an agent to the Trusted tier with 1,000 AVT staked.
type allowAll struct{}

func (allowAll) Decide(context.Context, string, policy.Input) (policy.Decision, error) {
	return policy.Decision{Allow: true}, nil
}

func TestGovernance_AProposalWithItsTallyAndVoteForm(t *testing.T) {
	s := newSite(t)
	ada := s.newUser("ada@example.com")
	agent := s.registerFundedAgent(ada, "Ada's agent")
	ledger := &teg.Service{Store: s.app.Ledger(), Authz: allowAll{}}
	changes := map[string]json.RawMessage{"fee.rate_bps": json.RawMessage("5")}
	prop, _, err := ledger.Propose(context.Background(), policy.Subject{Kind: policy.KindAgent, ID: agent},
		teg.ProposeRequest{Content: teg.ProposalContent{Kind: teg.ProposalParams, Title: "<i>halve</i> the fee", Changes: changes}}, "")
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatUint(prop.ID, 10)
	ada.get("/portal/governance").want(t, 200, `href="/portal/governance/`+id+`"`, "&lt;i&gt;halve&lt;/i&gt; the fee", "voting")
	ada.get("/portal/governance?status=executed").want(t, 200, "No proposals.")
	p := ada.get("/portal/governance/"+id).want(t, 200, "Tally (live)", "fee.rate_bps = 5", "no quorum yet", `<label for="opt-yes">`)
	if !strings.HasSuffix(strings.TrimSpace(p.Body), "</html>") {
		t.Fatalf("cut short:\n%s", p.Body)
	}
	v := ada.post("/portal/governance/"+id+"/vote", url.Values{"agent": {agent}, "option": {"yes"}}).want(t, 403, "governance.vote")
	if got := command(t, v); got != "sovereign govern vote "+id+" yes --as "+agent+" --registry http://registry.test" {
		t.Errorf("command %q", got)
	}
	ada.post("/portal/governance/"+id+"/vote", url.Values{"agent": {agent}, "option": {"maybe"}}).want(t, 422, `id="option-err"><span class="field-error"`)
	ada.post("/portal/governance/"+id+"/vote", url.Values{"agent": {"agt_nonexistent"}, "option": {"yes"}}).want(t, 404, `id="agent-err"><span class="field-error"`)
}
