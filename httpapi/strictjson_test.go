package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
)

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		in, code, field string
	}{
		{`{"a":1,"b":[1,{"c":"x"}]}`, "", ""},
		{`{"a":1,"a":2}`, httpapi.CodeDuplicateJSONKey, "a"},
		{`{"a":1,"\u0061":2}`, httpapi.CodeDuplicateJSONKey, "a"},
		{`{"a":{"b":1},"c":[{"d":1},{"d":2,"e":1,"e":3}]}`, httpapi.CodeDuplicateJSONKey, "c[1].e"},
		{`[[1],[2,{"x":1,"x":1}]]`, httpapi.CodeDuplicateJSONKey, "[1][1].x"},
		{`{"a":{"x":1},"b":{"x":1}}`, "", ""}, // the same key in two objects
		{`{"name":"A\u0000B"}`, httpapi.CodeInvalidCharacter, "name"},
		{`{"a":[1,"x","\u0000"]}`, httpapi.CodeInvalidCharacter, "a[2]"},
		{`{"a":{"k\u0000":1}}`, httpapi.CodeInvalidCharacter, "a"},
		{`"\u0000"`, httpapi.CodeInvalidCharacter, ""},
		{`{"a":"\\u0000"}`, "", ""}, // an escaped backslash: the text is \u0000, not NUL
		{`{"a":1,"a":`, "", ""},     // not JSON: left to the decoder
		{`a=1&a=2`, "", ""},
		{``, "", ""},
		{`{"a\"":1,"a\"":2}`, httpapi.CodeDuplicateJSONKey, `a"`},            // escaped keys
		{`{"x":{"a":1},"a":{"x":1,"a":[{"a":1}]},"b":"}"}`, "", ""},          // nesting, a brace in a string
		{`{"a":[{"a":1},{"a":2}],"a":3}`, httpapi.CodeDuplicateJSONKey, "a"}, // after a nested object
		{manyKeys(40, "k39"), httpapi.CodeDuplicateJSONKey, "k39"},           // beyond the plain scan's 32 keys
		{manyKeys(40, ""), "", ""},
	}
	for _, tt := range tests {
		err := httpapi.CheckJSON([]byte(tt.in))
		if apperr.CodeOf(err) != tt.code {
			t.Errorf("%s: code %q, want %q (%v)", tt.in, apperr.CodeOf(err), tt.code, err)
			continue
		}
		if ae, ok := apperr.As(err); ok && ae.Details["field"] != tt.field {
			t.Errorf("%s: field %q, want %q", tt.in, ae.Details["field"], tt.field)
		}
	}
}

// manyKeys is an object of n keys k0…k(n−1), and a last member named last when not "".
func manyKeys(n int, last string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	if last != "" {
		fmt.Fprintf(&b, `%q:0,`, last)
	}
	return strings.TrimSuffix(b.String(), ",") + "}"
}

// FuzzCheckJSON checks CheckJSON against an oracle built on encoding/json: a valid document
// passes exactly when decoding it loses no object member (no duplicate) and no decoded text
// holds a NUL; invalid input always passes (the decoder reports it).
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"a":2}`, `{"a":"\u0000"}`, `[{"x":[{"y":1,"y":2}]}]`, `{"\u0061":1,"a":1}`, `"x"`, `{"a":`, `[1,2,3]`, `{"a\"":1,"a\"":2}`, `{"a":{"b":{}},"b":[{"a":1,"a":2}]}`, manyKeys(34, "k33")} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := httpapi.CheckJSON(data)
		if !json.Valid(data) {
			if err != nil {
				t.Fatalf("invalid JSON refused by the checker: %v", err)
			}
			return
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			return // valid but too deep for Unmarshal
		}
		dups := countMembers(t, data) != countDecoded(v)
		nul := hasNUL(v)
		switch code := apperr.CodeOf(err); {
		case err == nil && (dups || nul):
			t.Fatalf("passed %q: duplicate %v, NUL %v", data, dups, nul)
		case code == httpapi.CodeDuplicateJSONKey && !dups:
			t.Fatalf("duplicate reported in %q, which has none", data)
		case code == httpapi.CodeInvalidCharacter && !nul:
			t.Fatalf("NUL reported in %q, which has none", data)
		case err != nil && code != httpapi.CodeDuplicateJSONKey && code != httpapi.CodeInvalidCharacter:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// countMembers counts the object members written in a valid document.
func countMembers(t *testing.T, data []byte) int {
	type container struct{ object, keyNext bool }
	var stack []*container
	valueDone := func() {
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].keyNext = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("token: %v", err)
		}
		if len(stack) > 0 && stack[len(stack)-1].keyNext {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				valueDone()
			} else {
				n++
				stack[len(stack)-1].keyNext = false
			}
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &container{object: true, keyNext: true})
		case json.Delim('['):
			stack = append(stack, &container{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// countDecoded counts the object members of a decoded value.
func countDecoded(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		n += len(x)
		for _, e := range x {
			n += countDecoded(e)
		}
	case []any:
		for _, e := range x {
			n += countDecoded(e)
		}
	}
	return n
}

func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, 0)
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) || hasNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// A body refused by CheckJSON never reaches the handler, on a huma route of the full stack.
func TestStack_DuplicateKeyNeverReachesTheHandler(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodPost, "/items", jsonBody(`{"name":"a","name":"b"}`))
	r.wantError(t, http.StatusBadRequest, httpapi.CodeDuplicateJSONKey)
	r = s.do(t, http.MethodPost, "/items", jsonBody(`{"name":"a\u0000"}`))
	r.wantError(t, http.StatusUnprocessableEntity, httpapi.CodeInvalidCharacter)
	// Another media type is not JSON, and not checked as JSON.
	r = s.do(t, http.MethodPost, "/items", jsonBody(`{"name":"a","name":"b"}`), "Content-Type", "text/plain")
	if r.Code != http.StatusUnsupportedMediaType && r.Code != http.StatusBadRequest {
		t.Errorf("text/plain body: %d %s", r.Code, r.Body.String())
	}
}

// failingReader fails after its data, as a connection that dies mid-body does.
type failingReader struct{ data io.Reader }

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.data.Read(p)
	if err == io.EOF {
		return n, errors.New("read tcp 10.0.0.1:8420->10.0.0.2:5555: connection reset by peer")
	}
	return n, err
}

func TestStack_BodyReadFailureIsBadRequestNotAnError(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodPost, "/items", &failingReader{strings.NewReader(`{"name":`)})
	r.wantError(t, http.StatusBadRequest, httpapi.CodeBodyIncomplete)
	if line := s.log.accessLine(t, r.env.Error.RequestID); line["level"] != "INFO" {
		t.Errorf("access log level %v, want INFO: a client's broken body is not a server error", line["level"])
	}
}

// A request whose client went away (its context cancelled) is logged as 499, not a 5xx.
func TestFromError_ClientGoneIs499(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	env := httpapi.FromError(ctx, context.Canceled)
	if env.GetStatus() != httpapi.StatusClientClosedRequest || env.Body.Code != "CLIENT_CLOSED_REQUEST" {
		t.Errorf("got %d %s", env.GetStatus(), env.Body.Code)
	}
}
