package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
)

func TestCursor_RoundTrips(t *testing.T) {
	type position struct {
		CreatedAt string `json:"c"`
		ID        string `json:"i"`
	}
	t.Run("string", func(t *testing.T) {
		c := httpapi.EncodeCursor("dev_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C")
		var got string
		if err := httpapi.DecodeCursor(c, &got); err != nil || got != "dev_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("int", func(t *testing.T) {
		var got int64
		if err := httpapi.DecodeCursor(httpapi.EncodeCursor(int64(1)<<53), &got); err != nil || got != 1<<53 {
			t.Fatalf("got %d, %v", got, err)
		}
	})
	t.Run("struct", func(t *testing.T) {
		want := position{CreatedAt: "2025-01-02T03:04:05Z", ID: "key_x"}
		var got position
		if err := httpapi.DecodeCursor(httpapi.EncodeCursor(want), &got); err != nil || got != want {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("URL-safe", func(t *testing.T) {
		c := httpapi.EncodeCursor("???>>>~~~ÿÿÿ")
		if url.QueryEscape(c) != c {
			t.Errorf("cursor %q needs escaping in a query", c)
		}
	})
}

func TestDecodeCursor_EmptyLeavesKeyAlone(t *testing.T) {
	key := "unchanged"
	if err := httpapi.DecodeCursor("", &key); err != nil || key != "unchanged" {
		t.Fatalf("got %q, %v", key, err)
	}
}

func TestDecodeCursor_RejectsForeignCursors(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := map[string]string{
		"not base64":         "!!!not-base64!!!",
		"padded base64":      base64.URLEncoding.EncodeToString([]byte(`{"v":1,"k":"ab"}`)), // 16 bytes: "==" padding
		"std base64 symbols": "eyJ2IjoxLCJrIjoiPz8_In0+/",
		"not JSON":           b64("hello"),
		"wrong version":      b64(`{"v":2,"k":"a"}`),
		"no version":         b64(`{"k":"a"}`),
		"no key":             b64(`{"v":1}`),
		"key of wrong type":  b64(`{"v":1,"k":42}`),
		"JSON array":         b64(`[1,"a"]`),
		"too long":           httpapi.EncodeCursor(strings.Repeat("a", 4000)),
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			var key string
			err := httpapi.DecodeCursor(c, &key)
			ae, ok := apperr.As(err)
			if !ok || ae.Code != "INVALID_CURSOR" || ae.Kind != apperr.Invalid || ae.Details["field"] != "cursor" {
				t.Fatalf("DecodeCursor(%q) = %v, want INVALID_CURSOR naming the cursor field", c, err)
			}
		})
	}
}

func TestPaginate(t *testing.T) {
	key := func(s string) any { return s }
	tests := []struct {
		name     string
		items    []string
		limit    int
		wantPage []string
		wantNext string // the key the next cursor decodes to; "" for no cursor
	}{
		{"empty", nil, 3, nil, ""},
		{"fewer than limit", []string{"a", "b"}, 3, []string{"a", "b"}, ""},
		{"exactly limit", []string{"a", "b", "c"}, 3, []string{"a", "b", "c"}, ""},
		{"limit plus one", []string{"a", "b", "c", "d"}, 3, []string{"a", "b", "c"}, "c"},
		{"limit one", []string{"a", "b"}, 1, []string{"a"}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, next := httpapi.Paginate(tt.items, tt.limit, key)
			if !reflect.DeepEqual(page, tt.wantPage) {
				t.Errorf("page = %v, want %v", page, tt.wantPage)
			}
			if tt.wantNext == "" {
				if next != "" {
					t.Errorf("next = %q, want none", next)
				}
				return
			}
			var got string
			if err := httpapi.DecodeCursor(next, &got); err != nil || got != tt.wantNext {
				t.Errorf("next decodes to %q (%v), want %q", got, err, tt.wantNext)
			}
		})
	}
}

