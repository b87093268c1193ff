package policy_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/policy"
)

// tarball is an OPA bundle: a gzipped tar of files (name → content).
func tarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bundleServer serves one bundle at a time with a strong ETag and answers If-None-Match.
type bundleServer struct {
	mu          sync.Mutex
	body        []byte
	etag        string
	status      int
	downloads   int
	notModified int
	sentETags   []string
}

func (s *bundleServer) set(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := sha256.Sum256(body)
	s.body, s.etag, s.status = body, `"`+hex.EncodeToString(sum[:8])+`"`, 0
}

func (s *bundleServer) fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

func (s *bundleServer) counts() (downloads, notModified int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads, s.notModified
}

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != 0 {
		w.WriteHeader(s.status)
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		s.sentETags = append(s.sentETags, inm)
		if inm == s.etag {
			s.notModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	s.downloads++
	w.Header().Set("ETag", s.etag)
	w.Header().Set("Content-Type", "application/gzip")
	_, _ = w.Write(s.body)
}

func goodBundle(t *testing.T, action, what, revision string) []byte {
	files := map[string]string{
		"sovereign/authz.rego": fmt.Sprintf(dirPolicy, action, what),
		// tests in a bundle are not loaded as policy: this one would allow everything
		"sovereign/authz_test.rego": "package sovereign.authz\n\nallow := true\n",
	}
	if revision != "" {
		files[".manifest"] = fmt.Sprintf(`{"revision": %q, "roots": [""]}`, revision)
	}
	return tarball(t, files)
}

func TestBundle_PollsWithETagKeepsLastGoodAndSwitches(t *testing.T) {
	bs := &bundleServer{}
	bs.set(goodBundle(t, "developer.read", "reading", "rev-a"))
	srv := httptest.NewServer(bs)
	defer srv.Close()
	var logs syncBuffer
	e, err := policy.NewWithOptions(policy.WithBundleURL(srv.URL+"/bundle.tar.gz", 20*time.Millisecond),
		policy.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	read := policy.Input{Subject: devSession, Action: policy.ActionDeveloperRead, Resource: ownAccount}
	update := policy.Input{Subject: devSession, Action: policy.ActionDeveloperUpdate, Resource: ownAccount}
	if d := decide(t, e, read); !d.Allow || e.Revision() != "rev-a" {
		t.Fatalf("bundle not in force: %+v, revision %s", d, e.Revision())
	}
	if d := decide(t, e, update); d.Allow || d.Reason != "only reading here" {
		t.Fatalf("bundle not in force (or its test file loaded): %+v", d)
	}

	// unchanged: every poll is a 304, nothing is downloaded again
	waitFor(t, 5*time.Second, "polls answered 304", func() bool { _, nm := bs.counts(); return nm >= 3 })
	if dl, _ := bs.counts(); dl != 1 {
		t.Errorf("%d downloads of an unchanged bundle, want 1", dl)
	}

	// a bundle that does not compile keeps the last good policy, is reported once and is not
	// downloaded again while it stays the same
	bs.set(tarball(t, map[string]string{"sovereign/authz.rego": "package sovereign.authz\n\nallow if {\n"}))
	waitFor(t, 5*time.Second, "LastError reports the bad bundle", func() bool { return e.LastError() != nil })
	_, nm := bs.counts()
	waitFor(t, 5*time.Second, "the bad bundle's ETag is sent back", func() bool { _, n := bs.counts(); return n >= nm+3 })
	if dl, _ := bs.counts(); dl != 2 {
		t.Errorf("%d downloads, want 2 (the bad bundle once)", dl)
	}
	if d := decide(t, e, read); !d.Allow || e.Revision() != "rev-a" {
		t.Fatalf("the last good policy was dropped: %+v, revision %s", d, e.Revision())
	}
	if n := strings.Count(logs.String(), "reload failed"); n != 1 {
		t.Errorf("the bad bundle was logged %d times, want once:\n%s", n, logs.String())
	}

	// a server error is reported too, and the policy stays
	bs.fail(http.StatusBadGateway)
	waitFor(t, 5*time.Second, "LastError reports the 502", func() bool {
		err := e.LastError()
		return err != nil && strings.Contains(err.Error(), "502")
	})

	// a good bundle switches the decisions and clears the error
	bs.set(goodBundle(t, "developer.update", "updating", ""))
	waitFor(t, 5*time.Second, "the new bundle decides", func() bool { return decide(t, e, update).Allow })
	if d := decide(t, e, read); d.Allow || d.Reason != "only updating here" {
		t.Fatalf("after switch: %+v", d)
	}
	if e.LastError() != nil || e.Revision() == "rev-a" || e.Revision() == "" {
		t.Fatalf("revision %q, last error %v", e.Revision(), e.LastError())
	}
	if !strings.Contains(logs.String(), "policy: loaded") {
		t.Errorf("switch not logged:\n%s", logs.String())
	}

	// Reload downloads even when nothing changed
	dl, _ := bs.counts()
	if err := e.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := bs.counts(); n != dl+1 {
		t.Errorf("Reload did not download: %d → %d", dl, n)
	}
}

func TestBundle_FirstLoadMustSucceed(t *testing.T) {
	bs := &bundleServer{}
	srv := httptest.NewServer(bs)
	defer srv.Close()
	quietLog := policy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

	bs.fail(http.StatusNotFound)
	if _, err := policy.NewWithOptions(policy.WithBundleURL(srv.URL, time.Hour), quietLog); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	bs.set([]byte("not a tarball"))
	if _, err := policy.NewWithOptions(policy.WithBundleURL(srv.URL, time.Hour), quietLog); err == nil {
		t.Error("a body that is not a bundle was accepted")
	}
	bs.set(tarball(t, map[string]string{"x.rego": "package other\n\nx := 1\n"}))
	if _, err := policy.NewWithOptions(policy.WithBundleURL(srv.URL, time.Hour), quietLog); err == nil || !strings.Contains(err.Error(), "no rule data.sovereign.authz.allow") {
		t.Errorf("a bundle without the authz policy: %v", err)
	}
	if _, err := policy.NewWithOptions(policy.WithBundleURL("http://127.0.0.1:1/none", time.Hour), quietLog); err == nil {
		t.Error("an unreachable bundle server was accepted")
	}
	if _, err := policy.NewWithOptions(policy.WithBundleURL(srv.URL, time.Hour), policy.WithDir(t.TempDir())); err == nil {
		t.Error("a directory and a bundle together were accepted")
	}
}
