package ard

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/discovery"
)

// ParseFilter parses the filter expression of GET /agents into a selection. The grammar (EBNF,
// ISO 14977; whitespace is allowed between tokens):
//
//	filter    = [ term , { "AND" , term } ] ;
//	term      = match | period ;
//	match     = ( "type" | "tags" | "capabilities" | "skills" | "status" ) , "=" , string ;
//	period    = "updatedAt" , ( ">" | "<" ) , string ;
//	string    = "'" , { ? any character but "'" ? | "''" } , "'"
//	          | '"' , { ? any character but '"' ? | '""' } , '"' ;
//
// AND is upper case; a quote inside a string is written twice:
//
//	tags = 'it''s' AND updatedAt > '2026-01-01'
//
// Terms combine with AND: two tags (or skills) require both, a type other than
// "application/a2a-agent-card+json" or two different statuses match nothing. updatedAt
// compares with an RFC 3339 timestamp or a date (YYYY-MM-DD, midnight UTC), exclusively.
// capabilities are skill ids (skills is a synonym). An empty expression selects the active
// cards. Errors are INVALID_ARGUMENT and name the column (1-based byte offset) of the problem.
func ParseFilter(expr string) (Selection, error) {
	var s Selection
	if len(expr) > MaxFilterBytes {
		return s, invalid("filter is longer than %d bytes", MaxFilterBytes)
	}
	p := &filterParser{src: expr}
	p.space()
	if p.eof() {
		return s, nil
	}
	var statuses []string
	for n := 0; ; n++ {
		if n == MaxFilterTerms {
			return s, invalid("filter: at most %d terms", MaxFilterTerms)
		}
		if err := p.term(&s, &statuses); err != nil {
			return s, err
		}
		p.space()
		if p.eof() {
			break
		}
		at := p.pos
		if w := p.word(); w != "AND" {
			if w == "" {
				return s, p.errAt(at, "expected AND, found %q", p.src[at:at+1])
			}
			if strings.EqualFold(w, "AND") {
				return s, p.errAt(at, "write AND in upper case")
			}
			if w == "OR" || w == "NOT" {
				return s, p.errAt(at, "%s is not supported; terms combine with AND only", w)
			}
			return s, p.errAt(at, "expected AND, found %q", w)
		}
		p.space()
		if p.eof() {
			return s, p.errAt(p.pos, "expected a term after AND")
		}
	}
	if len(statuses) > 0 {
		s.Query.Statuses = statuses[:1]
		if len(slices.Compact(slices.Sorted(slices.Values(statuses)))) > 1 {
			s.None = true
		}
	}
	if !s.UpdatedAfter.IsZero() && !s.UpdatedBefore.IsZero() && !s.UpdatedAfter.Before(s.UpdatedBefore) {
		s.None = true
	}
	return s, s.check()
}

type filterParser struct {
	src string
	pos int
}

func (p *filterParser) eof() bool { return p.pos >= len(p.src) }

