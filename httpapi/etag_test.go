package httpapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/httpapi"
)

func TestETag_IsStrongStableAndContentSensitive(t *testing.T) {
	a1, err := httpapi.ETag(map[string]any{"id": "dev_1", "name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := httpapi.ETag(map[string]any{"name": "Ada", "id": "dev_1"})
	b, _ := httpapi.ETag(map[string]any{"id": "dev_1", "name": "Bob"})
	if a1 != a2 {
		t.Errorf("same content, different tags: %s %s", a1, a2)
	}
	if a1 == b {
		t.Errorf("different content, same tag %s", a1)
	}
	if !strings.HasPrefix(a1, `"`) || !strings.HasSuffix(a1, `"`) || len(a1) < 3 || strings.HasPrefix(a1, "W/") {
		t.Errorf("%q is not a strong quoted entity tag", a1)
	}
	if strings.ContainsAny(strings.Trim(a1, `"`), "\" ,") {
		t.Errorf("%q holds characters an entity tag may not", a1)
	}
}

func TestETag_UnencodableValueIsInternalError(t *testing.T) {
	if _, err := httpapi.ETag(make(chan int)); err == nil {
		t.Fatal("ETag(chan) succeeded")
	}
}

func TestMatches(t *testing.T) {
	const tag = `"abc"`
	tests := []struct {
		ifNoneMatch, etag string
		want              bool
	}{
		{`"abc"`, tag, true},
		{`W/"abc"`, tag, true},
		{`"abc"`, `W/"abc"`, true},
		{`*`, tag, true},
		{` "x", "abc" `, tag, true},
		{`"x",W/"abc"`, tag, true},
		{`"x", "y"`, tag, false},
		{`"abcd"`, tag, false},
		{`abc`, tag, false},
		{``, tag, false},
		{`*`, ``, false},
		{`"abc"`, ``, false},
	}
	for _, tt := range tests {
		if got := httpapi.Matches(tt.ifNoneMatch, tt.etag); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.ifNoneMatch, tt.etag, got, tt.want)
		}
	}
}

func TestCheckETag(t *testing.T) {
	body := map[string]string{"id": "dev_1"}
	tag, err := httpapi.CheckETag("", body)
	if err != nil || tag == "" {
		t.Fatalf("CheckETag without If-None-Match = %q, %v", tag, err)
	}
	if got, err := httpapi.CheckETag(`"other"`, body); err != nil || got != tag {
		t.Errorf("CheckETag(non-matching) = %q, %v; want %q", got, err, tag)
	}
	_, err = httpapi.CheckETag(tag, body)
	var env *httpapi.Envelope
	if !errors.As(err, &env) || env.GetStatus() != http.StatusNotModified || env.GetHeaders().Get("ETag") != tag {
		t.Errorf("CheckETag(matching) = %v, want a 304 carrying the ETag", err)
	}
}

func TestStack_ETagAndConditionalGet(t *testing.T) {
	s := newStack(t, stackOptions{})
	first := s.do(t, http.MethodGet, "/items?limit=2", nil)
	tag := first.Header().Get("ETag")
	if first.Code != http.StatusOK || tag == "" {
		t.Fatalf("first GET: %d, ETag %q", first.Code, tag)
	}
	if other := s.do(t, http.MethodGet, "/items?limit=3", nil); other.Header().Get("ETag") == tag {
		t.Errorf("different pages share the ETag %s", tag)
	}
	for _, inm := range []string{tag, "W/" + tag, "*", `"nope", ` + tag} {
		t.Run("If-None-Match "+inm, func(t *testing.T) {
			r := s.do(t, http.MethodGet, "/items?limit=2", nil, "If-None-Match", inm)
			if r.Code != http.StatusNotModified {
				t.Fatalf("status = %d, want 304; body %s", r.Code, r.Body.String())
			}
			if r.Body.Len() != 0 {
				t.Errorf("304 has a body: %q", r.Body.String())
			}
			if got := r.Header().Get("ETag"); got != tag {
				t.Errorf("304 ETag = %q, want %q", got, tag)
			}
			line := s.log.accessLine(t, r.Header().Get(httpapi.RequestIDHeader))
			if line["status"] != float64(304) || line["level"] != "INFO" {
				t.Errorf("access line = %v", line)
			}
			if _, ok := line["error_code"]; ok {
				t.Errorf("304 logged as an error: %v", line)
			}
		})
	}
	r := s.do(t, http.MethodGet, "/items?limit=2", nil, "If-None-Match", `"stale"`)
	if r.Code != http.StatusOK || r.Header().Get("ETag") != tag || r.Body.Len() == 0 {
		t.Errorf("stale If-None-Match: %d ETag %q", r.Code, r.Header().Get("ETag"))
	}
}
