package agentcard

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/identity/ed25519strict"
)

// The JWS algorithms Sign produces and Verify accepts.
const (
	AlgEdDSA = "EdDSA" // Ed25519 (RFC 8037)
	AlgES256 = "ES256" // ECDSA P-256 with SHA-256, signature R||S (RFC 7518 §3.4)
)

// SignatureResult is the outcome of verifying one AgentCardSignature.
type SignatureResult struct {
	KeyID      string // "kid" from the protected header ("" if none)
	Algorithm  string // "alg"
	Verified   bool
	Reason     string // why not verified, "" when verified
	Thumbprint string // RFC 7638 SHA-256 JWK thumbprint (base64url) of the key that verified it
}

// KeyResolver finds a public key for a signature; nil resolver: only keys embedded in the
// protected header ("jwk") are used.
//
// kid is the protected header's "kid" ("" if none) and header the whole protected header. A
// resolver returns an ed25519.PublicKey or a P-256 *ecdsa.PublicKey; (nil, nil) means it does not
// know the key, and the embedded "jwk" is used instead; an error means the signature is not
// verified (its text becomes the Reason). Callers that trust only their own keys should return
// an error for unknown kids, or check SignatureResult.Thumbprint.
type KeyResolver func(ctx context.Context, kid string, header map[string]any) (crypto.PublicKey, error)

// jwk is the public JSON Web Key of an Ed25519 or P-256 key.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
}

// protectedHeader is the protected header Sign writes.
type protectedHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ"`
	JWK jwk    `json:"jwk"`
}

var b64 = base64.RawURLEncoding

// Sign appends to c.Signatures a detached JWS (RFC 7515) over Canonical(c) made with key: alg
// EdDSA for an Ed25519 key, ES256 for a P-256 ECDSA key; the protected header is
// {"alg","kid","typ":"JOSE","jwk":<public key>} ("kid" omitted when kid is ""). The signing input
// is BASE64URL(protected) + "." + BASE64URL(Canonical(c)). Because the payload leaves out the
// signatures, every signature of a card signs the same bytes. Errors: UNSUPPORTED_KEY for any
// other key; a failing signer's error is wrapped as internal.
func Sign(c *a2apb.AgentCard, key crypto.Signer, kid string) error {
	if c == nil || key == nil {
		return apperr.New(apperr.Invalid, "INVALID_CARD", "agent card and key are required")
	}
	alg, pub, err := publicJWK(key.Public())
	if err != nil {
		return apperr.Errorf(apperr.Invalid, "UNSUPPORTED_KEY", "cannot sign with this key: %v", err)
	}
	payload, err := Canonical(c)
	if err != nil {
		return err
	}
	hdr, err := json.Marshal(protectedHeader{Alg: alg, Kid: kid, Typ: "JOSE", JWK: pub})
	if err != nil {
		return apperr.Internalf("agentcard: encoding the protected header: %w", err)
	}
	protected := b64.EncodeToString(hdr)
	input := []byte(protected + "." + b64.EncodeToString(payload))

	var sig []byte
	switch alg {
	case AlgEdDSA:
		if sig, err = key.Sign(rand.Reader, input, crypto.Hash(0)); err != nil {
			return apperr.Internalf("agentcard: Ed25519 signing: %w", err)
		}
	case AlgES256:
		digest := sha256.Sum256(input)
		der, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return apperr.Internalf("agentcard: ECDSA signing: %w", err)
		}
		var rs struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil {
			return apperr.Internalf("agentcard: ECDSA signer returned a malformed signature")
		}
		if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
			return apperr.Internalf("agentcard: ECDSA signer returned an out-of-range signature")
		}
		sig = make([]byte, 64)
		rs.R.FillBytes(sig[:32])
		rs.S.FillBytes(sig[32:])
	}
	c.Signatures = append(c.Signatures, &a2apb.AgentCardSignature{
		Protected: protected,
		Signature: b64.EncodeToString(sig),
	})
	return nil
}

// Verify checks every signature of c against Canonical(c) and returns one result per
// signature, in order. The key is the one keys returns for the signature's "kid" and protected
// header, or the "jwk" embedded in the protected header when keys is nil or returns no key. Only
// EdDSA (Ed25519) and ES256 are accepted: "none", any other alg, a "crit" or "b64" header, a key
// that does not match the alg, or a signature that does not verify give Verified false and the
// Reason. The unprotected "header" of a signature is ignored.
func Verify(ctx context.Context, c *a2apb.AgentCard, keys KeyResolver) []SignatureResult {
	payload, err := Canonical(c)
	if err != nil {
		return unverifiable(len(c.GetSignatures()), err)
	}
	return verifyPayload(ctx, c.GetSignatures(), payload, keys)
}

// unverifiable returns n results of signatures whose payload could not be computed.
func unverifiable(n int, err error) []SignatureResult {
	if n == 0 {
		return nil
	}
	out := make([]SignatureResult, n)
	for i := range out {
		out[i].Reason = "cannot canonicalize the card: " + err.Error()
	}
	return out
}

// verifyPayload verifies each signature over the detached payload.
func verifyPayload(ctx context.Context, sigs []*a2apb.AgentCardSignature, payload []byte, keys KeyResolver) []SignatureResult {
	if len(sigs) == 0 {
		return nil
	}
	out := make([]SignatureResult, len(sigs))
	encPayload := b64.EncodeToString(payload)
	for i, s := range sigs {
		out[i] = verifyOne(ctx, s, encPayload, keys)
	}
	return out
}

