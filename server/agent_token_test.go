package server_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/identity"
)

// agentToken mints a JWT-SVID for agent with the stack's own issuer (the identity package's API,
// not a production route).
func (s *stack) agentToken(agent string, audience string) hdr {
	s.t.Helper()
	iss := s.server.Issuer()
	id, err := identity.AgentID(iss.TrustDomain(), agent)
	if err != nil {
		s.t.Fatal(err)
	}
	if audience == "" {
		teg, _ := identity.TEGID(iss.TrustDomain())
		audience = teg.String()
	}
	tok, err := iss.MintJWTSVID(context.Background(), id, []string{audience}, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	return bearer(tok)
}

func (s *stack) wallets(grant string, agents ...string) {
	admin := bearer(s.adminKey)
	s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "1000000"}, admin).want(s.t, 201, "")
	for _, a := range agents {
		s.do("POST", "/api/v1/admin/teg/accounts", map[string]any{"agent_id": a}, admin).want(s.t, 201, "")
		s.do("POST", "/api/v1/token/grant", map[string]any{"to": a, "amount": grant}, admin).want(s.t, 201, "")
	}
}

func TestAgentTransfers_WithJWTSVIDs(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("1000", "agt_alice", "agt_bob")
		alice, bob := s.agentToken("agt_alice", ""), s.agentToken("agt_bob", "")

		tr := s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "50", "message": "for the summary"}, alice, hdr{"Idempotency-Key", "pay-1"}).want(t, 201, "")
		if tr.str("from") != "agt_alice" || tr.str("fee") != "0.05" {
			t.Fatalf("transfer = %s", tr.Raw)
		}
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "50", "message": "for the summary"}, alice, hdr{"Idempotency-Key", "pay-1"}).want(t, 200, "")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "51"}, alice, hdr{"Idempotency-Key", "pay-1"}).want(t, 409, "IDEMPOTENCY_KEY_REUSED")
		if b := s.do("GET", "/api/v1/token/balance", nil, alice).want(t, 200, ""); b.str("liquid") != "949.95" {
			t.Fatalf("alice = %s", b.Raw)
		}
		s.do("GET", "/api/v1/token/balance?account=agt_bob", nil, alice).want(t, 403, "FORBIDDEN")
		if h := s.do("GET", "/api/v1/token/transactions", nil, bob).want(t, 200, ""); len(h.Body["items"].([]any)) != 3 {
			t.Fatalf("bob history = %s", h.Raw)
		}

		// Tier limits are checked by the ledger: a New agent sends at most 100 AVT at once.
		r := s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "500"}, alice).want(t, 403, "TRANSFER_LIMIT_EXCEEDED")
		if d := r.details(); d["limit"] != "100" || d["requested"] != "500" || d["tier"] != "New" {
			t.Fatalf("tier refusal details: %s", r.Raw)
		}
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_alice", "amount": "1"}, alice).want(t, 422, "SELF_TRANSFER")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_nobody", "amount": "1"}, alice).want(t, 404, "ACCOUNT_NOT_FOUND")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "1.5e2"}, alice).want(t, 422, "INVALID_AMOUNT")
		// Developers are not agents: no transfers from a developer session.
		d := s.register("dev@example.com", true)
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "1"}, bearer(d.Access)).want(t, 403, "FORBIDDEN")
	})
}

