package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/reputation"
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

// TestReputation_CardDocumentCarriesIt: the card document the registry serves carries the
// agent's signed reputation — as a card extension of an unsigned card (the document still
// validates as an A2A card) and in the Sovereign-Reputation header of every card, a signed
// card's bytes left as the agent signed them; the token verifies offline, and the document
// stays cacheable (same ETag, 304) while the reputation is unchanged.
func TestReputation_CardDocumentCarriesIt(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		id := s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": card("Tide Teller", "Tide tables", "tides")}, bearer(ada.Access)).want(t, 201, "").str("id")
		ctx := context.Background()
		bundle, err := agentvault.FetchTrustBundle(ctx, s.srv.Client(), s.srv.URL, "sovereign.test")
		if err != nil {
			t.Fatal(err)
		}
		doc := s.do("GET", "/agents/"+id+"/.well-known/agent-card.json", nil).want(t, 200, "")
		if _, err := agentcard.Parse(t.Context(), doc.Raw, nil); err != nil {
			t.Fatalf("the served card with its extension does not validate: %v", err)
		}
		var ext map[string]any
		for _, e := range doc.Body["capabilities"].(map[string]any)["extensions"].([]any) {
			if m := e.(map[string]any); m["uri"] == reputation.ReputationExtensionURI {
				ext = m
			}
		}
		if ext == nil {
			t.Fatalf("no reputation extension: %s", doc.Raw)
		}
		params := ext["params"].(map[string]any)
		p, err := agentvault.VerifyReputation(params["token"].(string), bundle)
		if err != nil || p.Agent != id || p.Tier != params["tier"] || float64(p.Score) != params["score"] || doc.Header.Get("Sovereign-Reputation") != p.Token {
			t.Fatalf("extension %v verified as %+v (%v); header %q", params, p, err, doc.Header.Get("Sovereign-Reputation"))
		}
		again := s.do("GET", "/agents/"+id+"/.well-known/agent-card.json", nil).want(t, 200, "")
		if again.Header.Get("ETag") != doc.Header.Get("ETag") || string(again.Raw) != string(doc.Raw) {
			t.Fatal("an unchanged reputation changed the served document")
		}
		if r := s.do("GET", "/agents/"+id+"/.well-known/agent-card.json", nil, hdr{"If-None-Match", doc.Header.Get("ETag")}); r.Status != 304 {
			t.Fatalf("If-None-Match: %d", r.Status)
		}

		// A signed card is served as signed: its signature still verifies; the header carries
		// the reputation.
		raw, _ := json.Marshal(card("Signed Tides", "signed tides", "sig"))
		pc, err := agentcard.Parse(t.Context(), raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		if err := agentcard.Sign(pc.Card, key, "k1"); err != nil {
			t.Fatal(err)
		}
		signed, _ := agentcard.Marshal(pc.Card)
		sid := s.do("POST", "/api/v1/agent-cards", fmt.Sprintf(`{"card_data":%s,"signed_only":true}`, signed), bearer(ada.Access)).want(t, 201, "").str("id")
		sdoc := s.do("GET", "/agents/"+sid+"/.well-known/agent-card.json", nil).want(t, 200, "")
		if strings.Contains(string(sdoc.Raw), reputation.ReputationExtensionURI) {
			t.Fatalf("the registry changed a signed card: %s", sdoc.Raw)
		}
		sp, err := agentcard.Parse(t.Context(), sdoc.Raw, nil)
		if err != nil || len(sp.Signatures) != 1 || !sp.Signatures[0].Verified {
			t.Fatalf("the served signed card: %+v %v", sp, err)
		}
		if _, err := agentvault.VerifyReputation(sdoc.Header.Get("Sovereign-Reputation"), bundle); err != nil {
			t.Fatalf("a signed card's reputation header: %v", err)
		}
	})
}
