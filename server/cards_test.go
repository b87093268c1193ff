package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/agentcard"
)

// card is a valid A2A v1.0 card as a JSON object.
func card(name, desc string, tags ...string) map[string]any {
	return map[string]any{
		"name": name, "description": desc, "version": "1.0.0",
		"supportedInterfaces": []map[string]any{{"url": "https://agents.example.com/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
		"capabilities":        map[string]any{"streaming": true},
		"defaultInputModes":   []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
		"skills": []map[string]any{{"id": "main", "name": "Main skill", "description": desc, "tags": tags}},
	}
}

// waitIndexed waits until the stack's discovery index has loaded.
func (s *stack) waitIndexed() {
	deadline := time.Now().Add(5 * time.Second)
	for !s.server.Cards().IndexReady() {
		if time.Now().After(deadline) {
			s.t.Fatal("discovery index did not load")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCards_PublishDiscoverUpdateDelete(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.waitIndexed()
		ada := s.register("ada@example.com", true)
		bob := s.register("bob@example.com", true)
		eve := s.register("eve@example.com", false)

		// Publish: credentials, a verified email, a valid card.
		s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": card("Weather Agent", "Forecasts", "weather")}).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": card("Weather Agent", "Forecasts", "weather")}, bearer(eve.Access)).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/agent-cards", map[string]any{}, bearer(ada.Access)).want(t, 422, "MISSING_FIELD")
		s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": card("Weather Agent", "Forecasts", "weather"), "extra": 1}, bearer(ada.Access)).want(t, 422, "UNKNOWN_FIELD")
		bad := card("Bad", "x", "t")
		bad["supportedInterfaces"] = []map[string]any{{"url": "not a url", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}}
		s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": bad}, bearer(ada.Access)).want(t, 422, "INVALID_URL")
		dup := card("Dup", "x", "t")
		dup["skills"] = []map[string]any{{"id": "a", "name": "a", "description": "a", "tags": []string{"t"}}, {"id": "a", "name": "b", "description": "b", "tags": []string{"t"}}}
		s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": dup}, bearer(ada.Access)).want(t, 422, "DUPLICATE_SKILL_ID")
		huge := card("Huge", strings.Repeat("x", 300<<10), "t")
		if r := s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": huge}, bearer(ada.Access)); r.Status != 413 {
			t.Fatalf("huge card: %d %s", r.Status, r.Raw[:min(len(r.Raw), 200)])
		}
		s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": card("Unsigned", "x", "t"), "signed_only": true}, bearer(ada.Access)).want(t, 422, "SIGNATURE_REQUIRED")

		created := s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": card("Weather Agent", "Forecasts rain and sun", "weather", "forecast")}, bearer(ada.Access)).want(t, 201, "")
		id := created.str("id")
		if created.str("urn") != "urn:air:registry.test:agent:weather-agent" || created.Body["version"] != 1.0 || created.Header.Get("Location") != "/api/v1/agent-cards/"+id {
			t.Fatalf("created %s", created.Raw)
		}
		s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": card("Tax Helper", "Files taxes", "tax")}, bearer(bob.Access)).want(t, 201, "")

		// A v0.3 card is converted.
		v03 := map[string]any{"name": "Legacy", "description": "old card", "version": "0.1", "url": "https://legacy.example.com/a2a",
			"protocolVersion": "0.3.0", "capabilities": map[string]any{}, "defaultInputModes": []string{"text/plain"},
			"defaultOutputModes": []string{"text/plain"}, "skills": []map[string]any{{"id": "s", "name": "s", "description": "s", "tags": []string{"legacy"}}}}
		legacy := s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": v03}, bearer(bob.Access)).want(t, 201, "")
		if legacy.str("source_version") != "0.3" {
			t.Fatalf("v0.3 card: %s", legacy.Raw)
		}
		cd := legacy.Body["card_data"].(map[string]any)
		if ifs := cd["supportedInterfaces"].([]any); ifs[0].(map[string]any)["url"] != "https://legacy.example.com/a2a" {
			t.Fatalf("converted card %v", cd)
		}

		// Read, ETag, the card document.
		g := s.do("GET", "/api/v1/agent-cards/"+id, nil).want(t, 200, "")
		if r := s.do("GET", "/api/v1/agent-cards/"+id, nil, hdr{"If-None-Match", g.Header.Get("ETag")}); r.Status != 304 {
			t.Fatalf("If-None-Match: %d", r.Status)
		}
		s.do("GET", "/api/v1/agent-cards/agt_nope", nil).want(t, 404, "CARD_NOT_FOUND")
		doc := s.do("GET", "/agents/"+id+"/.well-known/agent-card.json", nil).want(t, 200, "")
		if doc.str("name") != "Weather Agent" || doc.Header.Get("ETag") == "" || !strings.Contains(doc.Header.Get("Cache-Control"), "max-age") {
			t.Fatalf("card document %d %v %s", doc.Status, doc.Header, doc.Raw)
		}
		if _, err := agentcard.Parse(t.Context(), doc.Raw, nil); err != nil {
			t.Fatalf("served card does not validate: %v", err)
		}
		if r := s.do("GET", "/agents/"+id+"/.well-known/agent-card.json", nil, hdr{"If-None-Match", doc.Header.Get("ETag")}); r.Status != 304 {
			t.Fatalf("card document If-None-Match: %d", r.Status)
		}

		// Discovery.
		d := s.do("GET", "/api/v1/agent-cards?q=forecast", nil).want(t, 200, "")
		items := d.Body["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["id"] != id || items[0].(map[string]any)["score"] == nil {
			t.Fatalf("q=forecast: %s", d.Raw)
		}
		if sc, ok := items[0].(map[string]any)["score"].(float64); !ok || sc != float64(int(sc)) || sc < 20 || sc > 100 || d.Body["did_you_mean"] != nil {
			t.Fatalf("q=forecast: the score is a relevance from 20 to 100, no correction: %s", d.Raw)
		}
		// A sentence finds the card; a misspelling too, with the corrected query.
		if r := s.do("GET", "/api/v1/agent-cards?q="+url.QueryEscape("what is the weather forecast for Paris"), nil).want(t, 200, ""); len(r.Body["items"].([]any)) != 1 {
			t.Fatalf("sentence: %s", r.Raw)
		}
		if r := s.do("GET", "/api/v1/agent-cards?q=forcasts", nil).want(t, 200, ""); len(r.Body["items"].([]any)) != 1 || r.str("did_you_mean") == "" {
			t.Fatalf("typo: %s", r.Raw)
		}
		if r := s.do("GET", "/api/v1/agent-cards?q="+url.QueryEscape("medieval armour restoration"), nil).want(t, 200, ""); len(r.Body["items"].([]any)) != 0 {
			t.Fatalf("nothing relevant: %s", r.Raw)
		}
		if r := s.do("GET", "/api/v1/agent-cards?q=forecast", nil, hdr{"If-None-Match", d.Header.Get("ETag")}); r.Status != 304 {
			t.Fatalf("discovery If-None-Match: %d", r.Status)
		}
		for _, q := range []string{`"`, `*`, `NEAR`, `'`, `--`, `weather" OR 1=1 --`, `NEAR(a b)`, `a*`} {
			s.do("GET", "/api/v1/agent-cards?q="+url.QueryEscape(q), nil).want(t, 200, "")
		}
		if r := s.do("GET", "/api/v1/agent-cards?tag=weather&capability=streaming", nil).want(t, 200, ""); len(r.Body["items"].([]any)) != 1 {
			t.Fatalf("tag filter: %s", r.Raw)
		}
		if r := s.do("GET", "/api/v1/agent-cards?tag=weather&tag=tax", nil).want(t, 200, ""); len(r.Body["items"].([]any)) != 0 {
			t.Fatalf("tags AND: %s", r.Raw)
		}
		s.do("GET", "/api/v1/agent-cards?color=blue", nil).want(t, 400, "UNKNOWN_FILTER")
		s.do("GET", "/api/v1/agent-cards?status=gone", nil).want(t, 422, "INVALID_FIELD")
		s.do("GET", "/api/v1/agent-cards?owned_only=true", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		if r := s.do("GET", "/api/v1/agent-cards?owned_only=true", nil, bearer(bob.Access)).want(t, 200, ""); len(r.Body["items"].([]any)) != 2 {
			t.Fatalf("owned_only: %s", r.Raw)
		}
		f := s.do("GET", "/api/v1/agent-cards?fields=name,urn&limit=1", nil).want(t, 200, "")
		first := f.Body["items"].([]any)[0].(map[string]any)
		if len(first) != 3 || first["name"] == nil || first["urn"] == nil || f.str("next_cursor") == "" {
			t.Fatalf("fields: %s", f.Raw)
		}
		s.do("GET", "/api/v1/agent-cards?fields=password", nil).want(t, 400, "UNKNOWN_FIELD")
		page2 := s.do("GET", "/api/v1/agent-cards?limit=1&cursor="+f.str("next_cursor"), nil).want(t, 200, "")
		if page2.Body["items"].([]any)[0].(map[string]any)["id"] == first["id"] {
			t.Fatalf("page 2 repeats page 1")
		}
		s.do("GET", "/api/v1/agent-cards?q=tax&cursor="+f.str("next_cursor"), nil).want(t, 422, "INVALID_CURSOR")
		s.do("GET", "/api/v1/agent-cards?cursor=garbage", nil).want(t, 422, "INVALID_CURSOR")

		// Update: owner only; version and history; If-Match.
		upd := map[string]any{"card_data": card("Weather Agent", "Forecasts rain, sun and snow", "weather", "snow")}
		s.do("PUT", "/api/v1/agent-cards/"+id, upd, bearer(bob.Access)).want(t, 403, "FORBIDDEN")
		s.do("PUT", "/api/v1/agent-cards/"+id, upd).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("PUT", "/api/v1/agent-cards/"+id, upd, bearer(ada.Access), hdr{"If-Match", `"stale"`}).want(t, 409, "VERSION_CONFLICT")
		u := s.do("PUT", "/api/v1/agent-cards/"+id, upd, bearer(ada.Access), hdr{"If-Match", g.Header.Get("ETag")}).want(t, 200, "")
		if u.Body["version"] != 2.0 {
			t.Fatalf("update %s", u.Raw)
		}
		s.do("PUT", "/api/v1/agent-cards/"+id, upd, bearer(ada.Access), hdr{"If-Match", "1"}).want(t, 409, "VERSION_CONFLICT")
		if r := s.do("GET", "/api/v1/agent-cards?q=snow", nil).want(t, 200, ""); len(r.Body["items"].([]any)) != 1 {
			t.Fatalf("updated card not found by its new text: %s", r.Raw)
		}

		// Delete: owner only, soft; history stays.
		s.do("DELETE", "/api/v1/agent-cards/"+id, nil, bearer(bob.Access)).want(t, 403, "FORBIDDEN")
		s.do("DELETE", "/api/v1/agent-cards/"+id, nil, bearer(ada.Access)).want(t, 204, "")
		s.do("GET", "/api/v1/agent-cards/"+id, nil).want(t, 404, "CARD_NOT_FOUND")
		s.do("GET", "/agents/"+id+"/.well-known/agent-card.json", nil).want(t, 404, "CARD_NOT_FOUND")
		if r := s.do("GET", "/api/v1/agent-cards?q=weather", nil).want(t, 200, ""); len(r.Body["items"].([]any)) != 0 {
			t.Fatalf("deleted card still discovered: %s", r.Raw)
		}
		h := s.do("GET", "/api/v1/agent-cards/"+id+"/history?limit=2", nil).want(t, 200, "")
		if hi := h.Body["items"].([]any); len(hi) != 2 || hi[0].(map[string]any)["change"] != "created" || h.str("next_cursor") == "" {
			t.Fatalf("history %s", h.Raw)
		}
		h2 := s.do("GET", "/api/v1/agent-cards/"+id+"/history?cursor="+h.str("next_cursor"), nil).want(t, 200, "")
		if hi := h2.Body["items"].([]any); len(hi) != 1 || hi[0].(map[string]any)["change"] != "deleted" {
			t.Fatalf("history page 2 %s", h2.Raw)
		}
		s.do("GET", "/api/v1/agent-cards/agt_nope/history", nil).want(t, 404, "CARD_NOT_FOUND")
	})
}

func TestCards_ValidateAndSignatures(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		ok := s.do("POST", "/api/v1/utils/validate-card", map[string]any{"card_data": card("A", "b", "c")}).want(t, 200, "")
		if ok.Body["is_valid"] != true || ok.Body["validated_card_data"] == nil {
			t.Fatalf("valid card: %s", ok.Raw)
		}
		noName := card("A", "b", "c")
		delete(noName, "name")
		r := s.do("POST", "/api/v1/utils/validate-card", map[string]any{"card_data": noName}).want(t, 200, "")
		if r.Body["is_valid"] != false || r.str("code") != "MISSING_FIELD" || r.str("field") != "name" {
			t.Fatalf("invalid card: %s", r.Raw)
		}
		s.do("POST", "/api/v1/utils/validate-card", `{"card_data":`).want(t, 400, "MALFORMED_JSON")

		// A signed card: verified when intact, stored as invalid when tampered, refused
		// when the owner asked for signed-only.
		raw, _ := json.Marshal(card("Signed Agent", "signed", "sig"))
		p, err := agentcard.Parse(t.Context(), raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		if err := agentcard.Sign(p.Card, key, "k1"); err != nil {
			t.Fatal(err)
		}
		signed, _ := agentcard.Marshal(p.Card)
		v := s.do("POST", "/api/v1/agent-cards", fmt.Sprintf(`{"card_data":%s,"signed_only":true}`, signed), bearer(ada.Access)).want(t, 201, "")
		if v.str("signature_status") != "verified" {
			t.Fatalf("signed card: %s", v.Raw)
		}
		tampered := strings.Replace(string(signed), `"signed"`, `"tampered"`, 1)
		s.do("POST", "/api/v1/agent-cards", fmt.Sprintf(`{"card_data":%s,"signed_only":true}`, tampered), bearer(ada.Access)).want(t, 422, "SIGNATURE_REQUIRED")
		inv := s.do("POST", "/api/v1/agent-cards", fmt.Sprintf(`{"card_data":%s}`, tampered), bearer(ada.Access)).want(t, 201, "")
		if inv.str("signature_status") != "invalid" {
			t.Fatalf("tampered card: %s", inv.Raw)
		}
	})
}

