package auditor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/teg"
)

// Ratings streams every rating (reputation's store).
type Ratings interface {
	EachRating(ctx context.Context, fn func(reputation.Rating) error) error
}

// Transfers reads ledger transfers by id: a rating's interaction is a transfer, whose sequence
// number is a RATING_RING flag's evidence.
type Transfers interface {
	Transfer(ctx context.Context, id string) (teg.Transfer, bool, error)
}

// Bounds of one ring scan.
const (
	maxRings        = 1000 // cliques reported by one scan
	maxRingEvidence = 200  // interactions named by one flag
)

// Ring is a clique of agents that all gave each other top ratings, and the rated interactions.
type Ring struct {
	Members      []string
	Interactions []string
}

// FindRings finds the maximal cliques of at least p.RingSize agents in which every two agents
// rated each other at least p.RingMinStars within p.RingWindow before now (Bron–Kerbosch with
// pivoting over the graph of mutual top ratings), members sorted, largest first.
func FindRings(ctx context.Context, src Ratings, p Params, now time.Time) ([]Ring, error) {
	since := now.Add(-p.RingWindow.D())
	top := map[[2]string][]string{} // (rater, ratee) → interactions
	err := src.EachRating(ctx, func(r reputation.Rating) error {
		if r.Stars >= p.RingMinStars && !r.CreatedAt.Before(since) && r.Rater != r.Ratee {
			k := [2]string{r.Rater, r.Ratee}
			top[k] = append(top[k], r.InteractionID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	adj := map[string]map[string]bool{}
	for k := range top {
		if _, ok := top[[2]string{k[1], k[0]}]; ok {
			for _, e := range [][2]string{{k[0], k[1]}, {k[1], k[0]}} {
				if adj[e[0]] == nil {
					adj[e[0]] = map[string]bool{}
				}
				adj[e[0]][e[1]] = true
			}
		}
	}
	var rings []Ring
	var bk func(r []string, pset, xset map[string]bool)
	bk = func(r []string, pset, xset map[string]bool) {
		if len(rings) >= maxRings {
			return
		}
		if len(pset) == 0 && len(xset) == 0 {
			if len(r) >= p.RingSize {
				members := slices.Clone(r)
				slices.Sort(members)
				rings = append(rings, Ring{Members: members})
			}
			return
		}
		if len(r)+len(pset) < p.RingSize {
			return
		}
		var pivot string
		best := -1
		for _, set := range []map[string]bool{pset, xset} {
			for u := range set {
				n := 0
				for v := range pset {
					if adj[u][v] {
						n++
					}
				}
				if n > best {
					pivot, best = u, n
				}
			}
		}
		cands := make([]string, 0, len(pset))
		for v := range pset {
			if !adj[pivot][v] {
				cands = append(cands, v)
			}
		}
		slices.Sort(cands)
		for _, v := range cands {
			np, nx := map[string]bool{}, map[string]bool{}
			for u := range pset {
				if adj[v][u] {
					np[u] = true
				}
			}
			for u := range xset {
				if adj[v][u] {
					nx[u] = true
				}
			}
			bk(append(r, v), np, nx)
			delete(pset, v)
			xset[v] = true
		}
	}
	all := map[string]bool{}
	for v := range adj {
		all[v] = true
	}
	bk(nil, all, map[string]bool{})
	for i := range rings {
		m := rings[i].Members
		for _, a := range m {
			for _, b := range m {
				if a != b {
					rings[i].Interactions = append(rings[i].Interactions, top[[2]string{a, b}]...)
				}
			}
		}
		slices.Sort(rings[i].Interactions)
		if len(rings[i].Interactions) > maxRingEvidence {
			rings[i].Interactions = rings[i].Interactions[:maxRingEvidence]
		}
	}
	slices.SortFunc(rings, func(a, b Ring) int {
		if len(a.Members) != len(b.Members) {
			return len(b.Members) - len(a.Members)
		}
		return strings.Compare(strings.Join(a.Members, ","), strings.Join(b.Members, ","))
	})
	return rings, nil
}

// ringKey is the dedupe key of a ring (its members sorted).
func ringKey(members []string) string { return string(RatingRing) + ":" + strings.Join(members, ",") }

// RingFlags are the RATING_RING flags of rings, their evidence the rated transfers' sequence
// numbers (read through tr).
func RingFlags(ctx context.Context, tr Transfers, rings []Ring, p Params) ([]Flag, error) {
	out := make([]Flag, 0, len(rings))
	for _, r := range rings {
		ev := make([]uint64, 0, len(r.Interactions))
		for _, id := range r.Interactions {
			t, ok, err := tr.Transfer(ctx, id)
			if err != nil {
				return nil, err
			}
			if ok {
				ev = append(ev, t.Seq)
			}
		}
		slices.Sort(ev)
		out = append(out, Flag{Rule: RatingRing, Severity: SeverityMedium, Subject: r.Members[0], Agents: r.Members, Evidence: ev, Status: StatusNew,
			Detail: fmt.Sprintf("%d agents (%s) all rated each other %d stars or more within %s", len(r.Members), strings.Join(r.Members, ", "),
				p.RingMinStars, p.RingWindow.D()),
			DedupeKey: ringKey(r.Members)})
	}
	return out, nil
}
