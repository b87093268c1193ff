// Package ed25519stricttest makes the weak Ed25519 keys and forged signatures that
// ed25519strict refuses, for tests: the small-order points, non-canonical encodings, keys with a
// small-order component, and signatures under them that crypto/ed25519 accepts.
package ed25519stricttest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"

	"filippo.io/edwards25519"
)

// SmallOrder returns the canonical encodings of the 8 points of small order (the torsion
// subgroup), the identity first; the third is the all-zero key.
func SmallOrder() [][]byte {
	hexes := []string{
		"0100000000000000000000000000000000000000000000000000000000000000", // identity (order 1)
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
		"0000000000000000000000000000000000000000000000000000000000000000", // order 4: all zero
		"0000000000000000000000000000000000000000000000000000000000000080", // order 4
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
	}
	out := make([][]byte, len(hexes))
	for i, h := range hexes {
		out[i], _ = hex.DecodeString(h)
	}
	return out
}

// NonCanonical returns the encoding p+k (y ≥ p = 2^255−19, so not canonical) of the point whose
// canonical y is k, for the smallest k ≥ from that is the y of a curve point, and that k. From 1
// it is the identity (y = p+1); from 2, a point of large order.
func NonCanonical(from int) ([]byte, int) {
	for k := from; k < 19; k++ {
		canon := make([]byte, 32)
		canon[0] = byte(k)
		if _, err := new(edwards25519.Point).SetBytes(canon); err != nil {
			continue
		}
		enc := make([]byte, 32)
		for i := range enc {
			enc[i] = 0xff
		}
		enc[31], enc[0] = 0x7f, byte(0xed+k)
		return enc, k
	}
	panic("ed25519stricttest: no non-canonical encoding below 19")
}

// Forge returns a signature of msg under pub, a key of small order (canonical or not), that
// crypto/ed25519 accepts, made without any private key: S = 0 and R = −[k]A, one of the
// small-order points. It returns nil when no such R fits this message — never for the identity
// key, often enough for keys of order 4 or 8 (k depends on R).
func Forge(pub, msg []byte) []byte {
	for _, r := range SmallOrder() {
		sig := append(r, make([]byte, 32)...)
		if ed25519.Verify(pub, msg, sig) {
			return sig
		}
	}
	return nil
}

// MixedOrder returns a key with a small-order component (a real key plus a point of order 8)
// and a signature of msg under it that crypto/ed25519 accepts, made by grinding: its holder can
// sign one message in eight.
func MixedOrder(msg []byte) (pub, sig []byte) {
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	h := sha512.Sum512(seed)
	s, _ := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	t8, _ := new(edwards25519.Point).SetBytes(SmallOrder()[4])
	pub = new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(s), t8).Bytes()
	for {
		rb := make([]byte, 64)
		_, _ = rand.Read(rb)
		r, _ := edwards25519.NewScalar().SetUniformBytes(rb)
		R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
		kh := sha512.Sum512(append(append(append([]byte{}, R...), pub...), msg...))
		k, _ := edwards25519.NewScalar().SetUniformBytes(kh[:])
		sig = append(R, edwards25519.NewScalar().MultiplyAdd(k, s, r).Bytes()...)
		if ed25519.Verify(pub, msg, sig) {
			return pub, sig
		}
	}
}