func TestCards_ARDAndTemplatesEndToEnd(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.waitIndexed()
		ada := s.register("ada@example.com", true)
		c := s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": card("Storm Watcher", "Storm alerts", "weather")}, bearer(ada.Access)).want(t, 201, "")
		urn := c.str("urn")
		r := s.do("POST", "/ard/v1/search", map[string]any{"query": map[string]any{"text": "storm"}}).want(t, 200, "")
		res := r.Body["results"].([]any)
		if len(res) != 1 || res[0].(map[string]any)["identifier"] != urn || res[0].(map[string]any)["url"] != "http://registry.test/agents/"+c.str("id")+"/.well-known/agent-card.json" {
			t.Fatalf("ARD search: %s", r.Raw)
		}
		if g := s.do("GET", "/ard/v1/agents/"+url.PathEscape(urn), nil).want(t, 200, ""); g.str("identifier") != urn {
			t.Fatalf("ARD get: %s", g.Raw)
		}
		m := s.do("GET", "/.well-known/ai-catalog.json", nil).want(t, 200, "")
		if m.str("specVersion") != "1.0" || len(m.Body["entries"].([]any)) != 1 {
			t.Fatalf("manifest: %s", m.Raw)
		}
		l := s.do("GET", "/api/v1/templates", nil).want(t, 200, "")
		if len(l.Body["items"].([]any)) < 3 {
			t.Fatalf("templates: %s", l.Raw)
		}
		rend := s.do("POST", "/api/v1/templates/echo-agent/render", map[string]any{"parameters": map[string]any{"name": "My Echo"}}).want(t, 200, "")
		cardData, _ := json.Marshal(rend.Body["card"])
		s.do("POST", "/api/v1/agent-cards", fmt.Sprintf(`{"card_data":%s}`, cardData), bearer(ada.Access)).want(t, 201, "")
	})
}
