package agentcard

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/apperr"
)

func TestConvertV03_MapsEveryField(t *testing.T) {
	p, err := Parse(context.Background(), readFixture(t, "card_v03.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.SourceVersion != Version03 {
		t.Fatalf("SourceVersion = %q", p.SourceVersion)
	}
	c := p.Card

	// url/preferredTransport first, then additionalInterfaces without the duplicate of the main one.
	want := []*a2apb.AgentInterface{
		{Url: "https://georoute-agent.example.com/a2a/v1", ProtocolBinding: "JSONRPC", ProtocolVersion: "0.3"},
		{Url: "https://georoute-agent.example.com/a2a/grpc", ProtocolBinding: "GRPC", ProtocolVersion: "0.3"},
		{Url: "https://georoute-agent.example.com/a2a/json", ProtocolBinding: "HTTP+JSON", ProtocolVersion: "0.3"},
	}
	if len(c.GetSupportedInterfaces()) != len(want) {
		t.Fatalf("interfaces = %v", c.GetSupportedInterfaces())
	}
	for i := range want {
		if !proto.Equal(c.GetSupportedInterfaces()[i], want[i]) {
			t.Errorf("interface %d = %v, want %v", i, c.GetSupportedInterfaces()[i], want[i])
		}
	}

	if !c.GetCapabilities().GetExtendedAgentCard() || !c.GetCapabilities().GetStreaming() || !c.GetCapabilities().GetPushNotifications() {
		t.Errorf("capabilities = %v", c.GetCapabilities())
	}
	if c.GetProvider().GetOrganization() != "Example Geo Services Inc." || c.GetIconUrl() == "" || c.GetDocumentationUrl() == "" {
		t.Errorf("provider/urls not copied: %v", c)
	}

	ss := c.GetSecuritySchemes()
	if ss["google"].GetOpenIdConnectSecurityScheme().GetOpenIdConnectUrl() != "https://accounts.google.com/.well-known/openid-configuration" {
		t.Errorf("openIdConnect = %v", ss["google"])
	}
	if k := ss["key"].GetApiKeySecurityScheme(); k.GetLocation() != "header" || k.GetName() != "X-Key" || k.GetDescription() != "static key" {
		t.Errorf("apiKey = %v", k)
	}
	if ss["basic"].GetHttpAuthSecurityScheme().GetScheme() != "basic" {
		t.Errorf("http = %v", ss["basic"])
	}
	// Several v0.3 flows: authorizationCode is preferred.
	if ac := ss["oauth"].GetOauth2SecurityScheme().GetFlows().GetAuthorizationCode(); ac.GetTokenUrl() != "https://auth.example.com/token" || len(ac.GetScopes()) != 2 {
		t.Errorf("oauth2 = %v", ss["oauth"])
	}
	if ss["cert"].GetMtlsSecurityScheme() == nil {
		t.Errorf("mutualTLS = %v", ss["cert"])
	}

	reqs := c.GetSecurityRequirements()
	if len(reqs) != 2 || len(reqs[0].GetSchemes()["google"].GetList()) != 3 || reqs[1].GetSchemes()["key"] == nil {
		t.Errorf("securityRequirements = %v", reqs)
	}
	if sr := c.GetSkills()[0].GetSecurityRequirements(); len(sr) != 1 || sr[0].GetSchemes()["oauth"].GetList()[0] != "openid" {
		t.Errorf("skill securityRequirements = %v", sr)
	}
	if len(c.GetSkills()) != 2 || c.GetSkills()[1].GetOutputModes()[1] != "image/jpeg" {
		t.Errorf("skills = %v", c.GetSkills())
	}
}

func TestConvertV03_DefaultsTransportAndDropsUnknown(t *testing.T) {
	c, err := ConvertV03(mutated(t, "card_v03.json", func(m map[string]any) {
		delete(m, "preferredTransport")
		delete(m, "additionalInterfaces")
		m["x-vendor"] = "dropped"
		obj(m, "skills", 0)["x-vendor"] = "dropped"
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.GetSupportedInterfaces()) != 1 || c.GetSupportedInterfaces()[0].GetProtocolBinding() != DefaultV03Transport {
		t.Errorf("interfaces = %v", c.GetSupportedInterfaces())
	}
	if err := Validate(c); err != nil {
		t.Error(err)
	}
}

func TestConvertV03_FailsOnUnconvertibleCards(t *testing.T) {
	tests := []struct {
		name  string
		f     func(m map[string]any)
		field string
	}{
		{"no url", func(m map[string]any) { delete(m, "url") }, "url"},
		{"url not a string", func(m map[string]any) { m["url"] = 7 }, "url"},
		{"transport not a string", func(m map[string]any) { m["preferredTransport"] = true }, "preferredTransport"},
		{"additionalInterfaces not an array", func(m map[string]any) { m["additionalInterfaces"] = "x" }, "additionalInterfaces"},
		{"additional interface without transport", func(m map[string]any) { delete(obj(m, "additionalInterfaces", 1), "transport") }, "additionalInterfaces[1].transport"},
		{"unknown scheme type", func(m map[string]any) { obj(m, "securitySchemes", "key")["type"] = "kerberos" }, "securitySchemes.key.type"},
		{"scheme without type", func(m map[string]any) { delete(obj(m, "securitySchemes", "key"), "type") }, "securitySchemes.key.type"},
		{"oauth2 without flows", func(m map[string]any) { delete(obj(m, "securitySchemes", "oauth"), "flows") }, "securitySchemes.oauth.flows"},
		{"oauth2 with no known flow", func(m map[string]any) {
			obj(m, "securitySchemes", "oauth")["flows"] = map[string]any{"magic": map[string]any{}}
		}, "securitySchemes.oauth.flows"},
		{"security not an array", func(m map[string]any) { m["security"] = map[string]any{} }, "security"},
		{"security scopes not an array", func(m map[string]any) { m["security"] = []any{map[string]any{"key": "all"}} }, "security[0].key"},
		{"capabilities not an object", func(m map[string]any) { m["capabilities"] = []any{} }, "capabilities"},
		{"extended card flag not a bool", func(m map[string]any) { m["supportsAuthenticatedExtendedCard"] = "yes" }, "supportsAuthenticatedExtendedCard"},
		{"skill not an object", func(m map[string]any) { m["skills"] = []any{"s"} }, "skills[0]"},
		{"name of the wrong type", func(m map[string]any) { m["name"] = []any{} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(context.Background(), mutated(t, "card_v03.json", tt.f), nil)
			wantErr(t, err, apperr.Invalid, "CARD_CONVERSION_FAILED", tt.field)
		})
	}
}

func TestConvertV03_ResultIsValidated(t *testing.T) {
	_, err := Parse(context.Background(), mutated(t, "card_v03.json", func(m map[string]any) { m["url"] = "not a url" }), nil)
	wantErr(t, err, apperr.Invalid, "INVALID_URL", "supportedInterfaces[0].url")
	_, err = Parse(context.Background(), mutated(t, "card_v03.json", func(m map[string]any) {
		m["security"] = []any{map[string]any{"ghost": []any{}}}
	}), nil)
	wantErr(t, err, apperr.Invalid, "UNKNOWN_SECURITY_SCHEME", "securityRequirements[0].schemes.ghost")
}
