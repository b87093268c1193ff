package ard

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/registry"
)

// Filter fields of search and explore queries (and of the GET /agents filter expression, with
// updatedAt besides). capabilities are the skill ids of a card, as its catalog entry lists them,
// so skills is a synonym.
const (
	FieldType         = "type"
	FieldTags         = "tags"
	FieldCapabilities = "capabilities"
	FieldSkills       = "skills"
	FieldStatus       = "status"
	FieldUpdatedAt    = "updatedAt"
)

// Reputation filter fields of search: this registry's extension of ARD's filter, narrowing the
// results to agents scoring at least minReputation (0–1000) or of one tier.
const (
	FieldMinReputation = "minReputation"
	FieldTier          = "tier"
)

// ReputationFields are the reputation filter fields (search only).
var ReputationFields = []string{FieldMinReputation, FieldTier}

// FilterFields are the fields a query's filter may name, and the fields explore counts.
var FilterFields = []string{FieldType, FieldTags, FieldCapabilities, FieldSkills, FieldStatus}

// facetFields maps the facet fields of explore to discovery's facet fields ("" for type, which
// this registry answers itself: every card is an A2A card).
var facetFields = map[string]string{
	FieldType:         "",
	FieldTags:         discovery.FacetTag,
	FieldCapabilities: discovery.FacetSkill,
	FieldSkills:       discovery.FacetSkill,
	FieldStatus:       discovery.FacetStatus,
}

// Selection is what an ARD query selects, in discovery's terms: Query (text, tags, skills,
// statuses; the caller sets Limit and After), None when the constraints cannot match any card
// of this registry (a type other than A2A cards, two different required statuses), and the
// updatedAt bounds, which discovery does not index and the caller applies with Admits.
type Selection struct {
	Query discovery.Query
	None  bool
	// UpdatedAfter and UpdatedBefore are exclusive bounds (zero: none).
	UpdatedAfter, UpdatedBefore time.Time
	// Reputation narrows the matches by score and tier (search only).
	Reputation registry.ReputationFilter
}

// Select maps a query model to a selection. Values within one field combine as discovery
// combines them: all of the listed tags and skills are required, any of the listed types and
// statuses is admitted. An unknown field or a bad value is INVALID_ARGUMENT.
func Select(q QueryModel) (Selection, error) {
	s := Selection{Query: discovery.Query{Text: q.Text}}
	if len(q.Text) > MaxTextBytes {
		return s, invalid("query.text is longer than %d bytes", MaxTextBytes)
	}
	for _, f := range sortedKeys(q.Filter) {
		vals := q.Filter[f]
		path := "query.filter." + f
		if len(vals) > MaxFilterValues {
			return s, invalid("%s: at most %d values", path, MaxFilterValues)
		}
		for _, v := range vals {
			if v == "" || len(v) > MaxFilterValueBytes {
				return s, invalid("%s: values must be 1 to %d bytes", path, MaxFilterValueBytes)
			}
		}
		switch f {
		case FieldType:
			if !slices.Contains(vals, MediaTypeA2A) {
				s.None = true
			}
		case FieldTags:
			s.Query.Tags = appendNew(s.Query.Tags, vals...)
		case FieldCapabilities, FieldSkills:
			s.Query.Skills = appendNew(s.Query.Skills, vals...)
		case FieldStatus:
			for _, v := range vals {
				if !slices.Contains(discovery.Statuses, v) {
					return s, invalid("%s: unknown status %q; one of %s", path, v, strings.Join(discovery.Statuses, ", "))
				}
			}
			s.Query.Statuses = appendNew(s.Query.Statuses, vals...)
		case FieldMinReputation:
			n, err := -1, error(nil)
			if len(vals) == 1 {
				n, err = strconv.Atoi(vals[0])
			}
			if err != nil || n < 0 || n > 1000 {
				return s, invalid("%s: one whole number from 0 to 1000", path)
			}
			s.Reputation.MinScore = &n
		case FieldTier:
			if len(vals) != 1 {
				return s, invalid("%s: one tier name", path)
			}
			s.Reputation.Tier = vals[0]
		default:
			return s, invalid("unknown filter field %q; supported: %s", f, strings.Join(FilterFields, ", "))
		}
	}
	return s, s.check()
}

