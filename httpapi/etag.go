package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
)

// ETag returns a strong entity tag for the JSON representation of v.
func ETag(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", apperr.Internalf("etag: %w", err)
	}
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`, nil
}

// Matches reports whether an If-None-Match header value matches etag (weak comparison, as
// RFC 9110 prescribes for If-None-Match; "*" matches any).
func Matches(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" || etag == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// CheckETag computes the ETag of body. When ifNoneMatch matches it, it returns the error that
// makes the response a 304 Not Modified (carrying the ETag); otherwise the ETag to send.
func CheckETag(ifNoneMatch string, body any) (string, error) {
	etag, err := ETag(body)
	if err != nil {
		return "", err
	}
	if Matches(ifNoneMatch, etag) {
		return "", NotModified(etag)
	}
	return etag, nil
}

// NotModified is the error that makes a response a 304 Not Modified carrying etag.
func NotModified(etag string) error {
	return &Envelope{status: http.StatusNotModified, headers: http.Header{"Etag": {etag}}}
}
