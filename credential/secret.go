package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Prefixes of the bearer secrets; a prefix tells a leaked secret's kind at a glance (and lets
// secret scanners find it).
const (
	APIKeyPrefix            = "avreg_"
	RefreshTokenPrefix      = "avrt_"
	VerificationTokenPrefix = "avev_"
	RecoveryKeyPrefix       = "avrk_"
)

// secretBytes is the entropy of every bearer secret: 256 bits.
const secretBytes = 32

// NewSecret returns a new random secret (prefix + 43 base64url characters) and the hash to store
// in its place. The plain secret is shown to its owner once and never stored.
func NewSecret(prefix string) (plain, hash string) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic("credential: crypto/rand failed: " + err.Error()) // never fails on supported platforms
	}
	plain = prefix + base64.RawURLEncoding.EncodeToString(b)
	return plain, HashSecret(plain)
}

// HashSecret returns the hex SHA-256 of a secret. Secrets carry 256 bits of entropy, so a fast
// hash is enough (unlike passwords); it lets the server find a secret by its hash in one lookup.
func HashSecret(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// LooksLike reports whether s has the prefix and length of a secret made by NewSecret, so
// obviously malformed input is rejected before any lookup.
func LooksLike(prefix, s string) bool {
	if !strings.HasPrefix(s, prefix) || len(s) != len(prefix)+43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(prefix):])
	return err == nil
}

// DisplayPrefix is the part of a secret that may be shown after creation, to tell keys apart
// (the prefix and the first 6 random characters).
func DisplayPrefix(prefix, plain string) string {
	n := len(prefix) + 6
	if len(plain) < n {
		return plain
	}
	return plain[:n]
}
