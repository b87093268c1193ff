package portal

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever a login form's next says, the redirect stays on the portal.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/portal/keys", "//evil.example/", "/portal/\\evil", "https://evil.example/portal/", "/portal/../x", "", "/portal//evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, "/portal/") {
			t.Fatalf("safeNext(%q) = %q leaves the portal", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || strings.HasPrefix(got, "//") || strings.Contains(got, "\\") {
			t.Fatalf("safeNext(%q) = %q is not a local path", next, got)
		}
	})
}

func TestEditorField(t *testing.T) {
	for path, want := range map[string]string{
		"name": "name", "supportedInterfaces[0].url": "url", "skills[0].tags[1]": "tags", "version": "agent_version",
		"skills[1].name": "", "nameX": "", "provider.url": "",
	} {
		if got := editorField(path); got != want {
			t.Errorf("editorField(%q) = %q, want %q", path, got, want)
		}
	}
}
