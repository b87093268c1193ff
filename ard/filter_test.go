package ard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/ard"
)

func TestParseFilter_Accepts(t *testing.T) {
	for _, c := range []struct {
		expr     string
		tags     []string
		skills   []string
		statuses []string
		none     bool
		after    string
		before   string
	}{
		{expr: ""},
		{expr: "   "},
		{expr: "tags = 'weather'", tags: []string{"weather"}},
		{expr: `tags="weather" AND tags = 'forecast'`, tags: []string{"weather", "forecast"}},
		{expr: "capabilities = 'forecast' AND skills = 'observe'", skills: []string{"forecast", "observe"}},
		{expr: "type = 'application/a2a-agent-card+json'"},
		{expr: "type = 'application/mcp-server-card+json'", none: true},
		{expr: "status = 'inactive'", statuses: []string{"inactive"}},
		{expr: "status = 'active' AND status = 'active'", statuses: []string{"active"}},
		{expr: "status = 'active' AND status = 'revoked'", statuses: []string{"active"}, none: true},
		{expr: "tags = 'it''s'", tags: []string{"it's"}},
		{expr: `tags = "say ""hi"""`, tags: []string{`say "hi"`}},
		{expr: "updatedAt > '2026-01-01'", after: "2026-01-01T00:00:00Z"},
		{expr: "updatedAt > '2026-01-01T10:00:00+02:00' AND updatedAt < '2026-02-01'", after: "2026-01-01T08:00:00Z", before: "2026-02-01T00:00:00Z"},
		{expr: "updatedAt > '2026-03-01' AND updatedAt < '2026-02-01'", after: "2026-03-01T00:00:00Z", before: "2026-02-01T00:00:00Z", none: true},
		{expr: "\ttags\n=\n'a'\nAND\ntags='b'", tags: []string{"a", "b"}},
	} {
		t.Run(c.expr, func(t *testing.T) {
			s, err := ard.ParseFilter(c.expr)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if strings.Join(s.Query.Tags, ",") != strings.Join(c.tags, ",") || strings.Join(s.Query.Skills, ",") != strings.Join(c.skills, ",") ||
				strings.Join(s.Query.Statuses, ",") != strings.Join(c.statuses, ",") || s.None != c.none {
				t.Fatalf("got %+v none=%v", s.Query, s.None)
			}
			if got := stamp(s.UpdatedAfter); got != c.after {
				t.Fatalf("after %q, want %q", got, c.after)
			}
			if got := stamp(s.UpdatedBefore); got != c.before {
				t.Fatalf("before %q, want %q", got, c.before)
			}
		})
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func TestParseFilter_RejectsWithPreciseMessage(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"owner = 'x'", `unknown filter field "owner"`},
		{"trustManifest.attestations.type = 'SOC2'", `unknown filter field "trustManifest.attestations.type"`},
		{"type = MCP", "values are quoted: write 'MCP' at column 8"},
		{"tags = 'a' and tags = 'b'", "write AND in upper case at column 12"},
		{"tags = 'a' OR tags = 'b'", "OR is not supported"},
		{"tags = 'a' tags = 'b'", `expected AND, found "tags"`},
		{"tags = 'a' AND", "expected a term after AND"},
		{"tags = 'a", "unterminated string at column 8"},
		{"tags 'a'", `expected an operator (=, > or <) after "tags"`},
		{"tags", `expected an operator after "tags"`},
		{"tags =", "expected a quoted value"},
		{"tags != 'a'", "!= is not supported"},
		{"tags >= 'a'", `operator ">=" is not supported`},
		{"tags > 'a'", `"tags" compares with =`},
		{"updatedAt = '2026-01-01'", "updatedAt compares with > or <"},
		{"updatedAt > 'yesterday'", "updatedAt needs an RFC 3339 timestamp"},
		{"status = 'gone'", `unknown status "gone"`},
		{"tags = ''", "values must be 1 to 256 bytes"},
		{"(tags = 'a')", `expected a field name, found "("`},
		{strings.Repeat("tags = 'a' AND ", 40) + "tags = 'a'", "at most 32 terms"},
		{strings.Repeat("x", ard.MaxFilterBytes+1), "filter is longer than"},
	} {
		t.Run(c.expr, func(t *testing.T) {
			_, err := ard.ParseFilter(c.expr)
			assertInvalid(t, err, c.want)
		})
	}
}

func assertInvalid(t *testing.T, err error, want string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("error %v, want INVALID_ARGUMENT %q", err, want)
	}
	if e.Kind != apperr.BadRequest || e.Code != ard.CodeInvalidArgument || !strings.Contains(e.Message, want) {
		t.Fatalf("error %v (kind %d), want INVALID_ARGUMENT containing %q", e, e.Kind, want)
	}
}

func TestParseOrderBy(t *testing.T) {
	for _, s := range []string{"", "  ", "metadata.registryId", "metadata.registryId asc", "metadata.registryId ASC"} {
		if got, err := ard.ParseOrderBy(s); err != nil || got != ard.OrderRegistration {
			t.Fatalf("ParseOrderBy(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"displayName", "updatedAt DESC", "identifier", "metadata.registryId DESC", "metadata.registryId ASC x"} {
		_, err := ard.ParseOrderBy(s)
		assertInvalid(t, err, "is not supported")
	}
}

// FuzzParseFilter checks that no input makes the parser panic, that every error is an
// INVALID_ARGUMENT, and that accepted filters respect the limits.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "tags = 'a'", "tags = 'a' AND skills = \"b\"", "updatedAt > '2026-01-01'",
		"status = 'active' AND type = 'application/a2a-agent-card+json'", "tags = 'it''s'", "x", "'", "tags = '", "é = 'é'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ard.ParseFilter(expr)
		if err != nil {
			if e, ok := apperr.As(err); !ok || e.Code != ard.CodeInvalidArgument || e.Kind != apperr.BadRequest {
				t.Fatalf("ParseFilter(%q): %v is not INVALID_ARGUMENT", expr, err)
			}
			return
		}
		if len(s.Query.Tags) > ard.MaxFilterValues || len(s.Query.Skills) > ard.MaxFilterValues {
			t.Fatalf("ParseFilter(%q) exceeds the limits: %+v", expr, s.Query)
		}
		for _, v := range append(s.Query.Tags, s.Query.Skills...) {
			if v == "" || len(v) > ard.MaxFilterValueBytes {
				t.Fatalf("ParseFilter(%q) accepted value %q", expr, v)
			}
		}
	})
}
