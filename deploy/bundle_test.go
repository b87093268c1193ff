package deploy

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/policy"
)

// TestBundleScript_BuildsABundleTheServersLoad runs deploy/opa/build-bundle.sh on policy/rego
// and loads the result the way a server started with --policy-bundle does.
func TestBundleScript_BuildsABundleTheServersLoad(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	out := filepath.Join(t.TempDir(), "bundles", "sovereign.tar.gz")
	cmd := exec.Command(sh, filepath.Join("opa", "build-bundle.sh"), filepath.Join("..", "policy", "rego"), out, "test-revision")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build-bundle.sh: %v\n%s", err, b)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, out)
	}))
	defer srv.Close()
	e, err := policy.NewWithOptions(policy.WithBundleURL(srv.URL+"/bundles/sovereign.tar.gz", time.Hour))
	if err != nil {
		t.Fatalf("the bundle does not load: %v", err)
	}
	defer e.Close()
	if got := e.Revision(); got != "test-revision" {
		t.Errorf("revision %q, want the manifest's test-revision", got)
	}
}
