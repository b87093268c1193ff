package registry_test

import (
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/registry"
)

func TestNormalizeEmail(t *testing.T) {
	ok := map[string]string{"Ada@Example.COM": "ada@example.com", " b@c.io ": "b@c.io", "x.y+z@sub.example.org": "x.y+z@sub.example.org"}
	for in, want := range ok {
		if got, err := registry.NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "plain", "a@b", "A <a@example.com>", "a@example.com, b@example.com", strings.Repeat("a", 250) + "@example.com", "a@@example.com"} {
		if _, err := registry.NormalizeEmail(in); apperr.CodeOf(err) != "INVALID_EMAIL" {
			t.Errorf("NormalizeEmail(%q) error %v, want INVALID_EMAIL", in, err)
		}
	}
}

func TestValidatePassword_CountsCharactersNotBytes(t *testing.T) {
	cases := map[string]string{
		"elevenchars":             "PASSWORD_TOO_SHORT",
		"twelve chars":            "",
		"ééééééééééé":             "PASSWORD_TOO_SHORT", // 11 characters, 22 bytes
		"éééééééééééé":            "",
		strings.Repeat("p", 1025): "PASSWORD_TOO_LONG",
		strings.Repeat("p", 1024): "",
	}
	for pw, code := range cases {
		if got := apperr.CodeOf(registry.ValidatePassword(pw)); got != code {
			t.Errorf("ValidatePassword(len %d) = %q, want %q", len(pw), got, code)
		}
	}
}

func TestValidateName(t *testing.T) {
	if n, err := registry.ValidateName("  Grace  "); err != nil || n != "Grace" {
		t.Fatalf("ValidateName = %q, %v", n, err)
	}
	for _, bad := range []string{"", "   ", "a\nb", "tab\there", strings.Repeat("n", 101)} {
		if apperr.CodeOf(func() error { _, err := registry.ValidateName(bad); return err }()) != "INVALID_NAME" {
			t.Errorf("ValidateName(%q) accepted", bad)
		}
	}
}