func verifyOne(ctx context.Context, s *a2apb.AgentCardSignature, encPayload string, keys KeyResolver) SignatureResult {
	var r SignatureResult
	fail := func(format string, args ...any) SignatureResult {
		r.Verified, r.Thumbprint, r.Reason = false, "", fmt.Sprintf(format, args...)
		return r
	}
	raw, err := b64.DecodeString(s.GetProtected())
	if err != nil {
		return fail("protected header is not base64url")
	}
	var header map[string]any
	if err := json.Unmarshal(raw, &header); err != nil || header == nil {
		return fail("protected header is not a JSON object")
	}
	r.KeyID, _ = header["kid"].(string)
	alg, ok := header["alg"].(string)
	if !ok {
		return fail("protected header has no alg")
	}
	r.Algorithm = alg
	switch {
	case alg == "none":
		return fail(`alg "none" is not allowed`)
	case alg != AlgEdDSA && alg != AlgES256:
		return fail("unsupported alg %q (want EdDSA or ES256)", alg)
	}
	if _, ok := header["crit"]; ok {
		return fail("crit header parameters are not supported")
	}
	if _, ok := header["b64"]; ok {
		return fail("the b64 header parameter is not supported")
	}
	sig, err := b64.Strict().DecodeString(s.GetSignature())
	if err != nil {
		return fail("signature is not base64url")
	}

	var pub crypto.PublicKey
	if keys != nil {
		if pub, err = keys(ctx, r.KeyID, header); err != nil {
			return fail("key lookup: %v", err)
		}
	}
	if pub == nil {
		m, ok := header["jwk"].(map[string]any)
		if !ok {
			return fail("no key: the resolver knows none and the protected header has no jwk")
		}
		if pub, err = parseJWK(m); err != nil {
			return fail("embedded jwk: %v", err)
		}
	}
	keyAlg, _, err := publicJWK(pub)
	if err != nil {
		return fail("key: %v", err)
	}
	if keyAlg != alg {
		return fail("alg %s does not match the key (%s)", alg, keyAlg)
	}

	input := []byte(s.GetProtected() + "." + encPayload)
	switch alg {
	case AlgEdDSA:
		if !ed25519strict.Verify(pub.(ed25519.PublicKey), input, sig) {
			return fail("signature does not verify")
		}
	case AlgES256:
		if len(sig) != 64 {
			return fail("ES256 signature must be 64 bytes, got %d", len(sig))
		}
		digest := sha256.Sum256(input)
		rr, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub.(*ecdsa.PublicKey), digest[:], rr, ss) {
			return fail("signature does not verify")
		}
	}
	tp, err := Thumbprint(pub)
	if err != nil {
		return fail("key: %v", err)
	}
	r.Verified, r.Reason, r.Thumbprint = true, "", tp
	return r
}

// publicJWK returns the JWS alg and the public JWK of pub, an ed25519.PublicKey or a P-256
// *ecdsa.PublicKey.
func publicJWK(pub crypto.PublicKey) (string, jwk, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", jwk{}, errors.New("Ed25519 public key has the wrong size")
		}
		return AlgEdDSA, jwk{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(k)}, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return "", jwk{}, errors.New("only P-256 ECDSA keys are supported")
		}
		b, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			return "", jwk{}, fmt.Errorf("invalid P-256 key: %w", err)
		}
		return AlgES256, jwk{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(b[1:33]), Y: b64.EncodeToString(b[33:])}, nil
	default:
		return "", jwk{}, fmt.Errorf("unsupported key type %T (want Ed25519 or P-256 ECDSA)", pub)
	}
}

// parseJWK reads an Ed25519 (OKP) or P-256 (EC) public JWK.
func parseJWK(m map[string]any) (crypto.PublicKey, error) {
	if _, ok := m["d"]; ok {
		return nil, errors.New("jwk contains a private key")
	}
	field := func(name string, size int) ([]byte, error) {
		s, _ := m[name].(string)
		b, err := b64.Strict().DecodeString(s)
		if err != nil || len(b) != size {
			return nil, fmt.Errorf("jwk %q must be %d base64url bytes", name, size)
		}
		return b, nil
	}
	kty, _ := m["kty"].(string)
	crv, _ := m["crv"].(string)
	switch {
	case kty == "OKP" && crv == "Ed25519":
		x, err := field("x", ed25519.PublicKeySize)
		if err != nil {
			return nil, err
		}
		if err := ed25519strict.CheckPublicKey(x); err != nil {
			return nil, fmt.Errorf("jwk is a weak Ed25519 key: %w", err)
		}
		return ed25519.PublicKey(x), nil
	case kty == "EC" && crv == "P-256":
		x, err := field("x", 32)
		if err != nil {
			return nil, err
		}
		y, err := field("y", 32)
		if err != nil {
			return nil, err
		}
		k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, errors.New("jwk is not a point on P-256")
		}
		return k, nil
	default:
		return nil, fmt.Errorf("unsupported jwk kty %q crv %q (want OKP Ed25519 or EC P-256)", kty, crv)
	}
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of pub, an
// ed25519.PublicKey or a P-256 *ecdsa.PublicKey: the stable name of a signing key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	_, k, err := publicJWK(pub)
	if err != nil {
		return "", apperr.Errorf(apperr.Invalid, "UNSUPPORTED_KEY", "%v", err)
	}
	// The required members in lexicographic order, no whitespace (RFC 7638 §3.2).
	var s string
	switch k.Kty {
	case "OKP":
		s = fmt.Sprintf(`{"crv":%q,"kty":%q,"x":%q}`, k.Crv, k.Kty, k.X)
	default:
		s = fmt.Sprintf(`{"crv":%q,"kty":%q,"x":%q,"y":%q}`, k.Crv, k.Kty, k.X, k.Y)
	}
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:]), nil
}
