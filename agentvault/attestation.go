package agentvault

import (
	"fmt"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/attestation"
)

// SignAttestation signs an attestation's statement with the agent's Ed25519 key as signer (the
// agent's id): the attester's signature, or — for a task_completed attestation — the payer's
// co-signature of the same statement. The registry verifies it with the key the agent
// registered.
func (i *Identity) SignAttestation(st attestation.Statement, signer string) attestation.Signature {
	return attestation.SignEd25519(st, signer, i.Key)
}

// VerifyAttestation checks a stored attestation (GET /api/v1/attestations/{id}) offline: its
// id is its statement's digest, an Ed25519 signature verifies with the did:key it names, a
// JWT-SVID signature with the trust bundle of trustDomain (FetchTrustBundle) as of when the
// stack accepted it. Compare an Ed25519 signer's did:key with the DID the registry shows for
// the agent to know the key is the agent's.
func VerifyAttestation(a attestation.Attestation, trustDomain string, bundle jwtbundle.Source) (attestation.Verified, error) {
	td, err := spiffeid.TrustDomainFromString(trustDomain)
	if err != nil {
		return attestation.Verified{}, fmt.Errorf("trust domain %q: %w", trustDomain, err)
	}
	return attestation.Verify(a, td, bundle), nil
}
