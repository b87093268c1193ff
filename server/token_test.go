package server_test

import (
	"strings"
	"testing"
)

func TestToken_AdminTreasuryFlow(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		admin := bearer(s.adminKey)
		acct := s.do("POST", "/api/v1/admin/teg/accounts", map[string]any{"agent_id": "agt_alice"}, admin).want(t, 201, "")
		if acct.str("account") != "agt_alice" || acct.str("liquid") != "0" {
			t.Fatalf("open = %s", acct.Raw)
		}
		s.do("POST", "/api/v1/admin/teg/accounts", map[string]any{"agent_id": "agt_alice"}, admin).want(t, 409, "ACCOUNT_EXISTS")
		s.do("POST", "/api/v1/admin/teg/accounts", map[string]any{"agent_id": "sys:treasury"}, admin).want(t, 422, "INVALID_ACCOUNT")

		m := s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "1000000", "message": "genesis"}, admin, hdr{"Idempotency-Key", "mint-1"}).want(t, 201, "")
		if m.str("kind") != "mint" || m.str("to") != "sys:treasury" || m.str("amount") != "1000000" {
			t.Fatalf("mint = %s", m.Raw)
		}
		again := s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "1000000", "message": "genesis"}, admin, hdr{"Idempotency-Key", "mint-1"}).want(t, 200, "")
		if again.Body["replayed"] != true || again.str("id") != m.str("id") {
			t.Fatalf("replay = %s", again.Raw)
		}
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "5"}, admin, hdr{"Idempotency-Key", "mint-1"}).want(t, 409, "IDEMPOTENCY_KEY_REUSED")

		s.do("POST", "/api/v1/token/grant", map[string]any{"to": "agt_alice", "amount": "250.75"}, admin).want(t, 201, "")
		s.do("POST", "/api/v1/token/burn", map[string]any{"account": "agt_alice", "amount": "0.75"}, admin).want(t, 201, "")
		b := s.do("GET", "/api/v1/token/balance?account=agt_alice", nil, admin).want(t, 200, "")
		if b.str("liquid") != "250" || b.str("total") != "250" {
			t.Fatalf("balance = %s", b.Raw)
		}
		if nm := s.do("GET", "/api/v1/token/balance?account=agt_alice", nil, admin, hdr{"If-None-Match", b.Header.Get("ETag")}); nm.Status != 304 {
			t.Fatalf("If-None-Match on balance: %d", nm.Status)
		}
		h := s.do("GET", "/api/v1/token/transactions?account=agt_alice&limit=1", nil, admin).want(t, 200, "")
		items := h.Body["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["kind"] != "burn" || h.str("next_cursor") == "" {
			t.Fatalf("history page 1 = %s", h.Raw)
		}
		h2 := s.do("GET", "/api/v1/token/transactions?account=agt_alice&limit=5&cursor="+h.str("next_cursor"), nil, admin).want(t, 200, "")
		if items := h2.Body["items"].([]any); len(items) != 2 || items[0].(map[string]any)["kind"] != "grant" || items[1].(map[string]any)["kind"] != "open" {
			t.Fatalf("history page 2 = %s", h2.Raw)
		}

		r := s.do("POST", "/api/v1/token/grant", map[string]any{"to": "agt_alice", "amount": "9999999"}, admin).want(t, 422, "INSUFFICIENT_BALANCE")
		if d := r.details(); d["required"] != "9999999" || d["available"] != "999749.25" {
			t.Fatalf("INSUFFICIENT_BALANCE details %v", d)
		}
		s.do("POST", "/api/v1/token/grant", map[string]any{"to": "agt_nobody", "amount": "1"}, admin).want(t, 404, "ACCOUNT_NOT_FOUND")
		s.do("GET", "/api/v1/token/balance?account=agt_nobody", nil, admin).want(t, 404, "ACCOUNT_NOT_FOUND")
	})
}

