package credential_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/sovereign-stack/sovereign/credential"
)

var fast = credential.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}

func TestPassword_VerifiesOnlyTheRightPassword(t *testing.T) {
	h, err := credential.HashPassword("correct horse battery", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash format %q", h)
	}
	if !credential.VerifyPassword("correct horse battery", h) {
		t.Fatal("right password rejected")
	}
	for _, wrong := range []string{"", "correct horse batter", "correct horse battery "} {
		if credential.VerifyPassword(wrong, h) {
			t.Fatalf("wrong password %q accepted", wrong)
		}
	}
	h2, _ := credential.HashPassword("correct horse battery", fast)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
}

func TestPassword_MalformedHashNeverMatches(t *testing.T) {
	for _, h := range []string{"", credential.UnusablePasswordHash, "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA", "$bcrypt$x", "$argon2id$v=18$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if credential.VerifyPassword("anything at all", h) {
			t.Fatalf("malformed hash %q matched", h)
		}
	}
}

func TestSecret_HasPrefixEntropyAndStableHash(t *testing.T) {
	p1, h1 := credential.NewSecret(credential.APIKeyPrefix)
	p2, _ := credential.NewSecret(credential.APIKeyPrefix)
	if p1 == p2 || !credential.LooksLike(credential.APIKeyPrefix, p1) {
		t.Fatalf("secrets %q %q", p1, p2)
	}
	if credential.HashSecret(p1) != h1 || strings.Contains(h1, p1) {
		t.Fatal("hash not stable or leaks the secret")
	}
	if credential.LooksLike(credential.APIKeyPrefix, "avreg_short") || credential.LooksLike(credential.RefreshTokenPrefix, p1) {
		t.Fatal("LooksLike accepted a malformed secret")
	}
	if got := credential.DisplayPrefix(credential.APIKeyPrefix, p1); got != p1[:12] {
		t.Fatalf("DisplayPrefix = %q", got)
	}
}

func newSigner(t *testing.T, now time.Time) *credential.TokenSigner {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return credential.NewTokenSigner("https://reg.test", "k1", priv).WithClock(func() time.Time { return now })
}

func TestToken_RoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	s := newSigner(t, now)
	tok, c, err := s.Issue("dev_1", "ses_1", "jti")
	if err != nil {
		t.Fatal(err)
	}
	if !c.ExpiresAt.Equal(now.Add(15 * time.Minute)) {
		t.Fatalf("expires %v", c.ExpiresAt)
	}
	got, err := s.Parse(tok)
	if err != nil || got.Subject != "dev_1" || got.SessionID != "ses_1" {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
}

func TestToken_RejectsExpiredForgedAndAlgNone(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	s := newSigner(t, now)
	tok, _, _ := s.Issue("dev_1", "ses_1", "jti")

	if _, err := s.WithClock(func() time.Time { return now.Add(16 * time.Minute) }).Parse(tok); !errors.Is(err, credential.ErrTokenExpired) {
		t.Fatalf("expired: %v", err)
	}
	other := newSigner(t, now)
	if _, err := other.Parse(tok); !errors.Is(err, credential.ErrTokenInvalid) {
		t.Fatalf("other key: %v", err)
	}
	// alg none with the same claims.
	parts := strings.Split(tok, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	if _, err := s.Parse(none); !errors.Is(err, credential.ErrTokenInvalid) {
		t.Fatalf("alg none: %v", err)
	}
	// HS256 signed with the public key bytes (algorithm confusion).
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "dev_1", "sid": "s", "iss": "https://reg.test", "aud": "sovereign-api", "exp": now.Add(time.Hour).Unix()})
	hsTok, _ := hs.SignedString([]byte("secret"))
	if _, err := s.Parse(hsTok); !errors.Is(err, credential.ErrTokenInvalid) {
		t.Fatalf("HS256: %v", err)
	}
	for _, garbage := range []string{"", "a.b.c", "not a token", parts[0] + "." + parts[1]} {
		if _, err := s.Parse(garbage); !errors.Is(err, credential.ErrTokenInvalid) {
			t.Fatalf("garbage %q: %v", garbage, err)
		}
	}
}