func TestStack_PaginationRoundTrip(t *testing.T) {
	s := newStack(t, stackOptions{})
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatalf("pagination does not end: %v", seen)
		}
		target := "/items?limit=3"
		if cursor != "" {
			target += "&cursor=" + url.QueryEscape(cursor)
		}
		r := s.do(t, http.MethodGet, target, nil)
		if r.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", target, r.Code, r.Body.String())
		}
		var page itemPage
		if err := json.Unmarshal(r.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 3 {
			t.Fatalf("page of %d items with limit 3", len(page.Items))
		}
		for _, it := range page.Items {
			seen = append(seen, it.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	var want []string
	for _, it := range allItems {
		want = append(want, it.ID)
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("paged through %v, want %v", seen, want)
	}
}

func TestStack_PaginationDefaultLimit(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/items", nil)
	var page itemPage
	if err := json.Unmarshal(r.Body.Bytes(), &page); err != nil || r.Code != http.StatusOK {
		t.Fatalf("%d %s", r.Code, r.Body.String())
	}
	if len(page.Items) != len(allItems) || page.NextCursor != "" {
		t.Errorf("default page = %+v", page)
	}
}

func TestStack_PaginationRejectsBadParams(t *testing.T) {
	s := newStack(t, stackOptions{})
	tests := []struct {
		name, query, code, field string
	}{
		{"garbage cursor", "cursor=garbage!", "INVALID_CURSOR", "cursor"},
		{"cursor of another layout", "cursor=" + httpapi.EncodeCursor(42), "INVALID_CURSOR", "cursor"},
		{"cursor over 4096 chars", "cursor=" + strings.Repeat("a", 4097), "INVALID_FIELD", "cursor"},
		{"limit zero", "limit=0", "INVALID_FIELD", "limit"},
		{"limit negative", "limit=-1", "INVALID_FIELD", "limit"},
		{"limit over 500", "limit=501", "INVALID_FIELD", "limit"},
		{"limit not a number", "limit=ten", "INVALID_FIELD", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, http.MethodGet, "/items?"+tt.query, nil)
			r.wantError(t, http.StatusUnprocessableEntity, tt.code)
			if r.env.Error.Details["field"] != tt.field {
				t.Errorf("details.field = %v, want %q", r.env.Error.Details["field"], tt.field)
			}
		})
	}
	for _, ok := range []string{"limit=1", "limit=500"} {
		if r := s.do(t, http.MethodGet, "/items?"+ok, nil); r.Code != http.StatusOK {
			t.Errorf("%s: %d %s", ok, r.Code, r.Body.String())
		}
	}
}

// FuzzDecodeCursor checks that DecodeCursor never panics, and that whatever it accepts re-encodes
// to a cursor that decodes to the same key.
func FuzzDecodeCursor(f *testing.F) {
	for _, seed := range []string{
		"", "garbage", "e30", httpapi.EncodeCursor("dev_01"), httpapi.EncodeCursor(42), httpapi.EncodeCursor(nil),
		httpapi.EncodeCursor([]any{"2025-01-01T00:00:00Z", "key_1"}), httpapi.EncodeCursor(map[string]any{"a": 1.5, "b": []int{1}}),
		base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"k":"\u00e9\ud800"}`)),
		base64.RawURLEncoding.EncodeToString([]byte(`{"V":1,"K":{"x":1},"k":"dup"}`)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		var key any
		if err := httpapi.DecodeCursor(cursor, &key); err != nil {
			if ae, ok := apperr.As(err); !ok || ae.Code != "INVALID_CURSOR" {
				t.Fatalf("DecodeCursor(%q) = %v, want INVALID_CURSOR", cursor, err)
			}
			return
		}
		if cursor == "" {
			return
		}
		again := httpapi.EncodeCursor(key)
		var key2 any
		if err := httpapi.DecodeCursor(again, &key2); err != nil {
			t.Fatalf("DecodeCursor(%q) accepted key %#v, but its re-encoding %q is refused: %v", cursor, key, again, err)
		}
		if !reflect.DeepEqual(key, key2) {
			t.Fatalf("key %#v re-decodes as %#v", key, key2)
		}
	})
}
