package discovery

import (
	"slices"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
)

// Status values of a card in discovery.
const (
	StatusActive    = "active"
	StatusInactive  = "inactive" // no heartbeat for a while
	StatusSuspended = "suspended"
	StatusRevoked   = "revoked"
)

// Statuses are the card statuses a query may filter on.
var Statuses = []string{StatusActive, StatusInactive, StatusSuspended, StatusRevoked}

// Column weights of the ranking (the bm25 weights of the stores' full-text queries too): a
// match in the name counts ten description matches, one in a skill or tag four.
const (
	WeightName        = 10
	WeightSkills      = 4
	WeightTags        = 4
	WeightDescription = 1
)

// Doc is what discovery knows of one card.
type Doc struct {
	ID          string
	OwnerID     string
	Name        string
	Description string
	// SkillText is the skills' names, descriptions and examples.
	SkillText string
	// Tags are the card's tags (the union of its skills' tags), Skills its skill ids, and
	// Capabilities its capability names ("streaming", "push_notifications",
	// "extended_agent_card", and each extension URI): exact-match filter values.
	Tags         []string
	Skills       []string
	Capabilities []string
	Status       string
	UpdatedAt    time.Time
}

// TagText is the text of the tags column: the tags as words.
func (d *Doc) TagText() string { return SearchText(d.Tags...) }

// Query is a discovery query; every set field narrows the result (filters combine with AND,
// values within one filter too: two tags mean cards with both).
type Query struct {
	// Text is free text, ranked: cards matching enough of its words (or close, unfinished or
	// related words) rank by relevance, weak matches are left out (see Index.Search).
	Text         string
	Tags         []string
	Skills       []string
	Capabilities []string
	// Statuses keep cards with any of these statuses (empty: active only).
	Statuses []string
	// OwnerID keeps the cards of one developer.
	OwnerID string
	// Limit is the page size (1–500).
	Limit int
	// After continues a listing after this position (the last hit of the previous page).
	After *Position
}

// Position is a place in a result order: by score, then id (text queries), or by id alone.
type Position struct {
	Score float64 `json:"s,omitempty"`
	ID    string  `json:"i"`
}

// Hit is one card of a result and its relevance (0 without text): Score is the raw ranking
// score (the order, and the position of a cursor), Relevance the same on a 0–100 scale, 100
// being every word of the query matched as strongly as the index allows.
type Hit struct {
	ID        string
	Score     float64
	Relevance int
}

// Result is one page of hits and, when more follow, the position to continue after.
// DidYouMean is the query with its misspelled words corrected, when some were matched as close
// words (or nothing matched them).
type Result struct {
	Hits       []Hit
	Next       *Position
	DidYouMean string
}

// FacetCount is one value of a facet and the number of matching cards with it.
type FacetCount struct {
	Value string
	Count int
}

// Facet fields.
const (
	FacetTag        = "tag"
	FacetSkill      = "skill"
	FacetCapability = "capability"
	FacetStatus     = "status"
)

// Normalize checks q and fills its defaults; errors name the field.
func (q *Query) Normalize() error {
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Limit < 1 || q.Limit > 500 {
		return apperr.New(apperr.Invalid, "INVALID_FIELD", "limit must be between 1 and 500").With("field", "limit")
	}
	if len(q.Text) > 1024 {
		return apperr.New(apperr.Invalid, "FIELD_TOO_LONG", "q is longer than 1024 bytes").With("field", "q")
	}
	for _, f := range []struct {
		name string
		v    []string
	}{{"tag", q.Tags}, {"skill", q.Skills}, {"capability", q.Capabilities}} {
		if len(f.v) > 16 {
			return apperr.Errorf(apperr.Invalid, "TOO_MANY_ITEMS", "at most 16 %s filters", f.name).With("field", f.name)
		}
		for _, v := range f.v {
			if v == "" || len(v) > 256 {
				return apperr.Errorf(apperr.Invalid, "INVALID_FIELD", "%s filter values must be 1 to 256 bytes", f.name).With("field", f.name)
			}
		}
	}
	if len(q.Statuses) == 0 {
		q.Statuses = []string{StatusActive}
	}
	for _, s := range q.Statuses {
		if !slices.Contains(Statuses, s) {
			return apperr.Errorf(apperr.Invalid, "INVALID_FIELD", "status must be one of active, inactive, suspended, revoked, not %q", s).With("field", "status")
		}
	}
	return nil
}
