package server_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/identity/ed25519strict/ed25519stricttest"
)

var b64url = base64.RawURLEncoding

// weakSigner signs as the identity key without a private key: crypto/ed25519 accepts its
// signatures for every message.
type weakSigner struct{}

func (weakSigner) Public() crypto.PublicKey {
	return ed25519.PublicKey(ed25519stricttest.SmallOrder()[0])
}

func (weakSigner) Sign(_ io.Reader, msg []byte, _ crypto.SignerOpts) ([]byte, error) {
	return ed25519stricttest.Forge(ed25519stricttest.SmallOrder()[0], msg), nil
}

// TestOnboarding_WeakAgentKeysRefused: keys of small order (the identity, the all-zero key, all
// 8 torsion points), non-canonical encodings and keys with a small-order component are refused
// with INVALID_PUBLIC_KEY, even with a proof crypto/ed25519 accepts (forged without a private
// key, or ground by the key's holder); nothing is consumed, and a real key then registers with
// the same bootstrap token.
func TestOnboarding_WeakAgentKeysRefused(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		token := s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(ada.Access)).want(t, 201, "").str("token")
		type weak struct {
			name       string
			key, proof []byte
		}
		var cases []weak
		names := []string{"identity", "order 2", "all zero", "order 4", "order 8 (a)", "order 8 (b)", "order 8 (c)", "order 8 (d)"}
		for i, k := range ed25519stricttest.SmallOrder() {
			cases = append(cases, weak{names[i], k, ed25519stricttest.Forge(k, []byte(token))})
		}
		ncIdentity, _ := ed25519stricttest.NonCanonical(1)
		cases = append(cases, weak{"non-canonical identity (y = p+1)", ncIdentity, ed25519stricttest.Forge(ncIdentity, []byte(token))})
		nc, _ := ed25519stricttest.NonCanonical(2)
		cases = append(cases, weak{"non-canonical y of a large-order point", nc, nil})
		mixed, ground := ed25519stricttest.MixedOrder([]byte(token))
		cases = append(cases, weak{"mixed order", mixed, ground})

		forged := 0
		for _, c := range cases {
			proof := c.proof
			if proof == nil {
				proof = make([]byte, 64)
			} else if ed25519.Verify(c.key, []byte(token), proof) {
				forged++ // registered before strict checking
			}
			body := map[string]any{"card": card("Weak "+c.name, "A forgeable key", "weak"),
				"public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64url.EncodeToString(c.key)},
				"proof":      b64url.EncodeToString(proof)}
			r := s.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token})
			if r.Status != 422 || r.code() != "INVALID_PUBLIC_KEY" || r.details()["field"] != "public_key" {
				t.Errorf("%s: got %d %s, want 422 INVALID_PUBLIC_KEY on public_key: %s", c.name, r.Status, r.code(), r.Raw)
			}
		}
		if forged < 3 {
			t.Fatalf("only %d weak keys came with a proof crypto/ed25519 accepts: the test proves little", forged)
		}

		// A JWK x in non-canonical base64url (one of the 2 unused low bits of its last
		// character set) is refused too.
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		good := func() map[string]any {
			return map[string]any{"card": card("Strong Agent", "A real key", "strong"),
				"public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64url.EncodeToString(pub)},
				"proof":      b64url.EncodeToString(ed25519.Sign(priv, []byte(token)))}
		}
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		x := []byte(b64url.EncodeToString(pub))
		x[len(x)-1] = alphabet[strings.IndexByte(alphabet, x[len(x)-1])|1]
		b := good()
		b["public_key"].(map[string]any)["x"] = string(x)
		s.do("POST", "/api/v1/onboard/register", b, hdr{"Bootstrap-Token", token}).want(t, 422, "INVALID_PUBLIC_KEY")

		// A CSR whose Ed25519 key is the identity point (its self-signature forged) would give
		// the agent an X.509-SVID anyone could use.
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, weakSigner{})
		if err != nil {
			t.Fatal(err)
		}
		b = good()
		b["csr"] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
		s.do("POST", "/api/v1/onboard/register", b, hdr{"Bootstrap-Token", token}).want(t, 400, "INVALID_CSR")

		// The token was never consumed: a real key registers with it.
		tlsKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		okCSR, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, tlsKey)
		b = good()
		b["csr"] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: okCSR}))
		s.do("POST", "/api/v1/onboard/register", b, hdr{"Bootstrap-Token", token}).want(t, 201, "")
	}, withGenesis)
}

// TestCards_WeakSignatureKeyNotVerified: a card signed with the identity key (a JWS any party
// can forge) is not verified, so signed_only refuses it.
func TestCards_WeakSignatureKeyNotVerified(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		raw, _ := json.Marshal(card("Forged Signer", "signed by nobody", "sig"))
		p, err := agentcard.Parse(t.Context(), raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := agentcard.Sign(p.Card, weakSigner{}, "k1"); err != nil {
			t.Fatal(err)
		}
		signed, _ := agentcard.Marshal(p.Card)
		s.do("POST", "/api/v1/agent-cards", fmt.Sprintf(`{"card_data":%s,"signed_only":true}`, signed), bearer(ada.Access)).want(t, 422, "SIGNATURE_REQUIRED")
		r := s.do("POST", "/api/v1/agent-cards", fmt.Sprintf(`{"card_data":%s}`, signed), bearer(ada.Access)).want(t, 201, "")
		if r.str("signature_status") == "verified" {
			t.Fatalf("a forged signature verified: %s", r.Raw)
		}
	})
}
