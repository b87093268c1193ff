package server_test

import (
	"encoding/json"
	"testing"
)

// editable returns a copy of a GET /api/v1/teg/params body, as a change sends it back.
func editable(t *testing.T, r resp, base float64) map[string]any {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Raw), &body); err != nil {
		t.Fatal(err)
	}
	delete(body, "$schema")
	body["base_version"] = base
	return body
}

// The parameter set is versioned ledger state: an admin replaces it by the next version (an event
// of the log), the fees follow at once, every earlier version stays readable, and teg verify
// still passes.
func TestParams_AdminChangesTheSetAndTheHistoryKeepsEveryVersion(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("5000", "agt_alice", "agt_bob")
		admin := bearer(s.adminKey)
		cur := s.do("GET", "/api/v1/teg/params", nil).want(t, 200, "")
		if cur.Body["version"] != float64(1) || cur.Body["staking"].(map[string]any)["unbonding_seconds"] != float64(604800) ||
			cur.Body["staking"].(map[string]any)["min_stake"] != "10" {
			t.Fatalf("version 1 = %s", cur.Raw)
		}
		if h := s.do("GET", "/api/v1/teg/params/history", nil).want(t, 200, ""); len(h.Body["items"].([]any)) != 0 {
			t.Fatalf("history before any change = %s", h.Raw)
		}
		body := editable(t, cur, 1)
		body["fee_rate_bps"], body["message"] = 100, "a 1 % fee"
		body["staking"].(map[string]any)["unbonding_seconds"] = 30
		v2 := s.do("PUT", "/api/v1/admin/teg/params", body, admin, hdr{"Idempotency-Key", "p2"}).want(t, 200, "")
		if v2.Body["version"] != float64(2) || v2.Body["fee_rate_bps"] != float64(100) || v2.str("change_id") == "" || v2.str("set_at") == "" || v2.str("message") != "a 1 % fee" {
			t.Fatalf("version 2 = %s", v2.Raw)
		}
		// A replay answers the same version; the same key with another body is refused.
		s.do("PUT", "/api/v1/admin/teg/params", body, admin, hdr{"Idempotency-Key", "p2"}).want(t, 200, "")
		body["fee_rate_bps"] = 50
		s.do("PUT", "/api/v1/admin/teg/params", body, admin, hdr{"Idempotency-Key", "p2"}).want(t, 409, "IDEMPOTENCY_KEY_REUSED")
		// The fee follows the set in force: quotes and transfers.
		if f := s.do("GET", "/api/v1/token/fees/calculate?amount=100", nil).want(t, 200, ""); f.str("fee") != "1" {
			t.Fatalf("quote after the change = %s", f.Raw)
		}
		if tr := s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "100"}, s.agentToken("agt_alice", "")).want(t, 201, ""); tr.str("fee") != "1" {
			t.Fatalf("transfer after the change = %s", tr.Raw)
		}
		// A change made from version 1 while version 2 is in force is refused.
		s.do("PUT", "/api/v1/admin/teg/params", editable(t, cur, 1), admin).want(t, 409, "PARAMS_VERSION_CONFLICT")
		// Version 3 lowers the New tier's limits: the ledger applies them to the next transfer.
		v3body := editable(t, s.do("GET", "/api/v1/teg/params", nil).want(t, 200, ""), 2)
		tiers := v3body["tiers"].([]any)
		tiers[1].(map[string]any)["per_transfer"], tiers[1].(map[string]any)["daily"] = "5", "50"
		s.do("PUT", "/api/v1/admin/teg/params", v3body, admin).want(t, 200, "")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "6"}, s.agentToken("agt_alice", "")).want(t, 403, "TRANSFER_LIMIT_EXCEEDED")
		now := s.do("GET", "/api/v1/teg/params", nil).want(t, 200, "")
		hist := s.do("GET", "/api/v1/teg/params/history", nil).want(t, 200, "").Body["items"].([]any)
		if now.Body["version"] != float64(3) || len(hist) != 2 || hist[0].(map[string]any)["version"] != float64(2) ||
			hist[0].(map[string]any)["fee_rate_bps"] != float64(100) || hist[1].(map[string]any)["version"] != float64(1) {
			t.Fatalf("now = %s, history = %v", now.Raw, hist)
		}
		if rep, err := s.server.Ledger().Verify(t.Context()); err != nil || rep.ParamsVersion != 3 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
	})
}

