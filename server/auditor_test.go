package server_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// waitFlags polls the auditor's flags (as admin) until n are there.
func (s *stack) waitFlags(n int) []any {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.do("GET", "/api/v1/auditor/flags", nil, bearer(s.adminKey)).want(s.t, 200, "")
		items := r.Body["items"].([]any)
		if len(items) >= n || time.Now().After(deadline) {
			if len(items) != n {
				s.t.Fatalf("%d flags, want %d: %s", len(items), n, r.Raw)
			}
			return items
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// washRing sends value round agents a → b → c → a, less a little at each hop.
func (s *stack) washRing(agents ...string) {
	for i, a := range agents {
		s.pay(s.agentToken(a, ""), agents[(i+1)%len(agents)], []string{"10", "9", "8"}[i])
	}
}

func TestAuditor_FlagsReviewAndRules(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		admin := bearer(s.adminKey)
		s.wallets("1000", "agt_alice", "agt_bob", "agt_carol", "agt_dave", "agt_erin", "agt_frank")
		s.washRing("agt_alice", "agt_bob", "agt_carol")
		f := s.waitFlags(1)[0].(map[string]any)
		id := f["id"].(string)
		if f["rule"] != "CIRCULAR_FLOW" || f["subject"] != "agt_alice" || f["status"] != "NEW" || f["severity"] != "high" || len(f["evidence"].([]any)) != 3 {
			t.Fatalf("flag = %v", f)
		}
		dev := bearer(s.register("dev@example.com", true).Access)
		alice := s.agentToken("agt_alice", "")
		flag := "/api/v1/auditor/flags/" + id

		// Reading: admins only.
		s.do("GET", flag, nil, admin).want(t, 200, "")
		s.do("GET", "/api/v1/auditor/flags", nil, dev).want(t, 403, "ADMIN_REQUIRED")
		s.do("GET", "/api/v1/auditor/flags", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("GET", flag, nil, alice).want(t, 403, "ADMIN_REQUIRED")
		s.do("GET", "/api/v1/auditor/flags/flg_nope", nil, admin).want(t, 404, "FLAG_NOT_FOUND")
		s.do("GET", "/api/v1/auditor/flags?status=NEW&rule=CIRCULAR_FLOW&subject=agt_alice", nil, admin).want(t, 200, "")
		s.do("GET", "/api/v1/auditor/flags?rule=NOPE", nil, admin).want(t, 422, "INVALID_FILTER")
		s.do("GET", "/api/v1/auditor/flags?status=DONE", nil, admin).want(t, 422, "INVALID_FILTER")

		// Acknowledging without the admin role: refused, and the flag is as it was.
		s.do("POST", flag+"/acknowledge", map[string]any{}, dev).want(t, 403, "ADMIN_REQUIRED")
		s.do("POST", flag+"/acknowledge", map[string]any{}, alice).want(t, 403, "ADMIN_REQUIRED")
		s.do("POST", flag+"/acknowledge", map[string]any{}).want(t, 401, "AUTHENTICATION_REQUIRED")
		if g := s.do("GET", flag, nil, admin).want(t, 200, ""); g.str("status") != "NEW" || g.str("reviewed_by") != "" {
			t.Fatalf("flag after refused acknowledgements = %s", g.Raw)
		}
		s.do("POST", "/api/v1/auditor/flags/flg_nope/acknowledge", map[string]any{}, admin).want(t, 404, "FLAG_NOT_FOUND")
		s.do("POST", flag+"/acknowledge", map[string]any{"note": strings.Repeat("x", 1001)}, admin).want(t, 422, "NOTE_TOO_LONG")
		a := s.do("POST", flag+"/acknowledge", map[string]any{"note": "looking"}, admin).want(t, 200, "")
		if a.str("status") != "ACKNOWLEDGED" || a.str("note") != "looking" || a.str("reviewed_by") == "" {
			t.Fatalf("acknowledged = %s", a.Raw)
		}
		s.do("POST", flag+"/acknowledge", map[string]any{}, admin).want(t, 409, "FLAG_TRANSITION_INVALID")

		// Escalating: bad target, disputes not wired here, then a real suspension.
		s.do("POST", flag+"/escalate", map[string]any{"to": "jail"}, admin).want(t, 422, "INVALID_ESCALATION")
		s.do("POST", flag+"/escalate", map[string]any{"to": "suspension"}, dev).want(t, 403, "ADMIN_REQUIRED")
		if g := s.do("GET", flag, nil, admin).want(t, 200, ""); g.str("status") != "ACKNOWLEDGED" {
			t.Fatalf("flag after a failed escalation = %s", g.Raw)
		}
		e := s.do("POST", flag+"/escalate", map[string]any{"to": "suspension"}, admin).want(t, 200, "")
		if e.str("status") != "ESCALATED" || e.str("escalation") != "suspension" {
			t.Fatalf("escalated = %s", e.Raw)
		}
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "1"}, alice).want(t, 403, "ACCOUNT_SUSPENDED")
		s.do("POST", flag+"/resolve", map[string]any{"resolution": "dismissed"}, admin).want(t, 409, "FLAG_TRANSITION_INVALID")
		// The escalated flag counts against every agent of the ring at once (an incremental
		// update), and the next full pass agrees.
		flagged := func(when string) {
			t.Helper()
			rep := s.do("GET", "/api/v1/reputation/agt_bob", nil).want(t, 200, "")
			found := false
			for _, f := range rep.Body["factors"].([]any) {
				fm := f.(map[string]any)
				if fm["name"] == "auditor_flags" {
					found = fm["value"] == float64(1) && fm["points"].(float64) < 0
				}
			}
			if !found {
				t.Fatalf("reputation %s a confirmed flag = %s", when, rep.Raw)
			}
		}
		flagged("right after")
		s.do("POST", "/api/v1/admin/reputation:recompute", nil, admin).want(t, 200, "")
		flagged("after a pass following")

		// Resolving another flag: a second ring.
		s.washRing("agt_dave", "agt_erin", "agt_frank")
		id2 := s.waitFlags(2)[0].(map[string]any)["id"].(string)
		flag2 := "/api/v1/auditor/flags/" + id2
		s.do("POST", flag2+"/resolve", map[string]any{"resolution": "maybe"}, admin).want(t, 422, "INVALID_RESOLUTION")
		s.do("POST", flag2+"/resolve", map[string]any{"resolution": "dismissed"}, dev).want(t, 403, "ADMIN_REQUIRED")
		r := s.do("POST", flag2+"/resolve", map[string]any{"resolution": "dismissed", "note": "a refund loop"}, admin).want(t, 200, "")
		if r.str("status") != "RESOLVED" || r.str("resolution") != "dismissed" {
			t.Fatalf("resolved = %s", r.Raw)
		}
		s.do("POST", flag2+"/escalate", map[string]any{"to": "suspension"}, admin).want(t, 409, "FLAG_TRANSITION_INVALID")
		s.do("GET", "/api/v1/auditor/flags?status=RESOLVED", nil, admin).want(t, 200, "")

		// Escalating to a dispute: one filed in the stack's name (the treasury files and pays
		// the fee) against the flag's subject, naming the flag's evidence; once per flag.
		s.wallets("1000", "agt_jo", "agt_kim", "agt_lou")
		s.washRing("agt_jo", "agt_kim", "agt_lou")
		f3 := s.waitFlags(3)[0].(map[string]any)
		flag3 := "/api/v1/auditor/flags/" + f3["id"].(string)
		treasury := func() string {
			return s.do("GET", "/api/v1/token/balance?account=sys:treasury", nil, admin).want(t, 200, "").str("total")
		}
		before := treasury()
		e3 := s.do("POST", flag3+"/escalate", map[string]any{"to": "dispute"}, admin).want(t, 200, "")
		if e3.str("status") != "ESCALATED" || e3.str("escalation") != "dispute" || !strings.HasPrefix(e3.str("dispute_id"), "dsp_") {
			t.Fatalf("escalated to a dispute = %s", e3.Raw)
		}
		d := s.do("GET", "/api/v1/disputes/"+e3.str("dispute_id"), nil, admin).want(t, 200, "")
		if d.str("filer") != "sys:treasury" || d.str("respondent") != f3["subject"] || d.str("state") != "OPEN" || !strings.Contains(d.str("claim"), "CIRCULAR_FLOW") {
			t.Fatalf("the system's dispute = %s", d.Raw)
		}
		if after := treasury(); after == before {
			t.Fatalf("the treasury paid no filing fee: %s then %s", before, after)
		}
		s.do("POST", flag3+"/escalate", map[string]any{"to": "dispute"}, admin).want(t, 409, "FLAG_TRANSITION_INVALID")

		// Rules: read, change, refuse out-of-range values and non-admins.
		rules := s.do("GET", "/api/v1/auditor/rules", nil, admin).want(t, 200, "")
		params := rules.Body["params"].(map[string]any)
		if params["velocity_count"] != float64(100) || params["circular_window"] != float64(3600) || rules.Body["consumer"].(map[string]any)["cursor"].(float64) == 0 {
			t.Fatalf("rules = %s", rules.Raw)
		}
		s.do("GET", "/api/v1/auditor/rules", nil, dev).want(t, 403, "ADMIN_REQUIRED")
		params["enabled"].(map[string]any)["CIRCULAR_FLOW"] = false
		params["velocity_count"] = float64(50)
		s.do("PUT", "/api/v1/auditor/rules", params, dev).want(t, 403, "ADMIN_REQUIRED")
		set := s.do("PUT", "/api/v1/auditor/rules", params, admin).want(t, 200, "")
		if p := set.Body["params"].(map[string]any); p["velocity_count"] != float64(50) || p["enabled"].(map[string]any)["CIRCULAR_FLOW"] != false {
			t.Fatalf("rules after the change = %s", set.Raw)
		}
		params["velocity_count"] = float64(0)
		s.do("PUT", "/api/v1/auditor/rules", params, admin).want(t, 422, "INVALID_AUDITOR_PARAMS")
		if g := s.do("GET", "/api/v1/auditor/rules", nil, admin).want(t, 200, ""); g.Body["params"].(map[string]any)["velocity_count"] != float64(50) {
			t.Fatalf("a refused change changed the rules: %s", g.Raw)
		}
		// With CIRCULAR_FLOW disabled, a fourth ring raises nothing.
		s.wallets("1000", "agt_gus", "agt_hal", "agt_ivy")
		s.washRing("agt_gus", "agt_hal", "agt_ivy")
		time.Sleep(600 * time.Millisecond)
		s.waitFlags(3)
	})
}

