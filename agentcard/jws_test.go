package agentcard

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/identity/ed25519strict/ed25519stricttest"
)

func parsedCard(t *testing.T) *a2apb.AgentCard {
	t.Helper()
	p, err := Parse(context.Background(), readFixture(t, "card_v1.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.Card
}

func testKeys(t *testing.T) (ed25519.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ed, ec
}

func TestSign_VerifiesRoundTrip(t *testing.T) {
	ed, ec := testKeys(t)
	tests := []struct {
		name string
		key  crypto.Signer
		alg  string
	}{
		{"Ed25519", ed, AlgEdDSA},
		{"P-256", ec, AlgES256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parsedCard(t)
			if err := Sign(c, tt.key, "key-1"); err != nil {
				t.Fatal(err)
			}
			want, err := Thumbprint(tt.key.Public())
			if err != nil {
				t.Fatal(err)
			}
			res := Verify(context.Background(), c, nil)
			if len(res) != 1 {
				t.Fatalf("got %d results", len(res))
			}
			r := res[0]
			if !r.Verified || r.Reason != "" || r.KeyID != "key-1" || r.Algorithm != tt.alg || r.Thumbprint != want {
				t.Errorf("result = %+v, want verified %s with thumbprint %s", r, tt.alg, want)
			}

			// The protected header is {"alg","kid","typ":"JOSE","jwk"}.
			raw, _ := base64.RawURLEncoding.DecodeString(c.Signatures[0].Protected)
			var h map[string]any
			if err := json.Unmarshal(raw, &h); err != nil {
				t.Fatal(err)
			}
			if h["alg"] != tt.alg || h["kid"] != "key-1" || h["typ"] != "JOSE" || h["jwk"] == nil || len(h) != 4 {
				t.Errorf("protected header = %v", h)
			}

			// Through JSON and Parse, as the registry receives it.
			b, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(context.Background(), b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Signatures) != 1 || !p.Signatures[0].Verified {
				t.Errorf("Parse signatures = %+v", p.Signatures)
			}
		})
	}
}

func TestSign_SeveralSignaturesSignTheSamePayload(t *testing.T) {
	ed, ec := testKeys(t)
	c := parsedCard(t)
	if err := Sign(c, ed, "a"); err != nil {
		t.Fatal(err)
	}
	if err := Sign(c, ec, ""); err != nil {
		t.Fatal(err)
	}
	res := Verify(context.Background(), c, nil)
	if len(res) != 2 || !res[0].Verified || !res[1].Verified || res[1].KeyID != "" {
		t.Errorf("results = %+v", res)
	}
}

func TestSign_RejectsUnsupportedKeys(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []crypto.Signer{rk, p384} {
		if err := Sign(parsedCard(t), k, "x"); apperr.CodeOf(err) != "UNSUPPORTED_KEY" {
			t.Errorf("Sign(%T) error = %v, want UNSUPPORTED_KEY", k, err)
		}
	}
}

func TestVerify_TamperedCardIsNotVerified(t *testing.T) {
	ed, ec := testKeys(t)
	for _, key := range []crypto.Signer{ed, ec} {
		c := parsedCard(t)
		if err := Sign(c, key, "k"); err != nil {
			t.Fatal(err)
		}
		c.Skills[0].Description += "!"
		r := Verify(context.Background(), c, nil)[0]
		if r.Verified || r.Reason != "signature does not verify" || r.Thumbprint != "" {
			t.Errorf("tampered card: %+v", r)
		}
		// Parse reports it too, without failing.
		b, _ := Marshal(c)
		p, err := Parse(context.Background(), b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Signatures[0].Verified {
			t.Error("Parse verified a tampered card")
		}
	}
}

// signRaw adds a signature with an arbitrary protected header, signed by ed over the card.
func signRaw(t *testing.T, c *a2apb.AgentCard, header map[string]any, ed ed25519.PrivateKey) {
	t.Helper()
	hb, _ := json.Marshal(header)
	payload, err := Canonical(c)
	if err != nil {
		t.Fatal(err)
	}
	protected := base64.RawURLEncoding.EncodeToString(hb)
	sig := ed25519.Sign(ed, []byte(protected+"."+base64.RawURLEncoding.EncodeToString(payload)))
	c.Signatures = append(c.Signatures, &a2apb.AgentCardSignature{Protected: protected, Signature: base64.RawURLEncoding.EncodeToString(sig)})
}

func TestVerify_RejectsBadHeaders(t *testing.T) {
	ed, _ := testKeys(t)
	_, j, _ := publicJWK(ed.Public())
	jwkMap := map[string]any{"kty": j.Kty, "crv": j.Crv, "x": j.X}
	tests := []struct {
		name   string
		header map[string]any
		reason string
	}{
		{"alg none", map[string]any{"alg": "none", "jwk": jwkMap}, `alg "none" is not allowed`},
		{"alg HS256", map[string]any{"alg": "HS256", "jwk": jwkMap}, "unsupported alg"},
		{"alg RS256", map[string]any{"alg": "RS256", "jwk": jwkMap}, "unsupported alg"},
		{"no alg", map[string]any{"jwk": jwkMap}, "no alg"},
		{"crit", map[string]any{"alg": "EdDSA", "crit": []any{"exp"}, "exp": 1, "jwk": jwkMap}, "crit"},
		{"b64", map[string]any{"alg": "EdDSA", "b64": false, "jwk": jwkMap}, "b64"},
		{"no key", map[string]any{"alg": "EdDSA", "kid": "k"}, "no key"},
		{"private jwk", map[string]any{"alg": "EdDSA", "jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": j.X, "d": "secret"}}, "private key"},
		{"rsa jwk", map[string]any{"alg": "EdDSA", "jwk": map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}}, "unsupported jwk"},
		{"alg does not match key", map[string]any{"alg": "ES256", "jwk": jwkMap}, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parsedCard(t)
			signRaw(t, c, tt.header, ed)
			r := Verify(context.Background(), c, nil)[0]
			if r.Verified || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("result = %+v, want reason containing %q", r, tt.reason)
			}
		})
	}
	t.Run("garbage", func(t *testing.T) {
		c := parsedCard(t)
		c.Signatures = []*a2apb.AgentCardSignature{
			{Protected: "!!", Signature: "AA"},
			{Protected: base64.RawURLEncoding.EncodeToString([]byte(`[1]`)), Signature: "AA"},
			{Protected: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA"}`)), Signature: "*"},
		}
		for i, r := range Verify(context.Background(), c, nil) {
			if r.Verified || r.Reason == "" {
				t.Errorf("signature %d: %+v", i, r)
			}
		}
	})
}

