package registry

import (
	"context"
	"slices"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/policy"
)

// Standing is an agent's reputation as discovery shows it: its score (0–1000) and tier.
type Standing struct {
	Score int    `json:"score"`
	Tier  string `json:"tier"`
}

// Standings looks up the standing of agents (ids a registry's cards carry); an id missing from
// the answer has none (not an agent of this stack's ledger). valid reports whether a tier name
// is one of the tier table's.
type Standings interface {
	Standings(ctx context.Context, ids []string) (map[string]Standing, error)
	ValidTier(ctx context.Context, name string) (bool, error)
}

// ReputationFilter narrows and orders discovery by reputation.
type ReputationFilter struct {
	// MinScore keeps agents scoring at least it (nil: no bound).
	MinScore *int
	// Tier keeps agents of this tier ("": any).
	Tier string
	// Sort orders the matches by score, best first (ties in relevance order).
	Sort bool
}

// Active reports whether f filters or sorts at all.
func (f ReputationFilter) Active() bool { return f.MinScore != nil || f.Tier != "" || f.Sort }

// The errors of reputation in discovery.
var (
	ErrInvalidMinReputation = apperr.New(apperr.Invalid, "INVALID_FILTER", "min_reputation must be a whole number from 0 to 1000")
	ErrUnknownTier          = apperr.New(apperr.Invalid, "INVALID_FILTER", "tier must be one of the tier table's names (GET /api/v1/teg/params)")
	ErrReputationOff        = apperr.New(apperr.Unavailable, "REPUTATION_UNAVAILABLE", "this registry runs without the ledger: reputation filters and sort are not available")
)

// sortWindow is how many of the best matches a reputation sort orders.
const sortWindow = 500

// maxFilterScan bounds the matches one filtered page examines.
const maxFilterScan = 20 * 500

// SearchReputation answers a discovery query narrowed or ordered by reputation (f), with every
// result's standing. Filtering walks the matches in their order until the page is full (at most
// maxFilterScan of them a page; the cursor continues after the last one examined). Sorting
// orders the sortWindow best matches by score (the page's cursor is an offset into them).
func (s *Cards) SearchReputation(ctx context.Context, caller policy.Subject, q discovery.Query, ownedOnly bool, f ReputationFilter, offset int) (*SearchResult, map[string]Standing, int, error) {
	if s.standings == nil {
		if f.Active() {
			return nil, nil, 0, ErrReputationOff
		}
		res, err := s.Search(ctx, caller, q, ownedOnly)
		return res, nil, 0, err
	}
	if f.MinScore != nil && (*f.MinScore < 0 || *f.MinScore > 1000) {
		return nil, nil, 0, ErrInvalidMinReputation.With("field", "min_reputation")
	}
	if f.Tier != "" {
		ok, err := s.standings.ValidTier(ctx, f.Tier)
		if err != nil {
			return nil, nil, 0, err
		}
		if !ok {
			return nil, nil, 0, ErrUnknownTier.With("field", "tier").With("tier", f.Tier)
		}
	}
	if !f.Active() {
		res, err := s.Search(ctx, caller, q, ownedOnly)
		if err != nil {
			return nil, nil, 0, err
		}
		st, err := s.standings.Standings(ctx, cardIDs(res.Cards))
		return res, st, 0, err
	}
	keep := func(st map[string]Standing, id string) bool {
		v, ok := st[id]
		if !ok {
			return false
		}
		return (f.MinScore == nil || v.Score >= *f.MinScore) && (f.Tier == "" || v.Tier == f.Tier)
	}
	limit := q.Limit
	if f.Sort {
		q.Limit, q.After = sortWindow, nil
		res, err := s.Search(ctx, caller, q, ownedOnly)
		if err != nil {
			return nil, nil, 0, err
		}
		st, err := s.standings.Standings(ctx, cardIDs(res.Cards))
		if err != nil {
			return nil, nil, 0, err
		}
		all := &SearchResult{DidYouMean: res.DidYouMean}
		type row struct {
			i     int
			score int
		}
		var rows []row
		for i, c := range res.Cards {
			if keep(st, c.ID) {
				rows = append(rows, row{i, st[c.ID].Score})
			}
		}
		slices.SortStableFunc(rows, func(a, b row) int { return b.score - a.score })
		next := 0
		for k := offset; k < len(rows) && len(all.Cards) < limit; k++ {
			r := rows[k].i
			all.Cards = append(all.Cards, res.Cards[r])
			all.Scores = append(all.Scores, res.Scores[r])
			all.Relevance = append(all.Relevance, res.Relevance[r])
			next = k + 1
		}
		if next >= len(rows) || len(all.Cards) < limit {
			next = 0
		}
		return all, st, next, nil
	}
	// Filter: walk the matches page by page.
	out := &SearchResult{}
	standings := map[string]Standing{}
	scanned := 0
	q.Limit = max(limit, 100)
	for {
		res, err := s.Search(ctx, caller, q, ownedOnly)
		if err != nil {
			return nil, nil, 0, err
		}
		out.DidYouMean = res.DidYouMean
		st, err := s.standings.Standings(ctx, cardIDs(res.Cards))
		if err != nil {
			return nil, nil, 0, err
		}
		for i, c := range res.Cards {
			scanned++
			if keep(st, c.ID) {
				out.Cards = append(out.Cards, c)
				out.Scores = append(out.Scores, res.Scores[i])
				out.Relevance = append(out.Relevance, res.Relevance[i])
				standings[c.ID] = st[c.ID]
			}
			if len(out.Cards) == limit {
				if i < len(res.Cards)-1 || res.Next != nil {
					out.Next = &discovery.Position{Score: res.Scores[i], ID: c.ID}
				}
				return out, standings, 0, nil
			}
		}
		if res.Next == nil {
			return out, standings, 0, nil
		}
		if scanned >= maxFilterScan {
			// A page that found fewer than it asked for, with a cursor to look further.
			out.Next = res.Next
			return out, standings, 0, nil
		}
		q.After = res.Next
	}
}

func cardIDs(cards []*AgentCard) []string {
	ids := make([]string, len(cards))
	for i, c := range cards {
		ids[i] = c.ID
	}
	return ids
}