func TestToken_RejectsBadAmountsAndInput(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		admin := bearer(s.adminKey)
		for amount, code := range map[string]string{
			"-1": "INVALID_AMOUNT", "1e3": "INVALID_AMOUNT", "abc": "INVALID_AMOUNT", "": "INVALID_AMOUNT", "0": "INVALID_AMOUNT",
			" 1": "INVALID_AMOUNT", "01": "INVALID_AMOUNT", "0.0000000000000000001": "AMOUNT_TOO_PRECISE",
			"340282366920938463463.374607431768211456": "AMOUNT_OUT_OF_RANGE",
		} {
			r := s.do("POST", "/api/v1/token/mint", map[string]any{"amount": amount}, admin).want(t, 422, code)
			if r.details()["field"] != "amount" {
				t.Fatalf("amount %q: details %v", amount, r.details())
			}
		}
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": 5}, admin).want(t, 422, "INVALID_FIELD")
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "1", "message": strings.Repeat("m", 257)}, admin).want(t, 422, "MESSAGE_TOO_LONG")
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "1"}, admin, hdr{"Idempotency-Key", "bad key"}).want(t, 422, "INVALID_IDEMPOTENCY_KEY")
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "1", "to": "x"}, admin).want(t, 422, "UNKNOWN_FIELD")
		// Nothing above was written: the treasury is still empty.
		s.do("POST", "/api/v1/admin/teg/accounts", map[string]any{"agent_id": "agt_x"}, admin).want(t, 201, "")
		s.do("POST", "/api/v1/token/grant", map[string]any{"to": "agt_x", "amount": "0.000000000000000001"}, admin).want(t, 422, "INSUFFICIENT_BALANCE")
	})
}

func TestToken_PolicyDeniesNonAdmins(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		d := s.register("dev@example.com", true)
		s.do("POST", "/api/v1/admin/teg/accounts", map[string]any{"agent_id": "agt_bob"}, bearer(s.adminKey)).want(t, 201, "")
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/api/v1/admin/teg/accounts", map[string]any{"agent_id": "agt_y"}},
			{"POST", "/api/v1/token/mint", map[string]any{"amount": "1"}},
			{"POST", "/api/v1/token/burn", map[string]any{"account": "agt_bob", "amount": "1"}},
			{"POST", "/api/v1/token/grant", map[string]any{"to": "agt_bob", "amount": "1"}},
			{"GET", "/api/v1/token/balance?account=agt_bob", nil},
			{"GET", "/api/v1/token/transactions?account=agt_bob", nil},
		} {
			r := s.do(c.method, c.path, c.body, bearer(d.Access)).want(t, 403, "FORBIDDEN")
			if r.details()["decision_id"] == nil {
				t.Fatalf("%s %s: denial without a decision id: %s", c.method, c.path, r.Raw)
			}
			s.do(c.method, c.path, c.body).want(t, 401, "AUTHENTICATION_REQUIRED")
		}
	})
}

func TestToken_FeeQuoteAndParamsArePublic(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		f := s.do("GET", "/api/v1/token/fees/calculate?amount=100", nil).want(t, 200, "")
		split := f.Body["split"].(map[string]any)
		if f.str("fee") != "0.1" || f.str("total") != "100.1" || split["treasury"] != "0.04" || split["burn"] != "0.01" {
			t.Fatalf("fee = %s", f.Raw)
		}
		if f := s.do("GET", "/api/v1/token/fees/calculate?amount=1", nil).want(t, 200, ""); f.str("fee") != "0.001" {
			t.Fatalf("min fee = %s", f.Raw)
		}
		if f := s.do("GET", "/api/v1/token/fees/calculate?amount=1000000", nil).want(t, 200, ""); f.str("fee") != "10" {
			t.Fatalf("max fee = %s", f.Raw)
		}
		s.do("GET", "/api/v1/token/fees/calculate?amount=1e2", nil).want(t, 422, "INVALID_AMOUNT")
		s.do("GET", "/api/v1/token/fees/calculate", nil).want(t, 422, "MISSING_FIELD")
		p := s.do("GET", "/api/v1/teg/params", nil).want(t, 200, "")
		if p.Body["fee_rate_bps"] != float64(10) || p.Body["max_batch"] != float64(8190) || p.str("fee_min") != "0.001" || p.str("max_supply") != "1000000000000" {
			t.Fatalf("params = %s", p.Raw)
		}
		if tiers := p.Body["tiers"].([]any); len(tiers) != 5 || tiers[1].(map[string]any)["daily"] != "1000" || tiers[1].(map[string]any)["name"] != "New" {
			t.Fatalf("tiers = %s", p.Raw)
		}
	})
}