func TestAgentTransfers_BatchesAndPending(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("100", "agt_alice", "agt_bob")
		alice, bob := s.agentToken("agt_alice", ""), s.agentToken("agt_bob", "")

		r := s.do("POST", "/api/v1/token/transfers:batch", map[string]any{"transfers": []map[string]any{
			{"to": "agt_bob", "amount": "60"}, {"to": "agt_bob", "amount": "60"},
		}}, alice).want(t, 422, "INSUFFICIENT_BALANCE")
		if r.details()["index"] != float64(1) {
			t.Fatalf("linked batch details %v", r.details())
		}
		if b := s.do("GET", "/api/v1/token/balance", nil, alice).want(t, 200, ""); b.str("liquid") != "100" {
			t.Fatalf("a failed linked batch moved money: %s", b.Raw)
		}
		r = s.do("POST", "/api/v1/token/transfers:batch", map[string]any{"linked": false, "transfers": []map[string]any{
			{"to": "agt_bob", "amount": "60"}, {"to": "agt_bob", "amount": "60"},
		}}, alice).want(t, 200, "")
		res := r.Body["results"].([]any)
		if res[0].(map[string]any)["transfer"] == nil || res[1].(map[string]any)["error"].(map[string]any)["code"] != "INSUFFICIENT_BALANCE" {
			t.Fatalf("unlinked batch = %s", r.Raw)
		}
		s.do("POST", "/api/v1/token/transfers:batch", map[string]any{"transfers": []map[string]any{}}, alice).want(t, 422, "INVALID_FIELD")
		s.do("POST", "/api/v1/token/transfers:batch", map[string]any{"transfers": []map[string]any{{"to": "agt_bob", "amount": "x"}}}, alice).want(t, 422, "INVALID_AMOUNT")

		p := s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_bob", "amount": "30", "timeout_seconds": 60}, alice).want(t, 201, "")
		if p.str("state") != "active" {
			t.Fatalf("pending = %s", p.Raw)
		}
		// A third party may not settle; the payee may (a paid task's agent posts its hold).
		s.do("POST", "/api/v1/token/pending/"+p.str("id")+":post", nil, s.agentToken("agt_carol", "")).want(t, 403, "FORBIDDEN")
		post := s.do("POST", "/api/v1/token/pending/"+p.str("id")+":post", map[string]any{"amount": "10"}, bob).want(t, 201, "")
		if post.str("amount") != "10" || post.str("to") != "agt_bob" {
			t.Fatalf("post = %s", post.Raw)
		}
		s.do("POST", "/api/v1/token/pending/"+p.str("id")+":void", nil, alice).want(t, 409, "PENDING_NOT_ACTIVE")
		s.do("POST", "/api/v1/token/pending/"+p.str("id")+":refund", nil, alice).want(t, 404, "NOT_FOUND")
		s.do("POST", "/api/v1/token/pending/nope:void", nil, alice).want(t, 404, "PENDING_NOT_FOUND")
		// A hold made with an Idempotency-Key has colons in its id; it settles all the same.
		ip := s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_bob", "amount": "5", "timeout_seconds": 60}, alice, hdr{"Idempotency-Key", "hold-1"}).want(t, 201, "")
		if !strings.Contains(ip.str("id"), ":") {
			t.Fatalf("idempotent pending id %q", ip.str("id"))
		}
		s.do("POST", "/api/v1/token/pending/"+url.PathEscape(ip.str("id"))+":void", nil, alice).want(t, 201, "")
		if b := s.do("GET", "/api/v1/token/balance", nil, alice).want(t, 200, ""); b.str("locked") != "0" {
			t.Fatalf("funds still locked after the post: %s", b.Raw)
		}
	})
}

func TestAgentTokens_BadJWTSVIDsAreRefused(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("10", "agt_alice")
		s.do("GET", "/api/v1/token/balance", nil, s.agentToken("agt_alice", "spiffe://sovereign.test/registry/main")).want(t, 401, "INVALID_JWT_SVID")
		other, err := identity.NewBuiltin(filepath.Join(t.TempDir(), "other"), spiffeid.RequireTrustDomainFromString("sovereign.test"))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := identity.AgentID(other.TrustDomain(), "agt_alice")
		aud, _ := identity.TEGID(other.TrustDomain())
		forged, err := other.MintJWTSVID(context.Background(), id, []string{aud.String()}, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.do("GET", "/api/v1/token/balance", nil, bearer(forged)).want(t, 401, "INVALID_JWT_SVID")
	})
}
