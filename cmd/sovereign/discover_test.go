package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDiscover_PrintsATableOrJSON(t *testing.T) {
	t.Setenv("SOVEREIGN_API_KEY", "")
	srv, hs := startStack(t)
	for deadline := time.Now().Add(5 * time.Second); !srv.Cards().IndexReady(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("index not loaded")
		}
	}
	api := &apiClient{base: hs.URL, credential: srv.AdminKey, http: http.DefaultClient}
	for _, c := range []struct{ name, tag string }{{"Weather Oracle", "weather"}, {"Travel Planner", "travel"}} {
		card := map[string]any{"name": c.name, "description": "Helps with " + c.tag, "version": "1.0.0",
			"supportedInterfaces": []map[string]any{{"url": "https://a.example.com/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
			"capabilities":        map[string]any{}, "defaultInputModes": []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
			"skills": []map[string]any{{"id": c.tag + "-skill", "name": c.tag, "description": c.tag, "tags": []string{c.tag}}}}
		if err := api.do(http.MethodPost, "/api/v1/agent-cards", nil, map[string]any{"card_data": card}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	out, err := run(t, ctx, "discover", "weather", "--registry", hs.URL)
	if err != nil || !strings.Contains(out, "NAME") || !strings.Contains(out, "Weather Oracle") || strings.Contains(out, "Travel Planner") ||
		!strings.Contains(out, "weather-skill") || !strings.Contains(out, "active") {
		t.Fatalf("discover weather = %q, %v", out, err)
	}
	out, err = run(t, ctx, "discover", "can you find me an agent for the wether", "--registry", hs.URL)
	if err != nil || !strings.Contains(out, "did you mean: agent weather") || !strings.Contains(out, "Weather Oracle") {
		t.Fatalf("discover with a typo = %q, %v", out, err)
	}
	out, err = run(t, ctx, "discover", "--tag", "travel", "--json", "--registry", hs.URL)
	var items []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &items) != nil || len(items) != 1 || items[0]["name"] != "Travel Planner" {
		t.Fatalf("discover --tag travel --json = %q, %v", out, err)
	}
	out, err = run(t, ctx, "discover", "--limit", "1", "--all", "--registry", hs.URL)
	if err != nil || !strings.Contains(out, "Weather Oracle") || !strings.Contains(out, "Travel Planner") {
		t.Fatalf("discover --all = %q, %v", out, err)
	}
	if out, err := run(t, ctx, "discover", "nothing-matches", "--registry", hs.URL); err != nil || !strings.Contains(out, "no agent cards match") {
		t.Fatalf("no match = %q, %v", out, err)
	}
	if _, err := run(t, ctx, "discover", "--status", "gone", "--registry", hs.URL); err == nil || !strings.Contains(err.Error(), "INVALID_FIELD") {
		t.Fatalf("bad status: %v", err)
	}
	if _, err := run(t, ctx, "discover", "--owned", "--registry", hs.URL); err == nil || !strings.Contains(err.Error(), "AUTHENTICATION_REQUIRED") {
		t.Fatalf("--owned without credential: %v", err)
	}
}
