package agentcard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/apperr"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutated returns the fixture after f changed its decoded JSON.
func mutated(t testing.TB, name string, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, name), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at walks decoded JSON by object keys and array indexes.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func obj(v any, path ...any) map[string]any { return at(v, path...).(map[string]any) }

func repeat(n int, s string) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func wantErr(t *testing.T, err error, kind apperr.Kind, code, field string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("error = %v, want *apperr.Error %s", err, code)
	}
	if e.Kind != kind || e.Code != code {
		t.Fatalf("error = %v (kind %d), want kind %d code %s", err, e.Kind, kind, code)
	}
	if field != "" && e.Details["field"] != field {
		t.Fatalf("error %v: field = %v, want %q", err, e.Details["field"], field)
	}
}

func TestParse_AcceptsFullV10Card(t *testing.T) {
	p, err := Parse(context.Background(), readFixture(t, "card_v1.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.SourceVersion != Version10 {
		t.Errorf("SourceVersion = %q", p.SourceVersion)
	}
	c := p.Card
	if c.GetName() != "Recipe Agent" || len(c.GetSupportedInterfaces()) != 3 || len(c.GetSkills()) != 2 ||
		len(c.GetSecuritySchemes()) != 6 || !c.GetCapabilities().GetExtendedAgentCard() {
		t.Errorf("card not read fully: %v", c)
	}
	if got := c.GetSecuritySchemes()["oauth"].GetOauth2SecurityScheme().GetFlows().GetAuthorizationCode().GetScopes()["recipes:write"]; got != "Write recipes" {
		t.Errorf("oauth scopes = %q", got)
	}
	if p.Signatures != nil {
		t.Errorf("Signatures = %v, want none", p.Signatures)
	}
}

func TestParse_DetectsVersion(t *testing.T) {
	v1 := readFixture(t, "card_v1.json")
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"supportedInterfaces", v1, Version10},
		{"url", readFixture(t, "card_v03.json"), Version03},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(context.Background(), tt.data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.SourceVersion != tt.want {
				t.Errorf("SourceVersion = %q, want %q", p.SourceVersion, tt.want)
			}
		})
	}
	// A protocolVersion of 0.x alone marks v0.3: conversion then fails for lack of a url.
	_, err := Parse(context.Background(), mutated(t, "card_v03.json", func(m map[string]any) { delete(m, "url") }), nil)
	wantErr(t, err, apperr.Invalid, "CARD_CONVERSION_FAILED", "url")
	// With supportedInterfaces the card is v1.0, so a url is an unknown field, not a v0.3 marker.
	_, err = Parse(context.Background(), mutated(t, "card_v1.json", func(m map[string]any) { m["url"] = "https://x.example" }), nil)
	wantErr(t, err, apperr.Invalid, "UNKNOWN_FIELD", "url")
	// Neither marker: strict v1.0.
	_, err = Parse(context.Background(), mutated(t, "card_v1.json", func(m map[string]any) {
		delete(m, "supportedInterfaces")
		m["protocolVersion"] = "1.0"
	}), nil)
	wantErr(t, err, apperr.Invalid, "UNKNOWN_FIELD", "protocolVersion")
}

func TestParse_RejectsMalformedAndOversized(t *testing.T) {
	ctx := context.Background()
	for _, data := range []string{"", "{", `{"name":}`, `{"a":1} {}`, "nul"} {
		_, err := Parse(ctx, []byte(data), nil)
		wantErr(t, err, apperr.BadRequest, "MALFORMED_JSON", "")
	}
	for _, data := range []string{"[]", `"card"`, "null", "42"} {
		_, err := Parse(ctx, []byte(data), nil)
		wantErr(t, err, apperr.Invalid, "INVALID_CARD", "")
	}
	big := mutated(t, "card_v1.json", func(m map[string]any) { m["description"] = strings.Repeat("x", MaxSize) })
	_, err := Parse(ctx, big, nil)
	wantErr(t, err, apperr.TooLarge, "CARD_TOO_LARGE", "")
	_, err = ConvertV03(big)
	wantErr(t, err, apperr.TooLarge, "CARD_TOO_LARGE", "")
}

