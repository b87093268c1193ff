package federation_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/federation"
)

func TestCursor_RoundTripsAndRefusesWhatItDidNotIssue(t *testing.T) {
	for _, seq := range []int64{0, 1, 42, 1 << 40, 1<<63 - 1} {
		if got, err := federation.ParseCursor(federation.EncodeCursor(seq)); err != nil || got != seq {
			t.Fatalf("ParseCursor(EncodeCursor(%d)) = %d, %v", seq, got, err)
		}
	}
	if got, err := federation.ParseCursor(""); err != nil || got != 0 {
		t.Fatalf("empty cursor = %d, %v", got, err)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, bad := range []string{"!!", "42", enc("f1:"), enc("f1:-1"), enc("f1:01"), enc("f1:1x"), enc("f2:1"),
		enc("f1:99999999999999999999"), enc("f1:9223372036854775808"), strings.Repeat("A", 65), enc("f1:1") + "="} {
		if _, err := federation.ParseCursor(bad); apperr.CodeOf(err) != federation.CodeInvalidCursor {
			t.Fatalf("ParseCursor(%q) = %v, want INVALID_CURSOR", bad, err)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"", federation.EncodeCursor(0), federation.EncodeCursor(123456789), "ZjE6MQ", "ZjE6MDE", "%%%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, err := federation.ParseCursor(s)
		if err != nil {
			if apperr.CodeOf(err) != federation.CodeInvalidCursor {
				t.Fatalf("ParseCursor(%q): %v", s, err)
			}
			return
		}
		if seq < 0 {
			t.Fatalf("ParseCursor(%q) = %d", s, seq)
		}
		// A cursor that parses is the one encoding of its position (or the empty start).
		if s != "" && federation.EncodeCursor(seq) != s {
			t.Fatalf("ParseCursor(%q) = %d, which encodes as %q", s, seq, federation.EncodeCursor(seq))
		}
	})
}

// feed is an in-memory Feed: own changes at their seqs, head the last seq (copies included).
type feed struct {
	own  []federation.Change
	head int64
}

func (f *feed) OwnChanges(_ context.Context, after int64, limit int) ([]federation.Change, int64, error) {
	var out []federation.Change
	for _, c := range f.own {
		if c.Seq > after && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, f.head, nil
}

func TestPage_PagesTheFeedAndSkipsToTheHead(t *testing.T) {
	ctx := context.Background()
	f := &feed{head: 10}
	for _, s := range []int64{2, 3, 5} {
		f.own = append(f.own, federation.Change{Seq: s, ID: "agt_" + string(rune('a'+s)), Version: 1, Card: json.RawMessage(`{}`)})
	}
	p, err := federation.Page(ctx, f, "a.test", "", 2)
	if err != nil || len(p.Changes) != 2 || !p.More || p.Registry != "a.test" || p.NextCursor != federation.EncodeCursor(3) {
		t.Fatalf("first page %+v, %v", p, err)
	}
	p, err = federation.Page(ctx, f, "a.test", p.NextCursor, 2)
	// The last page moves the cursor to the head: the copies written up to it are not read again.
	if err != nil || len(p.Changes) != 1 || p.More || p.NextCursor != federation.EncodeCursor(10) {
		t.Fatalf("second page %+v, %v", p, err)
	}
	p, err = federation.Page(ctx, f, "a.test", p.NextCursor, 0)
	if err != nil || len(p.Changes) != 0 || p.Changes == nil || p.More || p.NextCursor != federation.EncodeCursor(10) {
		t.Fatalf("caught up %+v, %v", p, err)
	}
	if _, err := federation.Page(ctx, f, "a.test", federation.EncodeCursor(11), 0); apperr.CodeOf(err) != federation.CodeCursorAhead {
		t.Fatalf("cursor from the future: %v", err)
	}
	if _, err := federation.Page(ctx, f, "a.test", "garbage!", 0); apperr.CodeOf(err) != federation.CodeInvalidCursor {
		t.Fatalf("malformed cursor: %v", err)
	}
	if federation.ClampChangesLimit(0) != federation.DefaultChangesLimit || federation.ClampChangesLimit(1e6) != federation.MaxChangesLimit {
		t.Fatal("limits not clamped")
	}
	// A page stops before its cards pass MaxPageCardBytes (a page holds at least one change).
	big := json.RawMessage(`"` + strings.Repeat("x", federation.MaxPageCardBytes/2) + `"`)
	f = &feed{head: 3, own: []federation.Change{{Seq: 1, ID: "agt_1", Version: 1, Card: big}, {Seq: 2, ID: "agt_2", Version: 1, Card: big}, {Seq: 3, ID: "agt_3", Version: 1, Card: big}}}
	p, err = federation.Page(ctx, f, "a.test", "", 10)
	if err != nil || len(p.Changes) != 1 || !p.More || p.NextCursor != federation.EncodeCursor(1) {
		t.Fatalf("big page: %d changes, more %v, %v", len(p.Changes), p.More, err)
	}
}
