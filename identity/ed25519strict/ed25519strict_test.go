package ed25519strict_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"testing"

	"filippo.io/edwards25519"

	"github.com/sovereign-stack/sovereign/identity/ed25519strict"
)

// SmallOrder are the canonical encodings of the 8 points of small order (the torsion subgroup),
// identity first.
var smallOrder = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity (order 1)
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4 (the all-zero key)
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nonCanonical returns p+k (little-endian, y ≥ p) for the smallest k ≥ from such that y = k
// decodes to a point, and that point.
func nonCanonical(t testing.TB, from int) ([]byte, *edwards25519.Point) {
	t.Helper()
	for k := from; k < 19; k++ {
		canon := make([]byte, 32)
		canon[0] = byte(k)
		p, err := new(edwards25519.Point).SetBytes(canon)
		if err != nil {
			continue
		}
		enc := make([]byte, 32) // p = 2^255 − 19: ed ff … ff 7f
		for i := range enc {
			enc[i] = 0xff
		}
		enc[31] = 0x7f
		enc[0] = byte(0xed + k)
		return enc, p
	}
	t.Fatal("no non-canonical encoding found")
	return nil, nil
}

func TestCheckPublicKey_SmallOrderPoints(t *testing.T) {
	seen := map[string]bool{}
	for _, h := range smallOrder {
		b := unhex(t, h)
		p, err := new(edwards25519.Point).SetBytes(b)
		if err != nil {
			t.Fatalf("%s is not a point: %v", h, err)
		}
		if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) != 1 {
			t.Fatalf("%s is not of small order", h)
		}
		seen[string(p.Bytes())] = true
		if err := ed25519strict.CheckPublicKey(b); !errors.Is(err, ed25519strict.ErrSmallOrder) {
			t.Errorf("CheckPublicKey(%s) = %v, want ErrSmallOrder", h, err)
		}
	}
	if len(seen) != 8 {
		t.Fatalf("%d distinct small-order points, want 8", len(seen))
	}
}

func TestCheckPublicKey_RefusesMalformedKeys(t *testing.T) {
	nc, p := nonCanonical(t, 2)
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		t.Fatal("the non-canonical test point is of small order")
	}
	ncIdentity, _ := nonCanonical(t, 1) // y = p+1: the identity, written non-canonically
	negZero := unhex(t, "0100000000000000000000000000000000000000000000000000000000000080")
	notOnCurve := unhex(t, "0200000000000000000000000000000000000000000000000000000000000000")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	a, _ := new(edwards25519.Point).SetBytes(pub)
	t8, _ := new(edwards25519.Point).SetBytes(unhex(t, smallOrder[4]))
	mixed := new(edwards25519.Point).Add(a, t8).Bytes()
	for _, c := range []struct {
		name string
		key  []byte
		want error
	}{
		{"empty", nil, ed25519strict.ErrSize},
		{"31 bytes", pub[:31], ed25519strict.ErrSize},
		{"33 bytes", append(append([]byte{}, pub...), 0), ed25519strict.ErrSize},
		{"y not on the curve", notOnCurve, ed25519strict.ErrNotOnCurve},
		{"non-canonical y ≥ p", nc, ed25519strict.ErrNonCanonical},
		{"non-canonical identity", ncIdentity, ed25519strict.ErrNonCanonical},
		{"x = 0 with the sign bit", negZero, ed25519strict.ErrNonCanonical},
		{"mixed order", mixed, ed25519strict.ErrMixedOrder},
	} {
		if err := ed25519strict.CheckPublicKey(c.key); !errors.Is(err, c.want) {
			t.Errorf("%s: CheckPublicKey = %v, want %v", c.name, err, c.want)
		}
	}
	for range 100 {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		if err := ed25519strict.CheckPublicKey(pub); err != nil {
			t.Fatalf("a generated key %x refused: %v", pub, err)
		}
	}
}

// forgeSmallOrder returns a signature of msg under the small-order key pub that crypto/ed25519
// accepts, made without a private key: S = 0 and R = −[k]A, one of the 8 small-order points.
func forgeSmallOrder(pub, msg []byte) []byte {
	for _, h := range smallOrder {
		r, _ := hex.DecodeString(h)
		sig := append(r, make([]byte, 32)...)
		if ed25519.Verify(pub, msg, sig) {
			return sig
		}
	}
	return nil
}

func TestVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("bst_the bootstrap token")
	sig := ed25519.Sign(priv, msg)
	if !ed25519strict.Verify(pub, msg, sig) {
		t.Fatal("a good signature refused")
	}
	if ed25519strict.Verify(pub, []byte("another message"), sig) || ed25519strict.Verify(pub, msg, sig[:63]) {
		t.Fatal("a wrong message or a short signature accepted")
	}
	// The identity key: crypto/ed25519 takes (R = identity, S = 0) for every message.
	forged := 0
	for _, h := range smallOrder {
		key := unhex(t, h)
		if s := forgeSmallOrder(key, msg); s != nil {
			forged++
			if ed25519strict.Verify(key, msg, s) {
				t.Errorf("a forged signature under %s accepted", h)
			}
		}
	}
	if forged == 0 {
		t.Fatal("no forgery found: the test proves nothing")
	}
	// S ≥ L: S + L is the same scalar, a malleated signature.
	l := unhex(t, "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	bigS := append([]byte{}, sig...)
	var carry uint16
	for i := range 32 {
		v := uint16(bigS[32+i]) + uint16(l[i]) + carry
		bigS[32+i], carry = byte(v), v>>8
	}
	if carry == 0 && ed25519strict.Verify(pub, msg, bigS) {
		t.Error("S + L accepted")
	}
	// R of small order, with a key whose holder makes R = identity work: [S]B = [k]A.
	r := append(unhex(t, smallOrder[0]), make([]byte, 32)...)
	if ed25519strict.Verify(pub, msg, r) {
		t.Error("R = identity accepted")
	}
}

// TestVerify_MixedOrderKeyRefused: the holder of a key with a small-order component can grind
// signatures that crypto/ed25519 accepts (k ≡ 0 mod 8); the strict check refuses the key.
func TestVerify_MixedOrderKeyRefused(t *testing.T) {
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	h := sha512.Sum512(seed)
	s, _ := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	t8, _ := new(edwards25519.Point).SetBytes(unhex(t, smallOrder[4]))
	pub := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(s), t8).Bytes()
	msg := []byte("hello")
	for range 1000 {
		rb := make([]byte, 64)
		_, _ = rand.Read(rb)
		r, _ := edwards25519.NewScalar().SetUniformBytes(rb)
		R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
		kh := sha512.Sum512(append(append(append([]byte{}, R...), pub...), msg...))
		k, _ := edwards25519.NewScalar().SetUniformBytes(kh[:])
		sig := append(R, edwards25519.NewScalar().MultiplyAdd(k, s, r).Bytes()...)
		if ed25519.Verify(pub, msg, sig) {
			if ed25519strict.Verify(pub, msg, sig) {
				t.Fatal("a signature under a mixed-order key accepted")
			}
			return
		}
	}
	t.Fatal("no signature under the mixed-order key verified with crypto/ed25519: the test proves nothing")
}

// FuzzCheckPublicKey: whatever the bytes, CheckPublicKey never panics, and what it accepts is a
// canonical point of the prime-order subgroup that crypto/ed25519 can use, other than the identity.
func FuzzCheckPublicKey(f *testing.F) {
	for _, h := range smallOrder {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	f.Add([]byte(pub))
	f.Add(make([]byte, 31))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := ed25519strict.CheckPublicKey(b)
		if err != nil {
			return
		}
		p, perr := new(edwards25519.Point).SetBytes(b)
		if perr != nil || string(p.Bytes()) != string(b) {
			t.Fatalf("accepted %x, which is not a canonical point", b)
		}
		if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
			t.Fatalf("accepted the small-order point %x", b)
		}
		// In the prime-order subgroup: [L]P = [L−1]P + P is the identity (computed here with the
		// constant-time ScalarMult, the package uses the variable-time one).
		var lb [32]byte
		copy(lb[:], unhexF("ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"))
		lm1, _ := edwards25519.NewScalar().SetCanonicalBytes(lb[:])
		q := new(edwards25519.Point).ScalarMult(lm1, p)
		if q.Add(q, p).Equal(edwards25519.NewIdentityPoint()) != 1 {
			t.Fatalf("accepted %x, outside the prime-order subgroup", b)
		}
		if ed25519strict.Verify(b, []byte("m"), make([]byte, 64)) {
			t.Fatal("an all-zero signature verified")
		}
	})
}

func unhexF(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}
