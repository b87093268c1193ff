package agentvault_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/attestation"
	"github.com/sovereign-stack/sovereign/avt"
)

// TestAttestations_PaidTaskCoSignedUptimeAndOfflineVerification: a payee attests the paid task
// its payer co-signs, asks the registry for an uptime attestation, and anyone verifies both
// offline with the trust bundle.
func TestAttestations_PaidTaskCoSignedUptimeAndOfflineVerification(t *testing.T) {
	st := startStack(t)
	ctx := context.Background()
	keys := agentvault.NewFileStore(filepath.Join(t.TempDir(), "keys.json"))
	payer := st.register(t, testCard("Payer", "https://payer.example", nil), keys)
	payee := st.register(t, testCard("Payee", "https://payee.example", nil), keys)
	tr, err := agentvault.NewTEG(st.URL, payer.Tokens).Transfer(ctx, payee.Reg.Identity.ID, avt.AVT(5), agentvault.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("the result"))
	s := attestation.Statement{Type: attestation.TypeTaskCompleted, Subject: payee.Reg.Identity.ID, Attester: payee.Reg.Identity.ID,
		EvidenceHash: "sha256:" + hex.EncodeToString(d[:]), EvidenceURI: "https://payee.example/results/1", IssuedAt: time.Now().UTC().Truncate(time.Second), TransferID: tr.ID}
	co := payer.Reg.Identity.SignAttestation(s, payer.Reg.Identity.ID)
	reg := agentvault.NewRegistry(st.URL, payee.Tokens)
	a, err := reg.SubmitAttestation(ctx, attestation.Submission{Statement: s, Signature: payee.Reg.Identity.SignAttestation(s, payee.Reg.Identity.ID), Cosignature: &co})
	if err != nil || a.ID != s.ID() || !a.RewardPaid || a.Reward.String() != "0.5" {
		t.Fatalf("submit = %+v, %v", a, err)
	}
	if _, err := reg.SubmitAttestation(ctx, attestation.Submission{Statement: s, Signature: a.Signature, Cosignature: &co}); !agentvault.IsCode(err, "ATTESTATION_REPLAYED") {
		t.Fatalf("replay = %v", err)
	}
	if _, err := reg.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	up, err := reg.RequestUptime(ctx, payee.Reg.Identity.ID)
	if err != nil || up.Type != attestation.TypeUptime {
		t.Fatalf("uptime = %+v, %v", up, err)
	}
	bundle, err := agentvault.FetchTrustBundle(ctx, nil, st.URL, "sovereign.test")
	if err != nil {
		t.Fatal(err)
	}
	anon := agentvault.NewRegistry(st.URL, nil)
	for _, id := range []string{a.ID, up.ID} {
		got, err := anon.Attestation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := agentvault.VerifyAttestation(*got, "sovereign.test", bundle); err != nil || !v.Valid {
			t.Fatalf("verify %s = %+v, %v", id, v, err)
		}
		got.EvidenceURI += "?forged"
		if v, _ := agentvault.VerifyAttestation(*got, "sovereign.test", bundle); v.Valid {
			t.Fatalf("a changed %s verified", id)
		}
	}
	if _, err := agentvault.VerifyAttestation(*a, "not a trust domain!", bundle); err == nil {
		t.Fatal("a bad trust domain")
	}
}
