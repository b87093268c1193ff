package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/agentvault"
)

// TestReputation_PortableVerifiesOffline: the signed reputation of an agent verifies with the
// published trust bundle alone (agentvault's verifier) and states the agent's score and tier; a
// tampered token, a token checked against another trust domain's bundle, and a plain agent
// JWT-SVID are refused.
func TestReputation_PortableVerifiesOffline(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("100", "agt_port")
		r := s.do("GET", "/api/v1/reputation/agt_port/attestation", nil).want(t, 200, "")
		tok := r.str("token")
		ctx := context.Background()
		bundle, err := agentvault.FetchTrustBundle(ctx, s.srv.Client(), s.srv.URL, "sovereign.test")
		if err != nil {
			t.Fatal(err)
		}
		p, err := agentvault.VerifyReputation(tok, bundle)
		if err != nil {
			t.Fatal(err)
		}
		read := s.do("GET", "/api/v1/reputation/agt_port", nil).want(t, 200, "")
		if p.Agent != "agt_port" || p.Score != int(read.Body["score"].(float64)) || p.Tier != read.str("tier") || p.Tier != r.str("tier") ||
			p.Issuer != "spiffe://sovereign.test/teg" || p.ExpiresAt.IsZero() {
			t.Fatalf("verified %+v; the read says %s", p, read.Raw)
		}
		// Tampered: a signature byte changed.
		bad := tok[:len(tok)-5] + flip(tok[len(tok)-5]) + tok[len(tok)-4:]
		if _, err := agentvault.VerifyReputation(bad, bundle); err == nil || !strings.Contains(err.Error(), "INVALID_REPUTATION_TOKEN") {
			t.Fatalf("a tampered token: %v", err)
		}
		// Another trust domain's bundle (the same keys, but not this domain's).
		other := spiffebundle.New(spiffeid.RequireTrustDomainFromString("other.test"))
		if _, err := agentvault.VerifyReputation(tok, other); err == nil {
			t.Fatal("a token verified against another trust domain's empty bundle")
		}
		// A plain agent JWT-SVID is no reputation statement.
		agentTok := strings.TrimPrefix(s.agentToken("agt_port", "")[1], "Bearer ")
		if _, err := agentvault.VerifyReputation(agentTok, bundle); err == nil {
			t.Fatal("an agent's JWT-SVID verified as a reputation statement")
		}
		s.do("GET", "/api/v1/reputation/agt_nobody/attestation", nil).want(t, 404, "AGENT_NOT_FOUND")
	})
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