func TestParse_RejectsBrokenRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name  string
		f     func(m map[string]any)
		code  string
		field string
	}{
		// Strict ProtoJSON.
		{"unknown top-level field", func(m map[string]any) { m["color"] = "blue" }, "UNKNOWN_FIELD", "color"},
		{"unknown nested field", func(m map[string]any) { obj(m, "skills", 0)["color"] = "blue" }, "UNKNOWN_FIELD", "color"},
		{"wrong type", func(m map[string]any) { m["name"] = 42 }, "INVALID_CARD", ""},
		{"wrong type in list", func(m map[string]any) { m["skills"] = "all" }, "INVALID_CARD", ""},
		// Required fields.
		{"no name", func(m map[string]any) { delete(m, "name") }, "MISSING_FIELD", "name"},
		{"empty description", func(m map[string]any) { m["description"] = "" }, "MISSING_FIELD", "description"},
		{"no interfaces", func(m map[string]any) { m["supportedInterfaces"] = []any{} }, "MISSING_FIELD", "supportedInterfaces"},
		{"interface without url", func(m map[string]any) { delete(obj(m, "supportedInterfaces", 1), "url") }, "MISSING_FIELD", "supportedInterfaces[1].url"},
		{"interface without binding", func(m map[string]any) { delete(obj(m, "supportedInterfaces", 0), "protocolBinding") }, "MISSING_FIELD", "supportedInterfaces[0].protocolBinding"},
		{"interface without version", func(m map[string]any) { delete(obj(m, "supportedInterfaces", 2), "protocolVersion") }, "MISSING_FIELD", "supportedInterfaces[2].protocolVersion"},
		{"no version", func(m map[string]any) { delete(m, "version") }, "MISSING_FIELD", "version"},
		{"no capabilities", func(m map[string]any) { delete(m, "capabilities") }, "MISSING_FIELD", "capabilities"},
		{"no input modes", func(m map[string]any) { delete(m, "defaultInputModes") }, "MISSING_FIELD", "defaultInputModes"},
		{"no output modes", func(m map[string]any) { m["defaultOutputModes"] = []any{} }, "MISSING_FIELD", "defaultOutputModes"},
		{"no skills", func(m map[string]any) { delete(m, "skills") }, "MISSING_FIELD", "skills"},
		{"skill without id", func(m map[string]any) { delete(obj(m, "skills", 1), "id") }, "MISSING_FIELD", "skills[1].id"},
		{"skill without name", func(m map[string]any) { delete(obj(m, "skills", 0), "name") }, "MISSING_FIELD", "skills[0].name"},
		{"skill without description", func(m map[string]any) { delete(obj(m, "skills", 0), "description") }, "MISSING_FIELD", "skills[0].description"},
		{"skill without tags", func(m map[string]any) { delete(obj(m, "skills", 1), "tags") }, "MISSING_FIELD", "skills[1].tags"},
		{"provider without url", func(m map[string]any) { delete(obj(m, "provider"), "url") }, "MISSING_FIELD", "provider.url"},
		{"provider without organization", func(m map[string]any) { delete(obj(m, "provider"), "organization") }, "MISSING_FIELD", "provider.organization"},
		{"signature without protected", func(m map[string]any) { m["signatures"] = []any{map[string]any{"signature": "abc"}} }, "MISSING_FIELD", "signatures[0].protected"},
		{"signature without signature", func(m map[string]any) { m["signatures"] = []any{map[string]any{"protected": "abc"}} }, "MISSING_FIELD", "signatures[0].signature"},
		{"empty security scheme", func(m map[string]any) { obj(m, "securitySchemes")["none"] = map[string]any{} }, "MISSING_FIELD", "securitySchemes.none"},
		{"oauth2 without flow", func(m map[string]any) {
			obj(m, "securitySchemes")["o"] = map[string]any{"oauth2SecurityScheme": map[string]any{}}
		}, "MISSING_FIELD", "securitySchemes.o.oauth2SecurityScheme.flows"},
		{"auth code without token url", func(m map[string]any) {
			delete(obj(m, "securitySchemes", "oauth", "oauth2SecurityScheme", "flows", "authorizationCode"), "tokenUrl")
		}, "MISSING_FIELD", "securitySchemes.oauth.oauth2SecurityScheme.flows.authorizationCode.tokenUrl"},
		{"api key without name", func(m map[string]any) { delete(obj(m, "securitySchemes", "apiKey", "apiKeySecurityScheme"), "name") }, "MISSING_FIELD", "securitySchemes.apiKey.apiKeySecurityScheme.name"},
		{"extension without uri", func(m map[string]any) { delete(obj(m, "capabilities", "extensions", 0), "uri") }, "MISSING_FIELD", "capabilities.extensions[0].uri"},
		// URLs.
		{"relative interface url", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["url"] = "/a2a" }, "INVALID_URL", "supportedInterfaces[0].url"},
		{"ftp interface url", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["url"] = "ftp://x.example/a2a" }, "INVALID_URL", "supportedInterfaces[0].url"},
		{"grpc url of a JSON-RPC interface", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["url"] = "grpc://x.example:1" }, "INVALID_URL", "supportedInterfaces[0].url"},
		{"grpc interface without host", func(m map[string]any) {
			in := obj(m, "supportedInterfaces", 0)
			in["protocolBinding"], in["url"] = "GRPC", "grpc:///x"
		}, "INVALID_URL", "supportedInterfaces[0].url"},
		{"url without host", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["url"] = "https:///a2a" }, "INVALID_URL", "supportedInterfaces[0].url"},
		{"url with user info", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["url"] = "https://u:p@x.example/" }, "INVALID_URL", "supportedInterfaces[0].url"},
		{"unparsable url", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["url"] = "https://x.example/%zz" }, "INVALID_URL", "supportedInterfaces[0].url"},
		{"url too long", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["url"] = "https://x.example/" + long(2048) }, "INVALID_URL", "supportedInterfaces[0].url"},
		{"bad provider url", func(m map[string]any) { obj(m, "provider")["url"] = "example.com" }, "INVALID_URL", "provider.url"},
		{"bad documentation url", func(m map[string]any) { m["documentationUrl"] = "mailto:a@b.example" }, "INVALID_URL", "documentationUrl"},
		{"empty icon url", func(m map[string]any) { m["iconUrl"] = "" }, "INVALID_URL", "iconUrl"},
		{"bad oauth url", func(m map[string]any) {
			obj(m, "securitySchemes", "oauth", "oauth2SecurityScheme", "flows", "authorizationCode")["authorizationUrl"] = "javascript:alert(1)"
		}, "INVALID_URL", "securitySchemes.oauth.oauth2SecurityScheme.flows.authorizationCode.authorizationUrl"},
		{"bad oauth metadata url", func(m map[string]any) {
			obj(m, "securitySchemes", "oauth", "oauth2SecurityScheme")["oauth2MetadataUrl"] = "nope"
		}, "INVALID_URL", "securitySchemes.oauth.oauth2SecurityScheme.oauth2MetadataUrl"},
		{"bad oidc url", func(m map[string]any) {
			obj(m, "securitySchemes", "oidc", "openIdConnectSecurityScheme")["openIdConnectUrl"] = "file:///etc/passwd"
		}, "INVALID_URL", "securitySchemes.oidc.openIdConnectSecurityScheme.openIdConnectUrl"},
		// Bindings and versions.
		{"binding with space", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["protocolBinding"] = "JSON RPC" }, "INVALID_FIELD", "supportedInterfaces[0].protocolBinding"},
		{"binding too long", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["protocolBinding"] = long(65) }, "INVALID_FIELD", "supportedInterfaces[0].protocolBinding"},
		{"protocol version word", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["protocolVersion"] = "latest" }, "INVALID_FIELD", "supportedInterfaces[0].protocolVersion"},
		{"protocol version four parts", func(m map[string]any) { obj(m, "supportedInterfaces", 0)["protocolVersion"] = "1.0.0.0" }, "INVALID_FIELD", "supportedInterfaces[0].protocolVersion"},
		// Skills.
		{"duplicate skill id", func(m map[string]any) { obj(m, "skills", 1)["id"] = "find-recipe" }, "DUPLICATE_SKILL_ID", "skills[1].id"},
		{"skill id with space", func(m map[string]any) { obj(m, "skills", 0)["id"] = "find recipe" }, "INVALID_FIELD", "skills[0].id"},
		{"skill id leading dash", func(m map[string]any) { obj(m, "skills", 0)["id"] = "-x" }, "INVALID_FIELD", "skills[0].id"},
		{"skill id too long", func(m map[string]any) { obj(m, "skills", 0)["id"] = long(129) }, "INVALID_FIELD", "skills[0].id"},
		{"empty tag", func(m map[string]any) { obj(m, "skills", 0)["tags"] = []any{"ok", " "} }, "INVALID_FIELD", "skills[0].tags[1]"},
		// Media types.
		{"bad input mode", func(m map[string]any) { m["defaultInputModes"] = []any{"text/plain", "text plain"} }, "INVALID_FIELD", "defaultInputModes[1]"},
		{"mode without subtype", func(m map[string]any) { m["defaultOutputModes"] = []any{"text"} }, "INVALID_FIELD", "defaultOutputModes[0]"},
		{"bad skill output mode", func(m map[string]any) { obj(m, "skills", 0)["outputModes"] = []any{"application/json;;"} }, "INVALID_FIELD", "skills[0].outputModes[0]"},
		// Length bounds.
		{"name too long", func(m map[string]any) { m["name"] = long(201) }, "FIELD_TOO_LONG", "name"},
		{"description too long", func(m map[string]any) { m["description"] = long(8193) }, "FIELD_TOO_LONG", "description"},
		{"tag too long", func(m map[string]any) { obj(m, "skills", 0)["tags"] = []any{long(65)} }, "FIELD_TOO_LONG", "skills[0].tags[0]"},
		{"example too long", func(m map[string]any) { obj(m, "skills", 0)["examples"] = []any{"ok", long(1025)} }, "FIELD_TOO_LONG", "skills[0].examples[1]"},
		{"too many tags", func(m map[string]any) { obj(m, "skills", 0)["tags"] = repeat(65, "t") }, "TOO_MANY_ITEMS", "skills[0].tags"},
		{"too many examples", func(m map[string]any) { obj(m, "skills", 0)["examples"] = repeat(33, "e") }, "TOO_MANY_ITEMS", "skills[0].examples"},
		{"too many skills", func(m map[string]any) {
			skills := make([]any, MaxSkills+1)
			for i := range skills {
				skills[i] = map[string]any{"id": fmt.Sprintf("s%d", i), "name": "n", "description": "d", "tags": []any{"t"}}
			}
			m["skills"] = skills
		}, "TOO_MANY_ITEMS", "skills"},
		// Security.
		{"requirement names unknown scheme", func(m map[string]any) {
			m["securityRequirements"] = []any{map[string]any{"schemes": map[string]any{"ghost": map[string]any{}}}}
		}, "UNKNOWN_SECURITY_SCHEME", "securityRequirements[0].schemes.ghost"},
		{"skill requirement names unknown scheme", func(m map[string]any) {
			obj(m, "skills", 0)["securityRequirements"] = []any{map[string]any{"schemes": map[string]any{"ghost": map[string]any{}}}}
		}, "UNKNOWN_SECURITY_SCHEME", "skills[0].securityRequirements[0].schemes.ghost"},
		{"api key in body", func(m map[string]any) {
			obj(m, "securitySchemes", "apiKey", "apiKeySecurityScheme")["location"] = "body"
		}, "INVALID_FIELD", "securitySchemes.apiKey.apiKeySecurityScheme.location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(context.Background(), mutated(t, "card_v1.json", tt.f), nil)
			wantErr(t, err, apperr.Invalid, tt.code, tt.field)
		})
	}
}

