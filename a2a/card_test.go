package a2a

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	a2ago "github.com/a2aproject/a2a-go/a2a"
	"google.golang.org/protobuf/encoding/protojson"
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

// TestCardHandler_LastModified checks Last-Modified beside the ETag and If-Modified-Since: 304
// when the card has not changed since, 200 for an older date, and If-None-Match taking
// precedence when both are sent.
func TestCardHandler_LastModified(t *testing.T) {
	h := CardHandler(testCard())
	get := func(hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", WellKnownCardPath, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get(nil)
	lm, err := http.ParseTime(w.Header().Get("Last-Modified"))
	if w.Code != 200 || err != nil || w.Header().Get("ETag") == "" {
		t.Fatalf("card = %d %v (%v)", w.Code, w.Header(), err)
	}
	if w := get(map[string]string{"If-Modified-Since": lm.Format(http.TimeFormat)}); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Fatalf("If-Modified-Since = Last-Modified: %d", w.Code)
	}
	if w := get(map[string]string{"If-Modified-Since": lm.Add(time.Hour).Format(http.TimeFormat)}); w.Code != http.StatusNotModified {
		t.Fatalf("If-Modified-Since later: %d", w.Code)
	}
	if w := get(map[string]string{"If-Modified-Since": lm.Add(-time.Hour).Format(http.TimeFormat)}); w.Code != 200 {
		t.Fatalf("If-Modified-Since earlier: %d", w.Code)
	}
	if w := get(map[string]string{"If-Modified-Since": "not a date"}); w.Code != 200 {
		t.Fatalf("bad If-Modified-Since: %d", w.Code)
	}
	if w := get(map[string]string{"If-Modified-Since": lm.Format(http.TimeFormat), "If-None-Match": `"other"`}); w.Code != 200 {
		t.Fatalf("If-None-Match wins over If-Modified-Since: %d", w.Code)
	}
}

// TestCardHandler_OneCardForBothVersions checks the card at /.well-known/agent-card.json reads as
// the same v1.0 card and, decoded by the a2a-go v0.3.3 types, as a usable v0.3 card: url,
// preferredTransport, protocolVersion, security schemes with their v0.3 types, arrays not null.
func TestCardHandler_OneCardForBothVersions(t *testing.T) {
	card := testCard()
	card.Skills = append(card.Skills, &a2apb.AgentSkill{Id: "bare", Name: "Bare", Description: "no tags"})
	card.SecuritySchemes = map[string]*a2apb.SecurityScheme{
		"bearer": {Scheme: &a2apb.SecurityScheme_HttpAuthSecurityScheme{HttpAuthSecurityScheme: &a2apb.HTTPAuthSecurityScheme{Scheme: "Bearer", BearerFormat: "JWT"}}},
		"key":    {Scheme: &a2apb.SecurityScheme_ApiKeySecurityScheme{ApiKeySecurityScheme: &a2apb.APIKeySecurityScheme{Location: "header", Name: "X-API-Key"}}},
		"mtls":   {Scheme: &a2apb.SecurityScheme_MtlsSecurityScheme{MtlsSecurityScheme: &a2apb.MutualTlsSecurityScheme{}}},
	}
	card.SecurityRequirements = []*a2apb.SecurityRequirement{{Schemes: map[string]*a2apb.StringList{"bearer": {}}}}
	w := httptest.NewRecorder()
	CardHandler(card).ServeHTTP(w, httptest.NewRequest("GET", WellKnownCardPath, nil))

	back, err := ParseAgentCard(w.Body.Bytes())
	if err != nil || !proto.Equal(back, card) {
		t.Fatalf("v1.0 reader: %v, %v", back, err)
	}
	strict := &a2apb.AgentCard{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(w.Body.Bytes(), strict); err != nil || !proto.Equal(strict, card) {
		t.Fatalf("protojson reader: %v", err)
	}

	var old a2ago.AgentCard
	if err := json.Unmarshal(w.Body.Bytes(), &old); err != nil {
		t.Fatalf("a2a-go v0.3.3 reader: %v\n%s", err, w.Body.Bytes())
	}
	if old.URL != "https://a.example/rpc" || old.PreferredTransport != a2ago.TransportProtocolJSONRPC || old.ProtocolVersion != "0.3.0" {
		t.Fatalf("v0.3 card = url %q transport %q version %q", old.URL, old.PreferredTransport, old.ProtocolVersion)
	}
	if _, ok := old.SecuritySchemes["bearer"].(a2ago.HTTPAuthSecurityScheme); !ok {
		t.Fatalf("v0.3 bearer scheme = %#v", old.SecuritySchemes["bearer"])
	}
	if k, ok := old.SecuritySchemes["key"].(a2ago.APIKeySecurityScheme); !ok || k.In != "header" || k.Name != "X-API-Key" {
		t.Fatalf("v0.3 api key scheme = %#v", old.SecuritySchemes["key"])
	}
	if len(old.Security) != 1 || old.Skills[1].Tags == nil || old.DefaultInputModes == nil {
		t.Fatalf("v0.3 card = %+v", old)
	}
	var raw map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &raw)
	for _, k := range []string{"defaultInputModes", "defaultOutputModes", "skills", "additionalInterfaces"} {
		if _, ok := raw[k].([]any); !ok {
			t.Fatalf("%s = %v, want an array", k, raw[k])
		}
	}
}