func (p *filterParser) space() {
	for !p.eof() && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

// word reads a run of letters, digits, '.' and '_' (a field name or a keyword).
func (p *filterParser) word() string {
	start := p.pos
	for !p.eof() {
		c := p.src[p.pos]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

func (p *filterParser) errAt(pos int, format string, args ...any) error {
	return invalid("filter: "+format+" at column %d", append(args, pos+1)...)
}

// term parses one term into s (statuses are gathered for the caller to intersect).
func (p *filterParser) term(s *Selection, statuses *[]string) error {
	at := p.pos
	field := p.word()
	if field == "" {
		return p.errAt(at, "expected a field name, found %q", p.src[at:at+1])
	}
	isField := slices.Contains(FilterFields, field) || field == FieldUpdatedAt
	if !isField {
		return p.errAt(at, "unknown filter field %q (supported: %s, updatedAt)", field, strings.Join(FilterFields, ", "))
	}
	p.space()
	opAt := p.pos
	if p.eof() {
		return p.errAt(opAt, "expected an operator after %q", field)
	}
	op := p.src[p.pos]
	switch op {
	case '=', '>', '<':
		p.pos++
	case '!':
		return p.errAt(opAt, "!= is not supported; use =")
	default:
		return p.errAt(opAt, "expected an operator (=, > or <) after %q", field)
	}
	if !p.eof() && (p.src[p.pos] == '=' || p.src[p.pos] == '>') {
		return p.errAt(opAt, "operator %q is not supported; use =, > or <", p.src[opAt:p.pos+1])
	}
	if field == FieldUpdatedAt && op == '=' {
		return p.errAt(opAt, "updatedAt compares with > or <, not =")
	}
	if field != FieldUpdatedAt && op != '=' {
		return p.errAt(opAt, "%q compares with =; > and < apply to updatedAt only", field)
	}
	p.space()
	valAt := p.pos
	v, err := p.value()
	if err != nil {
		return err
	}
	if field != FieldUpdatedAt && (v == "" || len(v) > MaxFilterValueBytes) {
		return p.errAt(valAt, "%s values must be 1 to %d bytes", field, MaxFilterValueBytes)
	}
	switch field {
	case FieldType:
		if v != MediaTypeA2A {
			s.None = true
		}
	case FieldTags:
		s.Query.Tags = appendNew(s.Query.Tags, v)
	case FieldCapabilities, FieldSkills:
		s.Query.Skills = appendNew(s.Query.Skills, v)
	case FieldStatus:
		if !slices.Contains(discovery.Statuses, v) {
			return p.errAt(valAt, "unknown status %q (one of %s)", v, strings.Join(discovery.Statuses, ", "))
		}
		*statuses = append(*statuses, v)
	case FieldUpdatedAt:
		t, ok := parseTime(v)
		if !ok {
			return p.errAt(valAt, "updatedAt needs an RFC 3339 timestamp or a date (YYYY-MM-DD), not %q", v)
		}
		if op == '>' && (s.UpdatedAfter.IsZero() || t.After(s.UpdatedAfter)) {
			s.UpdatedAfter = t
		}
		if op == '<' && (s.UpdatedBefore.IsZero() || t.Before(s.UpdatedBefore)) {
			s.UpdatedBefore = t
		}
	}
	return nil
}

// value reads a quoted string.
func (p *filterParser) value() (string, error) {
	at := p.pos
	if p.eof() {
		return "", p.errAt(at, "expected a quoted value")
	}
	q := p.src[p.pos]
	if q != '\'' && q != '"' {
		w := p.word()
		if w == "" {
			w = p.src[at : at+1]
		}
		return "", p.errAt(at, "values are quoted: write '%s'", strings.ReplaceAll(w, "'", "''"))
	}
	p.pos++
	var b strings.Builder
	for {
		i := strings.IndexByte(p.src[p.pos:], q)
		if i < 0 {
			return "", p.errAt(at, "unterminated string")
		}
		b.WriteString(p.src[p.pos : p.pos+i])
		p.pos += i + 1
		if !p.eof() && p.src[p.pos] == q {
			b.WriteByte(q)
			p.pos++
			continue
		}
		return b.String(), nil
	}
}

func parseTime(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// Orders of GET /agents. Registration order is the order of the registry's card ids, which are
// time-ordered: oldest registration first, stable while paging.
const (
	// OrderRegistration is the default order (orderBy empty, "metadata.registryId" or
	// "metadata.registryId ASC").
	OrderRegistration = "metadata.registryId"
)

// ParseOrderBy reads the orderBy of GET /agents and returns its normalized form. The discovery
// index lists cards in registration order only, so that is the one order supported; any other
// order (displayName, updatedAt, identifier, DESC) is INVALID_ARGUMENT naming what is.
func ParseOrderBy(s string) (string, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 0:
		return OrderRegistration, nil
	case f[0] == OrderRegistration && (len(f) == 1 || len(f) == 2 && strings.EqualFold(f[1], "ASC")):
		return OrderRegistration, nil
	}
	return "", invalid("orderBy %s is not supported: this registry lists in registration order only "+
		"(omit orderBy, or write %q)", strconv.Quote(s), OrderRegistration)
}
