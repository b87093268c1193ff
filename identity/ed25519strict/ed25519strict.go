// Package ed25519strict is the one check of Ed25519 public keys and signatures that come from
// outside: agent keys at registration (JWK), did:key DIDs, agent-card JWS keys, push-notification
// signatures, CSR keys. crypto/ed25519 accepts any 32 bytes that decode to a curve point as a
// public key — the identity point, the other small-order points, non-canonical encodings — and a
// signature under a small-order key can be made without any private key. Here a public key must
// be the canonical encoding of a point of the prime-order subgroup other than the identity, and a
// signature's R must be canonical and not of small order and its S below the group order L
// (RFC 8032 §5.1.7 strict verification), before crypto/ed25519 verifies it.
package ed25519strict

import (
	"bytes"
	"crypto/ed25519"
	"errors"

	"filippo.io/edwards25519"
)

// Reasons a public key (or a signature's R) is refused; CheckPublicKey wraps one of them.
var (
	ErrSize         = errors.New("an Ed25519 public key is 32 bytes")
	ErrNotOnCurve   = errors.New("not the encoding of a point on edwards25519")
	ErrNonCanonical = errors.New("a non-canonical point encoding (y ≥ p, or x = 0 with the sign bit set)")
	ErrSmallOrder   = errors.New("a point of small order (8·A is the identity): signatures under it can be forged")
	ErrMixedOrder   = errors.New("a point outside the prime-order subgroup (it has a small-order component)")
)

// lMinus1 is L−1, L = 2^252 + 27742317777372353535851937790883648493 the order of the base point.
var lMinus1 = func() *edwards25519.Scalar {
	b := [32]byte{0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(b[:])
	if err != nil {
		panic(err)
	}
	return s
}()

// point decodes b as a canonical, not small-order point.
func point(b []byte) (*edwards25519.Point, error) {
	if len(b) != ed25519.PublicKeySize {
		return nil, ErrSize
	}
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return nil, ErrNotOnCurve
	}
	if !bytes.Equal(p.Bytes(), b) {
		return nil, ErrNonCanonical
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, ErrSmallOrder
	}
	return p, nil
}

// CheckPublicKey returns nil when pub is a strong Ed25519 public key: 32 bytes, the canonical
// encoding of a curve point, not of small order, and in the prime-order subgroup (as every key
// crypto/ed25519 or any RFC 8032 implementation generates is). Otherwise it returns one of the
// Err* reasons above.
func CheckPublicKey(pub []byte) error {
	p, err := point(pub)
	if err != nil {
		return err
	}
	// [L]P = [L−1]P + P is the identity exactly when P is in the prime-order subgroup.
	lp := new(edwards25519.Point).VarTimeMultiScalarMult([]*edwards25519.Scalar{lMinus1}, []*edwards25519.Point{p})
	if lp.Add(lp, p).Equal(edwards25519.NewIdentityPoint()) != 1 {
		return ErrMixedOrder
	}
	return nil
}

// Verify reports whether sig is a valid Ed25519 signature of msg by pub under strict rules: pub
// passes CheckPublicKey, sig is 64 bytes, its R is a canonical encoding of a point not of small
// order and its S is below L; then crypto/ed25519 checks the (cofactorless) equation.
func Verify(pub, msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize || CheckPublicKey(pub) != nil {
		return false
	}
	if _, err := point(sig[:32]); err != nil {
		return false
	}
	if _, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:]); err != nil {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(pub), msg, sig)
}
