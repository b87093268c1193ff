package policy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/sovereign-stack/sovereign/tracing"
)

// Limits of policy bundle polling.
const (
	// DefaultBundleInterval is how often a policy bundle URL is polled.
	DefaultBundleInterval = 30 * time.Second
	// MaxBundleBytes bounds a downloaded bundle (compressed, and each file uncompressed).
	MaxBundleBytes = 16 << 20
	// bundleTimeout bounds one download.
	bundleTimeout = 30 * time.Second
)

// bundleClient downloads policy bundles; one for every engine and poll, so connections to the
// bundle server are kept alive between polls.
var bundleClient = tracing.Client(bundleTimeout)

// WithBundleURL loads the policies from the OPA bundle (a gzipped tarball of *.rego files and
// an optional .manifest) served at url instead of the embedded ones, and polls it every
// interval (DefaultBundleInterval when 0) with If-None-Match, so an unchanged bundle costs a
// 304. A bundle that does not download, unpack or compile keeps the last good policy: the
// error is logged once and returned by LastError until a later bundle loads, and the failed
// bundle's ETag is remembered so it is not fetched again until it changes. *_test.rego files
// are not loaded and data files (data.json) are ignored: the policy is its Rego. The revision
// is the manifest's revision, else a digest of the modules.
func WithBundleURL(url string, interval time.Duration) Option {
	return func(e *Engine) {
		e.bundleURL = url
		if interval > 0 {
			e.interval = interval
		} else {
			e.interval = DefaultBundleInterval
		}
	}
}

// errNotModified says the bundle server answered 304: nothing to do.
var errNotModified = fmt.Errorf("policy: bundle not modified")

// reloadBundle downloads the bundle (with If-None-Match unless force) and, when it changed,
// compiles and installs it.
func (e *Engine) reloadBundle(ctx context.Context, force bool) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	etag := e.seen
	if force {
		etag = ""
	}
	files, revision, newETag, err := e.fetchBundle(ctx, etag)
	if err == errNotModified {
		return nil
	}
	if newETag != "" || err == nil {
		e.seen = newETag // a bad bundle is not fetched again until it changes
	}
	if err == nil && revision == e.Revision() {
		e.setLastError(nil) // the bundle in force, served again
		return nil
	}
	var p *compiled
	if err == nil {
		p, err = e.compileBase(ctx, files, revision)
	}
	return e.install(p, err, len(files), "bundle", e.bundleURL)
}

// fetchBundle downloads and unpacks the bundle: its policy files, revision and ETag.
func (e *Engine) fetchBundle(ctx context.Context, etag string) (map[string]string, string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, bundleTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.bundleURL, nil)
	if err != nil {
		return nil, "", "", fmt.Errorf("policy: bundle URL: %w", err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	req.Header.Set("Accept", "application/gzip, application/octet-stream")
	resp, err := bundleClient.Do(req)
	if err != nil {
		return nil, "", "", fmt.Errorf("policy: download bundle: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && etag != "":
		return nil, "", "", errNotModified
	case resp.StatusCode != http.StatusOK:
		return nil, "", "", fmt.Errorf("policy: download bundle: %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBundleBytes+1))
	if err != nil {
		return nil, "", "", fmt.Errorf("policy: download bundle: %w", err)
	}
	if len(body) > MaxBundleBytes {
		return nil, "", "", fmt.Errorf("policy: bundle is larger than %d bytes", MaxBundleBytes)
	}
	newETag := resp.Header.Get("ETag")
	b, err := bundle.NewReader(bytes.NewReader(body)).WithSizeLimitBytes(MaxBundleBytes).Read()
	if err != nil {
		return nil, "", newETag, fmt.Errorf("policy: read bundle: %w", err)
	}
	files := map[string]string{}
	for _, m := range b.Modules {
		name := strings.TrimPrefix(m.Path, "/")
		if isTestFile(path.Base(name)) {
			continue
		}
		files[name] = string(m.Raw)
	}
	revision := b.Manifest.Revision
	if revision == "" {
		revision = digestOf(files)
	}
	return files, revision, newETag, nil
}
