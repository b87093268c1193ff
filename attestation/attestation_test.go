package attestation_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/attestation"
	"github.com/sovereign-stack/sovereign/identity"
)

func sample() attestation.Statement {
	return attestation.Statement{Type: attestation.TypeCodeReview, Subject: "agt_b", Attester: "agt_a",
		EvidenceHash: "sha256:" + strings.Repeat("ab", 32), EvidenceURI: "https://e.example.com/pr/1",
		IssuedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func TestCanonical_IsFixedAndBindsEveryField(t *testing.T) {
	st := sample()
	want := "sovereign-attestation/v1\ntype=code_review\nsubject=agt_b\nattester=agt_a\nevidence_hash=sha256:" + strings.Repeat("ab", 32) +
		"\nevidence_uri=https://e.example.com/pr/1\nissued_at=2026-03-01T12:00:00Z\ntransfer_id=\n"
	if got := string(st.Canonical()); got != want {
		t.Fatalf("canonical =\n%s", got)
	}
	seen := map[string]bool{st.Digest(): true}
	for _, mut := range []func(*attestation.Statement){
		func(s *attestation.Statement) { s.Type = attestation.TypeDataQuality },
		func(s *attestation.Statement) { s.Subject = "agt_c" },
		func(s *attestation.Statement) { s.Attester = "agt_c" },
		func(s *attestation.Statement) { s.EvidenceHash = "sha256:" + strings.Repeat("cd", 32) },
		func(s *attestation.Statement) { s.EvidenceURI += "x" },
		func(s *attestation.Statement) { s.IssuedAt = s.IssuedAt.Add(time.Second) },
		func(s *attestation.Statement) { s.TransferID = "tx_1" },
	} {
		s := sample()
		mut(&s)
		if seen[s.Digest()] {
			t.Fatalf("a changed field left the digest unchanged: %+v", s)
		}
		seen[s.Digest()] = true
	}
	if k := attestation.RewardKey("agt_b", "code_review", st.EvidenceHash); k != attestation.RewardKey("agt_b", "code_review", st.EvidenceHash) || len(k) > 100 {
		t.Fatalf("reward key %q", k)
	}
}

func TestVerify_Ed25519OfflineFromTheDIDKey(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	st := sample()
	a := attestation.Attestation{ID: st.ID(), Statement: st, Signature: attestation.SignEd25519(st, "agt_a", key)}
	td := spiffeid.RequireTrustDomainFromString("sovereign.test")
	if v := attestation.Verify(a, td, nil); !v.Valid || v.Signature != "valid" {
		t.Fatalf("verify = %+v", v)
	}
	tampered := a
	tampered.EvidenceURI = "https://e.example.com/pr/2"
	if v := attestation.Verify(tampered, td, nil); v.Valid {
		t.Fatalf("a changed statement verified: %+v", v)
	}
	tampered.ID = tampered.Statement.ID()
	if v := attestation.Verify(tampered, td, nil); v.Valid || !strings.Contains(v.Signature, "Ed25519") {
		t.Fatalf("a signature of another statement verified: %+v", v)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	forged := a
	forged.Signature.Value = attestation.SignEd25519(st, "agt_a", other).Value
	if v := attestation.Verify(forged, td, nil); v.Valid {
		t.Fatalf("a signature by another key verified: %+v", v)
	}
}

// TestVerify_JWTSVIDAsOfAcceptance: a JWT-SVID signature verifies as of the time the stack
// accepted the attestation, long after the token expired, with the trust bundle alone.
func TestVerify_JWTSVIDAsOfAcceptance(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("sovereign.test")
	iss, err := identity.NewBuiltin(t.TempDir(), td)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st := sample()
	mint := func(signer string, aud string) attestation.Signature {
		id, _ := identity.AgentID(td, signer)
		tok, err := iss.MintJWTSVID(ctx, id, []string{aud}, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return attestation.Signature{Signer: signer, Alg: attestation.AlgJWTSVID, Value: tok}
	}
	bundle, err := iss.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a := attestation.Attestation{ID: st.ID(), Statement: st, Signature: mint("agt_a", st.Audience(td.Name())), CreatedAt: now}
	if v := attestation.Verify(a, td, bundle); !v.Valid {
		t.Fatalf("verify = %+v", v)
	}
	if err := attestation.VerifyJWTSVID(st, a.Signature, td, bundle, now.Add(time.Hour)); apperr.CodeOf(err) != "ATTESTATION_SIGNATURE_INVALID" {
		t.Fatalf("an expired token verified as of an hour later: %v", err)
	}
	for name, sig := range map[string]attestation.Signature{
		"another signer's token":       mint("agt_c", st.Audience(td.Name())),
		"a token for another audience": mint("agt_a", "spiffe://sovereign.test/teg"),
		"another trust domain's":       mint("agt_a", st.Audience("elsewhere.test")),
	} {
		sig.Signer = "agt_a"
		b := a
		b.Signature = sig
		if v := attestation.Verify(b, td, bundle); v.Valid {
			t.Fatalf("%s verified", name)
		}
	}
	if v := attestation.Verify(a, td, nil); v.Valid {
		t.Fatal("verified without a bundle")
	}
}

func TestParse_RefusesWithSpecificCodes(t *testing.T) {
	good := func() map[string]any {
		st := sample()
		return map[string]any{"type": st.Type, "subject": st.Subject, "attester": st.Attester, "evidence_hash": st.EvidenceHash,
			"evidence_uri": st.EvidenceURI, "issued_at": "2026-03-01T12:00:00Z", "signature": map[string]any{"signer": "agt_a", "alg": "EdDSA", "value": "c2ln"}}
	}
	enc := func(m map[string]any) []byte { b, _ := json.Marshal(m); return b }
	if s, err := attestation.Parse(enc(good())); err != nil || s.Statement != sample() {
		t.Fatalf("parse = %+v, %v", s, err)
	}
	for code, mut := range map[string]func(map[string]any){
		"UNKNOWN_ATTESTATION_TYPE": func(m map[string]any) { m["type"] = "karma" },
		"INVALID_SUBJECT":          func(m map[string]any) { m["subject"] = "" },
		"INVALID_ATTESTER":         func(m map[string]any) { m["attester"] = "sys:treasury" },
		"INVALID_EVIDENCE_HASH":    func(m map[string]any) { m["evidence_hash"] = "sha256:xyz" },
		"EVIDENCE_TOO_LARGE":       func(m map[string]any) { m["evidence_uri"] = "https://e.example.com/" + strings.Repeat("a", 500) },
		"INVALID_EVIDENCE_URI":     func(m map[string]any) { m["evidence_uri"] = "data:text/plain,hi" },
		"INVALID_ISSUED_AT":        func(m map[string]any) { delete(m, "issued_at") },
		"INVALID_TRANSFER_ID":      func(m map[string]any) { m["transfer_id"] = "tx_1" },
		"INVALID_SIGNATURE": func(m map[string]any) {
			m["signature"] = map[string]any{"signer": "agt_a", "alg": "none", "value": "x"}
		},
		"MALFORMED_ATTESTATION": func(m map[string]any) { m["extra"] = 1 },
	} {
		m := good()
		mut(m)
		if _, err := attestation.Parse(enc(m)); apperr.CodeOf(err) != code {
			t.Errorf("%s: got %v", code, err)
		}
	}
	if _, err := attestation.Parse(append(enc(good()), []byte(" {}")...)); apperr.CodeOf(err) != "MALFORMED_ATTESTATION" {
		t.Errorf("trailing data: %v", err)
	}
	if _, err := attestation.Parse(bytes.Repeat([]byte(" "), attestation.MaxSubmission+1)); apperr.CodeOf(err) != "MALFORMED_ATTESTATION" {
		t.Errorf("oversize: %v", err)
	}
}

// FuzzParse: the parser never panics, refuses with an application error, and what it accepts
// is a valid statement whose canonical form has its eight lines and survives a round trip.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"type":"code_review","subject":"agt_b","attester":"agt_a","evidence_hash":"sha256:` + strings.Repeat("0", 64) +
		`","evidence_uri":"https://e.example.com/x","issued_at":"2026-03-01T12:00:00Z","signature":{"signer":"agt_a","alg":"EdDSA","value":"x"}}`))
	f.Add([]byte(`{"type":"task_completed","subject":"agt_b","attester":"agt_b","evidence_hash":"sha256:` + strings.Repeat("f", 64) +
		`","evidence_uri":"ipfs://bafy/x","issued_at":"2026-03-01T12:00:00.5+02:00","transfer_id":"tx_1","signature":{"signer":"agt_b","alg":"JWT-SVID","value":"a.b.c"},"cosignature":{"signer":"agt_a","alg":"EdDSA","value":"y"}}`))
	f.Add([]byte(`{"type":"uptime"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := attestation.Parse(data)
		if err != nil {
			if _, ok := apperr.As(err); !ok {
				t.Fatalf("not an application error: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted an invalid submission: %v", err)
		}
		if n := bytes.Count(s.Canonical(), []byte("\n")); n != 8 {
			t.Fatalf("canonical form has %d lines", n)
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := attestation.Parse(again)
		if err != nil || back.Digest() != s.Digest() {
			t.Fatalf("round trip: %v, %s != %s", err, back.Digest(), s.Digest())
		}
	})
}