func TestVerify_UsesResolver(t *testing.T) {
	ed, _ := testKeys(t)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	c := parsedCard(t)
	if err := Sign(c, ed, "kid-7"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	edTP, _ := Thumbprint(ed.Public())

	var gotKid string
	var gotHeader map[string]any
	r := Verify(ctx, c, func(_ context.Context, kid string, h map[string]any) (crypto.PublicKey, error) {
		gotKid, gotHeader = kid, h
		return ed.Public(), nil
	})[0]
	if !r.Verified || r.Thumbprint != edTP || gotKid != "kid-7" || gotHeader["typ"] != "JOSE" {
		t.Errorf("resolver key: %+v (kid %q, header %v)", r, gotKid, gotHeader)
	}

	// The resolver's key wins over the embedded jwk.
	r = Verify(ctx, c, func(context.Context, string, map[string]any) (crypto.PublicKey, error) { return other.Public(), nil })[0]
	if r.Verified || r.Reason != "signature does not verify" {
		t.Errorf("other key: %+v", r)
	}

	// A resolver error means not verified.
	r = Verify(ctx, c, func(context.Context, string, map[string]any) (crypto.PublicKey, error) {
		return nil, errors.New("kid-7 is revoked")
	})[0]
	if r.Verified || !strings.Contains(r.Reason, "kid-7 is revoked") {
		t.Errorf("resolver error: %+v", r)
	}

	// No key from the resolver: the embedded jwk is used.
	r = Verify(ctx, c, func(context.Context, string, map[string]any) (crypto.PublicKey, error) { return nil, nil })[0]
	if !r.Verified || r.Thumbprint != edTP {
		t.Errorf("fallback to jwk: %+v", r)
	}

	// A key of an unsupported type.
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	r = Verify(ctx, c, func(context.Context, string, map[string]any) (crypto.PublicKey, error) { return rk.Public(), nil })[0]
	if r.Verified || !strings.Contains(r.Reason, "unsupported key type") {
		t.Errorf("rsa key: %+v", r)
	}
}

func TestVerify_ES256NeedsRawSignature(t *testing.T) {
	_, ec := testKeys(t)
	c := parsedCard(t)
	if err := Sign(c, ec, "k"); err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(c.Signatures[0].Signature)
	c.Signatures[0].Signature = base64.RawURLEncoding.EncodeToString(append(sig, 0))
	if r := Verify(context.Background(), c, nil)[0]; r.Verified || !strings.Contains(r.Reason, "64 bytes") {
		t.Errorf("result = %+v", r)
	}
}

func TestParse_VerifiesV03SignaturesOverTheOriginal(t *testing.T) {
	ed, _ := testKeys(t)
	data := readFixture(t, "card_v03.json")
	payload, err := CanonicalJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	_, j, _ := publicJWK(ed.Public())
	hb, _ := json.Marshal(map[string]any{"alg": "EdDSA", "kid": "v03", "jwk": j})
	protected := base64.RawURLEncoding.EncodeToString(hb)
	sig := ed25519.Sign(ed, []byte(protected+"."+base64.RawURLEncoding.EncodeToString(payload)))
	signed := mutated(t, "card_v03.json", func(m map[string]any) {
		m["signatures"] = []any{map[string]any{"protected": protected, "signature": base64.RawURLEncoding.EncodeToString(sig)}}
	})
	p, err := Parse(context.Background(), signed, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.SourceVersion != Version03 || len(p.Signatures) != 1 || !p.Signatures[0].Verified || p.Signatures[0].KeyID != "v03" {
		t.Fatalf("parsed = %s %+v", p.SourceVersion, p.Signatures)
	}
	if len(p.Card.GetSignatures()) != 1 {
		t.Fatal("signature not kept")
	}
	// The converted card is different bytes, so its v0.3 signature does not cover it.
	if r := Verify(context.Background(), p.Card, nil)[0]; r.Verified {
		t.Error("a v0.3 signature verified over the converted card")
	}
}

// TestThumbprint_RFC8037 checks the Ed25519 thumbprint of RFC 8037 Appendix A.3.
func TestThumbprint_RFC8037(t *testing.T) {
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	got, err := Thumbprint(ed25519.PublicKey(x))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Errorf("Thumbprint = %s, want %s", got, want)
	}
	if _, err := Thumbprint("not a key"); apperr.CodeOf(err) != "UNSUPPORTED_KEY" {
		t.Errorf("error = %v", err)
	}
}

func TestParseJWK_RoundTripsP256(t *testing.T) {
	_, ec := testKeys(t)
	_, j, err := publicJWK(ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	k, err := parseJWK(map[string]any{"kty": j.Kty, "crv": j.Crv, "x": j.X, "y": j.Y})
	if err != nil {
		t.Fatal(err)
	}
	if !ec.PublicKey.Equal(k) {
		t.Error("P-256 jwk did not round-trip")
	}
	// A point off the curve.
	if _, err := parseJWK(map[string]any{"kty": "EC", "crv": "P-256", "x": j.X, "y": j.X}); err == nil {
		t.Error("accepted a point off the curve")
	}
}

// forgedSigner signs as a small-order key without a private key (S = 0, R small order), which
// crypto/ed25519 accepts for some messages and the identity key for all.
type forgedSigner struct{ pub []byte }

func (f forgedSigner) Public() crypto.PublicKey { return ed25519.PublicKey(f.pub) }

func (f forgedSigner) Sign(_ io.Reader, msg []byte, _ crypto.SignerOpts) ([]byte, error) {
	if s := ed25519stricttest.Forge(f.pub, msg); s != nil {
		return s, nil
	}
	return make([]byte, 64), nil
}

func TestVerify_WeakEd25519KeysAreNotVerified(t *testing.T) {
	ctx := context.Background()
	for _, k := range ed25519stricttest.SmallOrder() {
		c := parsedCard(t)
		if err := Sign(c, forgedSigner{k}, "weak"); err != nil {
			t.Fatal(err)
		}
		if r := Verify(ctx, c, nil)[0]; r.Verified || !strings.Contains(r.Reason, "weak Ed25519 key") {
			t.Errorf("embedded small-order jwk %x: %+v", k, r)
		}
		// The same key handed back by a resolver.
		r := Verify(ctx, c, func(context.Context, string, map[string]any) (crypto.PublicKey, error) {
			return ed25519.PublicKey(k), nil
		})[0]
		if r.Verified {
			t.Errorf("resolved small-order key %x verified: %+v", k, r)
		}
	}
	nc, _ := ed25519stricttest.NonCanonical(2)
	if _, err := parseJWK(map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(nc)}); err == nil {
		t.Error("a non-canonical Ed25519 jwk parsed")
	}
}
