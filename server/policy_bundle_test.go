package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// closedBundle is an OPA bundle whose policy denies everything.
func closedBundle(t *testing.T) []byte {
	t.Helper()
	src := "package sovereign.authz\n\ndefault allow := false\n\nreason := \"closed by the bundle\"\n"
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "/sovereign/authz.rego", Mode: 0o644, Size: int64(len(src))}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write([]byte(src))
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

// TestPolicyBundle_ReplacesTheEmbeddedPolicy runs the stack on a policy bundle URL: its policy
// decides, and a denial carries the decision's id in X-Decision-Id and the decision log.
func TestPolicyBundle_ReplacesTheEmbeddedPolicy(t *testing.T) {
	body := closedBundle(t)
	bundles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"closed"`)
		if r.Header.Get("If-None-Match") == `"closed"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(body)
	}))
	defer bundles.Close()
	logFile := t.TempDir() + "/decisions.jsonl"
	s := newStack(t, storetest.SQLite(t), func(c *config.Config) { c.PolicyBundle, c.DecisionLog = bundles.URL+"/b.tar.gz", logFile })
	r := s.do("GET", "/api/v1/developers/me", nil, bearer(s.adminKey)).want(t, 403, "FORBIDDEN")
	id := r.Header.Get("X-Decision-Id")
	if !strings.Contains(string(r.Raw), "closed by the bundle") || id == "" || r.details()["decision_id"] != id {
		t.Fatalf("denial = %s, X-Decision-Id %q", r.Raw, id)
	}
	if b, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(b), id) {
		t.Fatalf("decision %s not in the decision log (%v):\n%s", id, err, b)
	}
	// a request that is not a policy denial has no X-Decision-Id
	if r := s.do("GET", "/api/v1/developers/me", nil).want(t, 401, "AUTHENTICATION_REQUIRED"); r.Header.Get("X-Decision-Id") != "" {
		t.Errorf("401 with X-Decision-Id %q", r.Header.Get("X-Decision-Id"))
	}
}

func TestPolicyBundle_UnreachableStopsStartup(t *testing.T) {
	cfg := config.Default()
	cfg.Onboarding.GenesisSupply = "0" // the tests fund the treasury themselves
	cfg.Data, cfg.PolicyBundle = t.TempDir(), "http://127.0.0.1:1/b.tar.gz"
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := newServerErr(cfg); err == nil || !strings.Contains(err.Error(), "bundle") {
		t.Fatalf("unreachable bundle accepted: %v", err)
	}
}