// check applies discovery's limits with ARD's field names.
func (s *Selection) check() error {
	if len(s.Query.Tags) > MaxFilterValues {
		return invalid("at most %d tags", MaxFilterValues)
	}
	if len(s.Query.Skills) > MaxFilterValues {
		return invalid("at most %d capabilities (skills)", MaxFilterValues)
	}
	return nil
}

// Admits reports whether c is within the selection's updatedAt bounds.
func (s *Selection) Admits(c *registry.AgentCard) bool {
	if !s.UpdatedAfter.IsZero() && !c.UpdatedAt.After(s.UpdatedAfter) {
		return false
	}
	if !s.UpdatedBefore.IsZero() && !c.UpdatedAt.Before(s.UpdatedBefore) {
		return false
	}
	return true
}

// Bounded reports whether the selection has updatedAt bounds (which discovery cannot apply).
func (s *Selection) Bounded() bool { return !s.UpdatedAfter.IsZero() || !s.UpdatedBefore.IsZero() }

// Key is the normalized form of the selection under a route name and an order: two requests
// with equal keys select the same cards in the same order, so a page token of one continues
// the other. Whitespace, case and punctuation of the text, and the order of filter values, do
// not change the key.
func (s *Selection) Key(route, order string) string {
	sorted := func(v []string) string {
		c := slices.Clone(v)
		slices.Sort(c)
		return strings.Join(slices.Compact(c), "\x1f")
	}
	statuses := s.Query.Statuses
	if len(statuses) == 0 {
		statuses = []string{discovery.StatusActive}
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return strings.Join([]string{route, order, strings.Join(discovery.QueryTokens(s.Query.Text), " "),
		sorted(s.Query.Tags), sorted(s.Query.Skills), sorted(statuses), fmt.Sprint(s.None),
		stamp(s.UpdatedAfter), stamp(s.UpdatedBefore), reputationKey(s.Reputation)}, "\x1e")
}

// reputationKey is the part of a selection's key its reputation filter makes.
func reputationKey(f registry.ReputationFilter) string {
	if f.MinScore == nil {
		return f.Tier
	}
	return strconv.Itoa(*f.MinScore) + "\x1f" + f.Tier
}

// queryHash is the digest of a key carried in page tokens.
func queryHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

// DiscoveryFacets are the discovery facet fields to count for facet requests (the status facet
// always, whose counts sum to the number of matching cards).
func DiscoveryFacets(req []FacetRequest) []string {
	out := []string{discovery.FacetStatus}
	for _, f := range req {
		if d := facetFields[f.Field]; d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// Facets turns discovery's counts (nil when the selection matches nothing) into the explore
// answer: per requested field, the values with at least MinCount cards, most frequent first, at
// most Limit of them; OtherCount sums the counts left out.
func Facets(req []FacetRequest, counts map[string][]discovery.FacetCount) *ExploreResponse {
	out := &ExploreResponse{ResultType: "facets", Facets: make(map[string]FacetResult, len(req))}
	for _, f := range req {
		var list []discovery.FacetCount
		if d := facetFields[f.Field]; d != "" {
			list = counts[d]
		} else if total := Total(counts); total > 0 {
			list = []discovery.FacetCount{{Value: MediaTypeA2A, Count: total}}
		}
		r := FacetResult{Buckets: []Bucket{}}
		for _, c := range list {
			if c.Count >= f.MinCount && len(r.Buckets) < f.Limit {
				r.Buckets = append(r.Buckets, Bucket{Value: c.Value, Count: c.Count})
			} else {
				r.OtherCount += c.Count
			}
		}
		out.Facets[f.Field] = r
	}
	return out
}

// Total is the number of cards counted by discovery facets that include the status facet.
func Total(counts map[string][]discovery.FacetCount) int {
	n := 0
	for _, c := range counts[discovery.FacetStatus] {
		n += c.Count
	}
	return n
}

// appendNew appends the values not in list yet.
func appendNew(list []string, vals ...string) []string {
	for _, v := range vals {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}