// TestAuditor_SybilFunnelEscalatedToTheRegistrysSuspension: five new agents of one developer
// pay one agent (of another developer): the auditor, asking the registry who registered them,
// flags the funnel; escalating it suspends the payee in the registry (its requests refused).
func TestAuditor_SybilFunnelEscalatedToTheRegistrysSuspension(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		admin := bearer(s.adminKey)
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "10000"}, admin).want(t, 201, "")
		payee := s.registerAgent(s.register("ada@example.com", true), "Payee Agent")
		mallory := s.register("mallory@example.com", true)
		var sybils []string
		for i := range 5 {
			a := s.registerAgent(mallory, "Sybil "+string(rune('A'+i)))
			sybils = append(sybils, a.ID)
			s.pay(s.agentToken(a.ID, ""), payee.ID, "1")
		}
		f := s.waitFlags(1)[0].(map[string]any)
		agents := f["agents"].([]any)
		if f["rule"] != "SYBIL_FUNNEL" || f["subject"] != payee.ID || len(agents) != 6 || agents[1] != sybils[0] || len(f["evidence"].([]any)) != 5 {
			t.Fatalf("flag = %v", f)
		}
		// The metrics say the auditor is caught up and raised one flag.
		// (The counter moves when the step that stored the flag returns.)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			rec := httptest.NewRecorder()
			s.server.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			m := rec.Body.String()
			if strings.Contains(m, "sovereign_auditor_events_behind 0") && strings.Contains(m, "sovereign_auditor_flags_raised_total 1") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("metrics: %s", m)
			}
		}
		tok := bearer(s.clientToken(payee).want(t, 200, "").str("access_token"))
		s.do("GET", "/api/v1/token/balance", nil, tok).want(t, 200, "")
		s.do("POST", "/api/v1/auditor/flags/"+f["id"].(string)+"/escalate", map[string]any{"to": "suspension", "note": "funnel"}, admin).want(t, 200, "")
		s.do("GET", "/api/v1/token/balance", nil, tok).want(t, 403, "AGENT_SUSPENDED")
	})
}