func TestParse_AllowsOpenBindingsAndHTTP(t *testing.T) {
	data := mutated(t, "card_v1.json", func(m map[string]any) {
		obj(m, "supportedInterfaces", 0)["protocolBinding"] = "WEBSOCKET+CBOR/v2"
		obj(m, "supportedInterfaces", 0)["url"] = "http://127.0.0.1:9000/a2a"
		obj(m, "supportedInterfaces", 0)["protocolVersion"] = "1.0.1"
		m["name"] = strings.Repeat("é", MaxNameLen) // limits count characters, not bytes
	})
	if _, err := Parse(context.Background(), data, nil); err != nil {
		t.Fatal(err)
	}
}

func TestValidate_RejectsNil(t *testing.T) {
	wantErr(t, Validate(nil), apperr.Invalid, "INVALID_CARD", "")
}

func TestMarshal_IsDeterministicAndRoundTrips(t *testing.T) {
	p, err := Parse(context.Background(), readFixture(t, "card_v1.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	first, err := Marshal(p.Card)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		b, err := Marshal(p.Card)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, first) {
			t.Fatalf("Marshal is not deterministic:\n%s\n%s", first, b)
		}
	}
	if bytes.ContainsAny(first, "\n\t") || !bytes.Contains(first, []byte(`"supportedInterfaces":[{"url":"https://api.example.com/a2a/v1"`)) {
		t.Errorf("Marshal output not compact camelCase ProtoJSON: %s", first)
	}
	if bytes.Contains(first, []byte(`"tenant":""`)) {
		t.Errorf("Marshal emitted unpopulated fields: %s", first)
	}
	again, err := Parse(context.Background(), first, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(p.Card, again.Card) {
		t.Error("card changed through Marshal and Parse")
	}
}
