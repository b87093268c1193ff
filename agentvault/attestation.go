package agentvault

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

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

// SubmitAttestation submits a signed attestation as the calling agent (POST
// /api/v1/attestations): the registry verifies its signatures, stores it and pays its subject
// the reward from the treasury. A refusal is an *APIError with its code
// (ATTESTATION_REPLAYED, ATTESTATION_COOLDOWN, COSIGNER_NOT_PAYER, …).
func (r *Registry) SubmitAttestation(ctx context.Context, sub attestation.Submission) (*attestation.Attestation, error) {
	a := &attestation.Attestation{}
	if _, err := r.api.do(ctx, http.MethodPost, "/api/v1/attestations", nil, nil, true, sub, a); err != nil {
		return nil, err
	}
	return a, nil
}

// RequestUptime asks the registry to attest the calling agent's uptime from its heartbeat record
// (POST /api/v1/attestations:uptime); it needs a recent heartbeat.
func (r *Registry) RequestUptime(ctx context.Context, agentID string) (*attestation.Attestation, error) {
	a := &attestation.Attestation{}
	if _, err := r.api.do(ctx, http.MethodPost, "/api/v1/attestations:uptime", nil, nil, true, map[string]string{"subject": agentID}, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Attestation reads one attestation with its signatures (public): check it with
// VerifyAttestation.
func (r *Registry) Attestation(ctx context.Context, id string) (*attestation.Attestation, error) {
	a := &attestation.Attestation{}
	if _, err := r.api.do(ctx, http.MethodGet, "/api/v1/attestations/"+url.PathEscape(id), nil, nil, false, nil, a); err != nil {
		return nil, err
	}
	return a, nil
}
