package identity

import (
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
)

var td = spiffeid.RequireTrustDomainFromString("sovereign.test")

func TestIDScheme(t *testing.T) {
	must := func(id spiffeid.ID, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id.String()
	}
	for got, want := range map[string]string{
		must(RegistryID(td, "main")):                "spiffe://sovereign.test/registry/main",
		must(TEGID(td)):                             "spiffe://sovereign.test/teg",
		must(AgentID(td, "agt_01HZX-a.b")):          "spiffe://sovereign.test/agent/agt_01HZX-a.b",
		must(PortalID(td)):                          "spiffe://sovereign.test/portal",
		must(AgentID(td, strings.Repeat("a", 255))): "spiffe://sovereign.test/agent/" + strings.Repeat("a", 255),
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}

	id, _ := AgentID(td, "agt_1")
	if a, ok := AgentIDOf(id); !ok || a != "agt_1" {
		t.Errorf("AgentIDOf = %q, %v", a, ok)
	}
	if _, ok := AgentIDOf(spiffeid.RequireFromString("spiffe://sovereign.test/agent/a/b")); ok {
		t.Error("AgentIDOf accepted a nested path")
	}
	if _, ok := AgentIDOf(spiffeid.RequireFromString("spiffe://sovereign.test/teg")); ok {
		t.Error("AgentIDOf accepted the TEG")
	}
	reg, _ := RegistryID(td, "eu-1")
	if n, ok := RegistryNameOf(reg); !ok || n != "eu-1" {
		t.Errorf("RegistryNameOf = %q, %v", n, ok)
	}
}

func TestIDSchemeRefusesBadSegments(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", "/a", "a/", "../x", "a b", "a%2Fb", "é", "a:b", "a?b", "a#b", strings.Repeat("a", 256)} {
		if _, err := AgentID(td, bad); apperr.CodeOf(err) != CodeInvalidSPIFFEID {
			t.Errorf("AgentID(%q): err = %v, want %s", bad, err, CodeInvalidSPIFFEID)
		}
		if _, err := RegistryID(td, bad); apperr.CodeOf(err) != CodeInvalidSPIFFEID {
			t.Errorf("RegistryID(%q): err = %v, want %s", bad, err, CodeInvalidSPIFFEID)
		}
	}
	var zero spiffeid.TrustDomain
	if _, err := TEGID(zero); apperr.CodeOf(err) != CodeInvalidSPIFFEID {
		t.Errorf("TEGID(zero): %v", err)
	}
	if _, err := AgentID(zero, "a"); apperr.CodeOf(err) != CodeInvalidSPIFFEID {
		t.Errorf("AgentID(zero): %v", err)
	}
}
