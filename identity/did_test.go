package identity

import (
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/sovereign-stack/sovereign/identity/ed25519strict/ed25519stricttest"
)

func TestDIDKey(t *testing.T) {
	// The did:key spec's Ed25519 example key.
	pub, _ := hex.DecodeString("2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6")
	got := DIDKey(ed25519.PublicKey(pub))
	if want := "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"; got != want {
		t.Fatalf("DIDKey = %s, want %s", got, want)
	}
	back, err := ParseDIDKey(got)
	if err != nil || !back.Equal(ed25519.PublicKey(pub)) {
		t.Fatalf("ParseDIDKey = %x, %v", back, err)
	}
	nc, _ := ed25519stricttest.NonCanonical(2)
	weak := []string{DIDKey(nc)}
	for _, k := range ed25519stricttest.SmallOrder() {
		weak = append(weak, DIDKey(k))
	}
	for _, bad := range weak {
		if _, err := ParseDIDKey(bad); err == nil {
			t.Errorf("ParseDIDKey(%q) accepted a weak key", bad)
		}
	}
	for _, bad := range []string{"did:web:x", "did:key:z0OIl", "did:key:z" + "111"} {
		if _, err := ParseDIDKey(bad); err == nil {
			t.Errorf("ParseDIDKey(%q) accepted", bad)
		}
	}
}
