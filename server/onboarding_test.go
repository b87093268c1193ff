package server_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sovereign-stack/sovereign/config"
)

// withGenesis mints a genesis supply, as `sovereign up` does by default.
func withGenesis(c *config.Config) { c.Onboarding.GenesisSupply = "1000000" }

func TestOnboarding_FromDeveloperToFundedAgent(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.waitIndexed()
		ada := s.register("ada@example.com", true)
		eve := s.register("eve@example.com", false)
		s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(eve.Access)).want(t, 403, "FORBIDDEN")

		tok := s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(ada.Access)).want(t, 201, "")
		token := tok.str("token")
		if l := s.do("GET", "/api/v1/onboard/bootstrap/tokens", nil, bearer(ada.Access)).want(t, 200, ""); len(l.Body["items"].([]any)) != 1 {
			t.Fatalf("outstanding tokens: %s", l.Raw)
		}
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		tlsKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, tlsKey)
		body := map[string]any{"card": card("Bootstrapped Agent", "Registered with a bootstrap token", "onboarding"),
			"public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)},
			"proof":      base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(token))),
			"csr":        string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))}
		s.do("POST", "/api/v1/onboard/register", body).want(t, 422, "MISSING_FIELD")
		s.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", "bst_nope"}).want(t, 401, "INVALID_BOOTSTRAP_TOKEN")
		reg := s.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token}).want(t, 201, "")
		agentID := reg.str("agent_id")
		if !strings.HasPrefix(reg.str("did"), "did:key:z") || reg.str("spiffe_id") != "spiffe://sovereign.test/agent/"+agentID ||
			!strings.Contains(reg.str("svid"), "BEGIN CERTIFICATE") || !strings.HasPrefix(reg.str("client_secret"), "avcs_") {
			t.Fatalf("registration: %s", reg.Raw)
		}
		s.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token}).want(t, 401, "INVALID_BOOTSTRAP_TOKEN")

		// The agent's credentials: client credentials → JWT-SVID → its own routes and wallet.
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {reg.str("client_id")}, "client_secret": {reg.str("client_secret")}}
		s.do("POST", "/api/v1/auth/agent/token", map[string]any{"grant_type": "password"}).want(t, 400, "UNSUPPORTED_GRANT_TYPE")
		s.do("POST", "/api/v1/auth/agent/token", map[string]any{"grant_type": "client_credentials", "client_id": reg.str("client_id"), "client_secret": "avcs_" + strings.Repeat("x", 43)}).want(t, 401, "INVALID_CLIENT")
		at := s.do("POST", "/api/v1/auth/agent/token", form.Encode(), hdr{"Content-Type", "application/x-www-form-urlencoded"}).want(t, 200, "")
		agent := bearer(at.str("access_token"))
		// A token asked for another agent's audience is good for that agent only: not here.
		scopedForm := url.Values{"grant_type": {"client_credentials"}, "client_id": {reg.str("client_id")}, "client_secret": {reg.str("client_secret")},
			"audience": {agentID}}
		scoped := s.do("POST", "/api/v1/auth/agent/token", scopedForm.Encode(), hdr{"Content-Type", "application/x-www-form-urlencoded"}).want(t, 200, "")
		s.do("GET", "/api/v1/agents/me", nil, bearer(scoped.str("access_token"))).want(t, 401, "INVALID_JWT_SVID")
		s.do("POST", "/api/v1/auth/agent/token", map[string]any{"grant_type": "client_credentials", "client_id": reg.str("client_id"),
			"client_secret": reg.str("client_secret"), "audience": []string{"bob"}}).want(t, 422, "INVALID_AUDIENCE")
		if me := s.do("GET", "/api/v1/agents/me", nil, agent).want(t, 200, ""); me.str("id") != agentID || me.str("did") != reg.str("did") {
			t.Fatalf("agents/me: %s", me.Raw)
		}
		s.do("GET", "/api/v1/agents/me", nil, bearer(ada.Access)).want(t, 403, "AGENT_ONLY")
		if hb := s.do("POST", "/api/v1/agents/me/heartbeat", nil, agent).want(t, 200, ""); hb.str("last_heartbeat_at") == "" ||
			hb.Body["heartbeat_interval_seconds"] != 60.0 || hb.Body["inactive_after_seconds"] != 180.0 {
			t.Fatalf("heartbeat: %s", hb.Raw)
		}
		// SVID renewal: the active agent renews; once suspended, it may not.
		renewKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		renewCSR, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, renewKey)
		csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: renewCSR}))
		s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": csrPEM}, agent).want(t, 201, "")
		s.do("POST", "/api/v1/agents/"+agentID+"/status", map[string]any{"status": "suspended"}, bearer(ada.Access)).want(t, 200, "")
		s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": csrPEM}, agent).want(t, 403, "AGENT_SUSPENDED")
		s.do("POST", "/api/v1/auth/agent/token", form.Encode(), hdr{"Content-Type", "application/x-www-form-urlencoded"}).want(t, 403, "AGENT_SUSPENDED")
		s.do("POST", "/api/v1/agents/"+agentID+"/status", map[string]any{"status": "active"}, bearer(eve.Access)).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/agents/"+agentID+"/status", map[string]any{"status": "active"}, bearer(ada.Access)).want(t, 200, "")

		bal := s.do("GET", "/api/v1/token/balance?account="+agentID, nil, agent).want(t, 200, "")
		if bal.str("liquid") != "100" {
			t.Fatalf("starting grant: %s", bal.Raw)
		}
		if d := s.do("GET", "/api/v1/agent-cards?q=bootstrapped", nil).want(t, 200, ""); len(d.Body["items"].([]any)) != 1 ||
			d.Body["items"].([]any)[0].(map[string]any)["agent_did"] != reg.str("did") {
			t.Fatalf("discovery: %s", d.Raw)
		}
	}, withGenesis)
}

func TestOnboarding_EmptyTreasuryRegistersNothing(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		token := s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(ada.Access)).want(t, 201, "").str("token")
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		body := map[string]any{"card": card("Unfunded", "No treasury yet", "none"),
			"public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)},
			"proof":      base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(token)))}
		s.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token}).want(t, 422, "INSUFFICIENT_BALANCE")
		if d := s.do("GET", "/api/v1/agent-cards?q=unfunded", nil).want(t, 200, ""); len(d.Body["items"].([]any)) != 0 {
			t.Fatalf("card left behind: %s", d.Raw)
		}
		// The admin funds the treasury; the same token now registers the agent.
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "1000"}, bearer(s.adminKey)).want(t, 201, "")
		s.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token}).want(t, 201, "")
	})
}

func TestOnboarding_ConcurrentUsesOfOneToken(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		token := s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(ada.Access)).want(t, 201, "").str("token")
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pub, priv, _ := ed25519.GenerateKey(rand.Reader)
				body := map[string]any{"card": card("Racer", "One of many", "race"),
					"public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)},
					"proof":      base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(token)))}
				r := s.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token})
				mu.Lock()
				codes[r.Status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[201] != 1 || codes[401] != 99 {
			t.Fatalf("statuses %v", codes)
		}
	}, withGenesis)
}
