package agentcard

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// TestParse_DualVersionCard: the card an agent serves at the well-known path (the v1.0 card
// with the v0.3 members beside it, security schemes flattened too; a grpcs:// gRPC interface)
// parses as exactly the v1.0 card; an unknown member that is not one of those is still refused.
func TestParse_DualVersionCard(t *testing.T) {
	streaming := true
	card := &a2apb.AgentCard{
		Name: "dual", Description: "served to both versions", Version: "1.0.0",
		SupportedInterfaces: []*a2apb.AgentInterface{
			{Url: "https://a.example/rpc", ProtocolBinding: "JSONRPC", ProtocolVersion: "1.0"},
			{Url: "grpcs://a.example:9443", ProtocolBinding: "GRPC", ProtocolVersion: "1.0"},
		},
		Capabilities: &a2apb.AgentCapabilities{Streaming: &streaming},
		SecuritySchemes: map[string]*a2apb.SecurityScheme{"bearer": {Scheme: &a2apb.SecurityScheme_HttpAuthSecurityScheme{
			HttpAuthSecurityScheme: &a2apb.HTTPAuthSecurityScheme{Scheme: "Bearer", BearerFormat: "JWT"}}}},
		SecurityRequirements: []*a2apb.SecurityRequirement{{Schemes: map[string]*a2apb.StringList{"bearer": {}}}},
		DefaultInputModes:    []string{"text/plain"}, DefaultOutputModes: []string{"text/plain"},
		Skills: []*a2apb.AgentSkill{{Id: "s", Name: "S", Description: "a skill", Tags: []string{"t"}}},
	}
	p, err := Parse(context.Background(), a2a.DualVersionCardJSON(card), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.SourceVersion != Version10 || !proto.Equal(p.Card, card) {
		t.Fatalf("parsed %s card %v, want %v", p.SourceVersion, p.Card, card)
	}
	if _, err := Parse(context.Background(), []byte(`{"name":"x","supportedInterfaces":[],"nickname":"y"}`), nil); err == nil {
		t.Fatal("an unknown member is accepted")
	}
}
