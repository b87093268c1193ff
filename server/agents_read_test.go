package server_test

import (
	"strings"
	"testing"
)

// TestAgents_DevelopersReadTheirAgents: a developer lists their agents with status and last
// heartbeat, reads one, and reads its wallet (which the TEG alone would refuse them: the wallet
// is the agent's); another developer, an agent and an anonymous caller may not.
func TestAgents_DevelopersReadTheirAgents(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		bob := s.register("bob@example.com", true)
		a := s.registerAgent(ada, "Owned Agent")
		// The registration is a domain event in the log, with the ids an operator looks for.
		if l := s.logText(); !strings.Contains(l, `"msg":"agent registered","agent_id":"`+a.ID+`","developer_id":"`+ada.ID+`"`) {
			t.Fatalf("no agent-registered event for %s in the log:\n%s", a.ID, l)
		}
		agentTok := bearer(s.clientToken(a).want(t, 200, "").str("access_token"))
		s.do("POST", "/api/v1/agents/me/heartbeat", nil, agentTok).want(t, 200, "")

		l := s.do("GET", "/api/v1/agents", nil, bearer(ada.Access)).want(t, 200, "")
		items, _ := l.Body["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("ada's agents: %s", l.Raw)
		}
		if it := items[0].(map[string]any); it["id"] != a.ID || it["status"] != "active" || it["last_heartbeat_at"] == nil {
			t.Fatalf("ada's agent: %s", l.Raw)
		}
		if l := s.do("GET", "/api/v1/agents", nil, bearer(bob.Access)).want(t, 200, ""); len(l.Body["items"].([]any)) != 0 {
			t.Fatalf("bob's agents: %s", l.Raw)
		}
		s.do("GET", "/api/v1/agents?limit=0", nil, bearer(ada.Access)).want(t, 422, "INVALID_FIELD")
		s.do("GET", "/api/v1/agents", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("GET", "/api/v1/agents", nil, agentTok).want(t, 403, "FORBIDDEN")

		if g := s.do("GET", "/api/v1/agents/"+a.ID, nil, bearer(ada.Access)).want(t, 200, ""); g.str("developer_id") != ada.ID {
			t.Fatalf("agent: %s", g.Raw)
		}
		s.do("GET", "/api/v1/agents/"+a.ID, nil, bearer(bob.Access)).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/agents/agt_01M94RTRVW58K5949YF7X55GGK", nil, bearer(ada.Access)).want(t, 404, "AGENT_NOT_FOUND")

		// The TEG alone refuses the developer the agent's wallet; the registry, knowing the owner, answers.
		s.do("GET", "/api/v1/token/balance?account="+a.ID, nil, bearer(ada.Access)).want(t, 403, "FORBIDDEN")
		b := s.do("GET", "/api/v1/agents/"+a.ID+"/balance", nil, bearer(ada.Access)).want(t, 200, "")
		if b.str("account") != a.ID || b.str("liquid") != "100" || b.str("total") != "100" {
			t.Fatalf("balance: %s", b.Raw)
		}
		s.do("GET", "/api/v1/agents/"+a.ID+"/balance", nil, bearer(s.adminKey)).want(t, 200, "")
		s.do("GET", "/api/v1/agents/"+a.ID+"/balance", nil, bearer(bob.Access)).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/agents/"+a.ID+"/balance", nil, agentTok).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/agents/"+a.ID+"/balance", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("GET", "/api/v1/agents/agt_01M94RTRVW58K5949YF7X55GGK/balance", nil, bearer(ada.Access)).want(t, 404, "AGENT_NOT_FOUND")

		// Its ledger history likewise: the owner or an admin, through the registry.
		s.do("GET", "/api/v1/token/transactions?account="+a.ID, nil, bearer(ada.Access)).want(t, 403, "FORBIDDEN")
		h := s.do("GET", "/api/v1/agents/"+a.ID+"/transactions?limit=1", nil, bearer(ada.Access)).want(t, 200, "")
		if items, _ := h.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["kind"] != "grant" || h.str("next_cursor") == "" {
			t.Fatalf("history: %s", h.Raw)
		}
		older := s.do("GET", "/api/v1/agents/"+a.ID+"/transactions?cursor="+h.str("next_cursor"), nil, bearer(ada.Access)).want(t, 200, "")
		if items, _ := older.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["kind"] != "open" {
			t.Fatalf("older history: %s", older.Raw)
		}
		s.do("GET", "/api/v1/agents/"+a.ID+"/transactions", nil, bearer(s.adminKey)).want(t, 200, "")
		s.do("GET", "/api/v1/agents/"+a.ID+"/transactions", nil, bearer(bob.Access)).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/agents/"+a.ID+"/transactions", nil, agentTok).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/agents/"+a.ID+"/transactions", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("GET", "/api/v1/agents/"+a.ID+"/transactions?cursor=garbage", nil, bearer(ada.Access)).want(t, 422, "INVALID_CURSOR")
		s.do("GET", "/api/v1/agents/agt_01M94RTRVW58K5949YF7X55GGK/transactions", nil, bearer(ada.Access)).want(t, 404, "AGENT_NOT_FOUND")

		s.do("POST", "/api/v1/agents/"+a.ID+"/status", map[string]string{"status": "suspended"}, bearer(ada.Access)).want(t, 200, "")
		if l := s.logText(); !strings.Contains(l, `"msg":"agent status changed","agent_id":"`+a.ID+`"`) || !strings.Contains(l, `"to":"suspended","by":"`+ada.ID+`"`) {
			t.Fatalf("no agent-status event for %s in the log:\n%s", a.ID, l)
		}
	}, withGenesis)
}
