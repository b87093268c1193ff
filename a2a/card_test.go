package a2a

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

func testCard() *a2apb.AgentCard {
	streaming := true
	return &a2apb.AgentCard{
		Name: "echo", Description: "echoes", Version: "1.2.3",
		SupportedInterfaces: []*a2apb.AgentInterface{
			{Url: "https://a.example/rpc", ProtocolBinding: BindingJSONRPC, ProtocolVersion: "1.0"},
			{Url: "https://a.example/rest", ProtocolBinding: BindingHTTPJSON, ProtocolVersion: "1.0"},
		},
		Capabilities:      &a2apb.AgentCapabilities{Streaming: &streaming},
		DefaultInputModes: []string{"text/plain"}, DefaultOutputModes: []string{"text/plain"},
		Skills: []*a2apb.AgentSkill{{Id: "echo", Name: "Echo", Description: "echo", Tags: []string{"t"}}},
	}
}

// TestCardHandler_ETagAndLegacyPath checks the well-known card: body, ETag, Cache-Control, 304
// on a matching If-None-Match, the v0.3 shape at the legacy path, 404 and 405.
func TestCardHandler_ETagAndLegacyPath(t *testing.T) {
	h := CardHandler(testCard())
	get := func(method, path, inm string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("GET", WellKnownCardPath, "")
	etag := w.Header().Get("ETag")
	if w.Code != 200 || etag == "" || w.Header().Get("Cache-Control") == "" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("card = %d %v", w.Code, w.Header())
	}
	card, err := ParseAgentCard(w.Body.Bytes())
	if err != nil || !proto.Equal(card, testCard()) {
		t.Fatalf("served card = %v, %v", card, err)
	}
	for _, inm := range []string{etag, "W/" + etag, `"x", ` + etag, "*"} {
		if w := get("GET", WellKnownCardPath, inm); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Fatalf("If-None-Match %s = %d", inm, w.Code)
		}
	}
	if w := get("GET", WellKnownCardPath, `"other"`); w.Code != 200 {
		t.Fatalf("stale If-None-Match = %d", w.Code)
	}
	if w := get("HEAD", WellKnownCardPath, ""); w.Code != 200 || w.Body.Len() != 0 {
		t.Fatalf("HEAD = %d", w.Code)
	}

	w = get("GET", WellKnownCardPathLegacy, "")
	var legacy map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &legacy); err != nil || legacy["url"] != "https://a.example/rpc" ||
		legacy["preferredTransport"] != "JSONRPC" || legacy["protocolVersion"] == "" {
		t.Fatalf("legacy card = %s", w.Body.Bytes())
	}
	if w.Header().Get("ETag") == etag {
		t.Fatal("legacy card has the v1.0 card's ETag")
	}
	back, err := ParseAgentCard(w.Body.Bytes())
	if err != nil || back.GetSupportedInterfaces()[0].GetProtocolVersion() != "0.3.0" || back.GetName() != "echo" || len(back.GetSkills()) != 1 {
		t.Fatalf("legacy card read back = %v, %v", back, err)
	}

	if w := get("POST", WellKnownCardPath, ""); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST = %d", w.Code)
	}
	if w := get("GET", "/.well-known/other", ""); w.Code != http.StatusNotFound {
		t.Fatalf("other path = %d", w.Code)
	}
}