// Only an admin changes the parameters; bad sets are refused with a specific code and change nothing.
func TestParams_ChangeIsForAdminsAndBadSetsAreRefused(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("5000", "agt_alice")
		admin := bearer(s.adminKey)
		cur := s.do("GET", "/api/v1/teg/params", nil).want(t, 200, "")
		dev := s.register("params-dev@example.com", true)
		s.do("PUT", "/api/v1/admin/teg/params", editable(t, cur, 1), bearer(dev.Access)).want(t, 403, "FORBIDDEN")
		s.do("PUT", "/api/v1/admin/teg/params", editable(t, cur, 1), s.agentToken("agt_alice", "")).want(t, 403, "FORBIDDEN")
		s.do("PUT", "/api/v1/admin/teg/params", editable(t, cur, 1)).want(t, 401, "AUTHENTICATION_REQUIRED")
		bad := func(edit func(b map[string]any)) map[string]any {
			b := editable(t, cur, 1)
			edit(b)
			return b
		}
		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			code   string
		}{
			{"split not 100 %", bad(func(b map[string]any) { b["fee_split_bps"].(map[string]any)["burn"] = 0 }), 422, "INVALID_FEE_SCHEDULE"},
			{"unknown share", bad(func(b map[string]any) { b["fee_split_bps"].(map[string]any)["dev"] = 1 }), 422, "INVALID_PARAMS"},
			{"malformed amount", bad(func(b map[string]any) { b["fee_min"] = "1e3" }), 422, "INVALID_AMOUNT"},
			{"min above max", bad(func(b map[string]any) { b["fee_min"] = "11" }), 422, "INVALID_FEE_SCHEDULE"},
			{"no tiers", bad(func(b map[string]any) { b["tiers"] = []any{} }), 422, "INVALID_PARAMS"},
			{"supply below minted", bad(func(b map[string]any) { b["max_supply"] = "1" }), 422, "INVALID_PARAMS"},
			{"commission over 100 %", bad(func(b map[string]any) { b["staking"].(map[string]any)["default_commission_bps"] = 10001 }), 422, "INVALID_FIELD"},
			{"zero minimum stake", bad(func(b map[string]any) { b["staking"].(map[string]any)["min_stake"] = "0" }), 422, "INVALID_PARAMS"},
			{"zero unbonding", bad(func(b map[string]any) { b["staking"].(map[string]any)["unbonding_seconds"] = 0 }), 422, "INVALID_FIELD"},
			{"epoch over a year", bad(func(b map[string]any) { b["staking"].(map[string]any)["epoch_seconds"] = 400 * 86400 }), 422, "INVALID_PARAMS"},
			{"no base version", bad(func(b map[string]any) { b["base_version"] = 0 }), 422, "INVALID_PARAMS"},
			{"future base version", bad(func(b map[string]any) { b["base_version"] = 7 }), 409, "PARAMS_VERSION_CONFLICT"},
		} {
			if r := s.do("PUT", "/api/v1/admin/teg/params", tc.body, admin); r.Status != tc.status || r.code() != tc.code {
				t.Errorf("%s: %d %s", tc.name, r.Status, r.Raw)
			}
		}
		if p := s.do("GET", "/api/v1/teg/params", nil).want(t, 200, ""); p.Body["version"] != float64(1) {
			t.Fatalf("a refused change moved the version: %s", p.Raw)
		}
	})
}

// TestParams_ReputationWeightsAreParameters: the reputation score's weights are part of the
// parameter set: a change of them is used by the next score computed (here a fresh agent's
// base, which moves it up a tier), and weights out of their bounds are refused.
func TestParams_ReputationWeightsAreParameters(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("100", "agt_fresh")
		admin := bearer(s.adminKey)
		cur := s.do("GET", "/api/v1/teg/params", nil).want(t, 200, "")
		rep := cur.Body["reputation"].(map[string]any)
		if rep["base"] != float64(100) || rep["trust"] != float64(400) || rep["half_life_days"] != float64(90) {
			t.Fatalf("default weights: %v", rep)
		}
		if r := s.do("GET", "/api/v1/reputation/agt_fresh", nil).want(t, 200, ""); r.Body["score"] != float64(100) || r.str("tier") != "New" {
			t.Fatalf("before: %s", r.Raw)
		}
		body := editable(t, cur, 1)
		body["reputation"].(map[string]any)["base"] = 450
		body["reputation"].(map[string]any)["trust"] = 50
		s.do("PUT", "/api/v1/admin/teg/params", body, admin).want(t, 200, "")
		if r := s.do("GET", "/api/v1/reputation/agt_fresh", nil).want(t, 200, ""); r.Body["score"] != float64(450) || r.str("tier") != "Trusted" {
			t.Fatalf("after base=450: %s", r.Raw)
		}
		// A change that leaves the reputation group out keeps the weights in force.
		partial := editable(t, s.do("GET", "/api/v1/teg/params", nil).want(t, 200, ""), 2)
		delete(partial, "reputation")
		delete(partial, "attestations")
		delete(partial, "governance")
		partial["fee_rate_bps"] = 25
		got := s.do("PUT", "/api/v1/admin/teg/params", partial, admin).want(t, 200, "")
		if rep := got.Body["reputation"].(map[string]any); rep["base"] != float64(450) || rep["trust"] != float64(50) || got.Body["fee_rate_bps"] != float64(25) {
			t.Fatalf("a change without the reputation group reset it: %s", got.Raw)
		}
		if r := s.do("GET", "/api/v1/reputation/agt_fresh", nil).want(t, 200, ""); r.Body["score"] != float64(450) {
			t.Fatalf("after a fee change: %s", r.Raw)
		}
		for _, bad := range []map[string]any{{"base": 2000}, {"half_life_days": 0}, {"attestation_cap": 0}, {"stake": 900}} {
			b := editable(t, s.do("GET", "/api/v1/teg/params", nil).want(t, 200, ""), 3)
			for k, v := range bad {
				b["reputation"].(map[string]any)[k] = v
			}
			s.do("PUT", "/api/v1/admin/teg/params", b, admin).want(t, 422, "INVALID_PARAMS")
		}
	})
}
