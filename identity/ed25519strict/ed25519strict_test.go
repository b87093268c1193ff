package ed25519strict_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"filippo.io/edwards25519"

	"github.com/sovereign-stack/sovereign/identity/ed25519strict"
	"github.com/sovereign-stack/sovereign/identity/ed25519strict/ed25519stricttest"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func isSmallOrder(p *edwards25519.Point) bool {
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1
}

func TestCheckPublicKey_SmallOrderPoints(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range ed25519stricttest.SmallOrder() {
		p, err := new(edwards25519.Point).SetBytes(b)
		if err != nil || !isSmallOrder(p) {
			t.Fatalf("%x is not a point of small order (%v)", b, err)
		}
		seen[string(p.Bytes())] = true
		if err := ed25519strict.CheckPublicKey(b); !errors.Is(err, ed25519strict.ErrSmallOrder) {
			t.Errorf("CheckPublicKey(%x) = %v, want ErrSmallOrder", b, err)
		}
	}
	if len(seen) != 8 {
		t.Fatalf("%d distinct small-order points, want 8", len(seen))
	}
}

func TestCheckPublicKey_RefusesMalformedKeys(t *testing.T) {
	nc, k := ed25519stricttest.NonCanonical(2)
	canon := make([]byte, 32)
	canon[0] = byte(k)
	if p, err := new(edwards25519.Point).SetBytes(canon); err != nil || isSmallOrder(p) {
		t.Fatal("the non-canonical test point is not of large order")
	}
	ncIdentity, _ := ed25519stricttest.NonCanonical(1) // y = p+1: the identity, written non-canonically
	negZero := unhex(t, "0100000000000000000000000000000000000000000000000000000000000080")
	notOnCurve := unhex(t, "0200000000000000000000000000000000000000000000000000000000000000")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	mixed, _ := ed25519stricttest.MixedOrder([]byte("m"))
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
	// Small-order keys: crypto/ed25519 takes S = 0 with a small-order R, no private key needed.
	forged := 0
	ncIdentity, _ := ed25519stricttest.NonCanonical(1)
	for _, key := range append(ed25519stricttest.SmallOrder(), ncIdentity) {
		if s := ed25519stricttest.Forge(key, msg); s != nil {
			forged++
			if ed25519strict.Verify(key, msg, s) {
				t.Errorf("a forged signature under %x accepted", key)
			}
		}
	}
	if forged < 2 {
		t.Fatalf("%d forgeries found: the test proves little", forged)
	}
	// S + L is the same scalar: a malleated signature crypto/ed25519 refuses too.
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
	// R of small order or non-canonical.
	for _, r := range [][]byte{ed25519stricttest.SmallOrder()[0], ncIdentity} {
		if ed25519strict.Verify(pub, msg, append(append([]byte{}, r...), sig[32:]...)) {
			t.Errorf("R = %x accepted", r)
		}
	}
}

// TestVerify_MixedOrderKeyRefused: the holder of a key with a small-order component grinds
// signatures that crypto/ed25519 accepts (k ≡ 0 mod 8); the strict check refuses the key.
func TestVerify_MixedOrderKeyRefused(t *testing.T) {
	msg := []byte("hello")
	pub, sig := ed25519stricttest.MixedOrder(msg)
	if !ed25519.Verify(pub, msg, sig) {
		t.Fatal("the ground signature does not verify with crypto/ed25519: the test proves nothing")
	}
	if ed25519strict.Verify(pub, msg, sig) {
		t.Fatal("a signature under a mixed-order key accepted")
	}
}

// FuzzCheckPublicKey: whatever the bytes, CheckPublicKey never panics, and what it accepts is a
// canonical point of the prime-order subgroup other than the identity.
func FuzzCheckPublicKey(f *testing.F) {
	for _, b := range ed25519stricttest.SmallOrder() {
		f.Add(b)
	}
	nc, _ := ed25519stricttest.NonCanonical(2)
	f.Add(nc)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	f.Add([]byte(pub))
	f.Add(make([]byte, 31))
	lm1, err := edwards25519.NewScalar().SetCanonicalBytes(unhex(f, "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if ed25519strict.CheckPublicKey(b) != nil {
			return
		}
		p, err := new(edwards25519.Point).SetBytes(b)
		if err != nil || string(p.Bytes()) != string(b) {
			t.Fatalf("accepted %x, which is not a canonical point", b)
		}
		if isSmallOrder(p) {
			t.Fatalf("accepted the small-order point %x", b)
		}
		// In the prime-order subgroup: [L]P = [L−1]P + P is the identity (computed here with the
		// constant-time ScalarMult; the package uses the variable-time one).
		q := new(edwards25519.Point).ScalarMult(lm1, p)
		if q.Add(q, p).Equal(edwards25519.NewIdentityPoint()) != 1 {
			t.Fatalf("accepted %x, outside the prime-order subgroup", b)
		}
		if ed25519strict.Verify(b, []byte("m"), make([]byte, 64)) {
			t.Fatal("an all-zero signature verified")
		}
	})
}
