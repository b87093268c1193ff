package discovery

import (
	"container/heap"
	"math"
	"slices"
	"sort"
)

// Search answers q (see Query). q must be normalized (Query.Normalize).
func (x *Index) Search(q *Query) Result {
	x.mu.RLock()
	defer x.mu.RUnlock()
	toks := QueryTokens(q.Text)
	ranked := len(toks) > 0
	var text []*postings
	var idf []float64
	for _, t := range toks {
		id, ok := x.text.ids[t]
		if !ok || len(x.text.lists[id].docs) == 0 {
			return Result{}
		}
		p := &x.text.lists[id]
		text = append(text, p)
		idf = append(idf, bm25IDF(x.live, len(p.docs)))
	}
	var filt []*postings
	for _, f := range [][2][]string{{{"t:"}, q.Tags}, {{"s:"}, q.Skills}, {{"c:"}, q.Capabilities}} {
		for _, v := range f[1] {
			id, ok := x.filters.ids[f[0][0]+v]
			if !ok {
				return Result{}
			}
			filt = append(filt, &x.filters.lists[id])
		}
	}
	owner := uint32(math.MaxUint32)
	if q.OwnerID != "" {
		o, ok := x.owners[q.OwnerID]
		if !ok {
			return Result{}
		}
		owner = o
	}
	avgdl := 1.0
	if x.live > 0 {
		avgdl = float64(x.totalLen) / float64(x.live)
	}
	m := matcher{x: x, q: q, owner: owner, statusAny: len(q.Statuses) == 0}
	// Walk the shortest list; look the doc up in the others (their cursors only advance).
	lists := make([]*postings, 0, len(text)+len(filt))
	lists = append(lists, text...)
	lists = append(lists, filt...)
	if !ranked {
		return x.list(&m, lists, q)
	}
	drive := 0
	for i, l := range lists {
		if len(l.docs) < len(lists[drive].docs) {
			drive = i
		}
	}
	pos := make([]int, len(lists))
	k := q.Limit + 1
	h := make(hitHeap, 0, min(k, 1024))
	for i, n := range lists[drive].docs {
		score := 0.0
		ok := true
		for j, l := range lists {
			at := i
			if j != drive {
				at = seek(l.docs, pos[j], n)
				pos[j] = at
				if at == len(l.docs) {
					goto done
				}
				if l.docs[at] != n {
					ok = false
					break
				}
			}
			if j < len(text) {
				f := float64(l.wtf[at])
				d := 1 - bm25B + bm25B*float64(x.docs[n].length)/avgdl
				score += idf[j] * (f * (bm25K1 + 1)) / (f + bm25K1*d)
			}
		}
		if !ok || !m.keep(n) {
			continue
		}
		id := x.docs[n].id
		if q.After != nil && !before(true, q.After.Score, q.After.ID, &Position{Score: score, ID: id}) {
			continue
		}
		if len(h) < k {
			heap.Push(&h, Hit{ID: id, Score: score})
		} else if better(Hit{ID: id, Score: score}, h[0]) {
			h[0] = Hit{ID: id, Score: score}
			heap.Fix(&h, 0)
		}
	}
done:
	hits := []Hit(h)
	sort.Slice(hits, func(a, b int) bool { return better(hits[a], hits[b]) })
	return page(hits, q.Limit, true)
}

// list answers a query without text: cards in id order, stopping after a page.
func (x *Index) list(m *matcher, lists []*postings, q *Query) Result {
	start := uint32(0)
	if q.After != nil {
		start = uint32(sort.Search(len(x.docs), func(i int) bool { return x.docs[i].id > q.After.ID }))
	}
	var hits []Hit
	if len(lists) == 0 {
		for n := start; int(n) < len(x.docs) && len(hits) <= q.Limit; n++ {
			if x.docs[n].live && m.keep(n) {
				hits = append(hits, Hit{ID: x.docs[n].id})
			}
		}
		return page(hits, q.Limit, false)
	}
	slices.SortFunc(lists, func(a, b *postings) int { return len(a.docs) - len(b.docs) })
	pos := make([]int, len(lists))
	drive := lists[0].docs
	i, _ := slices.BinarySearch(drive, start)
	for ; i < len(drive) && len(hits) <= q.Limit; i++ {
		n := drive[i]
		ok := true
		for j := 1; j < len(lists); j++ {
			pos[j] = seek(lists[j].docs, pos[j], n)
			if pos[j] == len(lists[j].docs) {
				return page(hits, q.Limit, false)
			}
			if lists[j].docs[pos[j]] != n {
				ok = false
				break
			}
		}
		if ok && m.keep(n) {
			hits = append(hits, Hit{ID: x.docs[n].id})
		}
	}
	return page(hits, q.Limit, false)
}

// page cuts hits (at most limit+1) to limit and sets Next when there were more.
func page(hits []Hit, limit int, ranked bool) Result {
	if len(hits) <= limit {
		return Result{Hits: hits}
	}
	last := hits[limit-1]
	p := &Position{ID: last.ID}
	if ranked {
		p.Score = last.Score
	}
	return Result{Hits: hits[:limit], Next: p}
}

// Facets counts, over the cards matching q (its page fields ignored), the values of each
// field (FacetTag, FacetSkill, FacetCapability, FacetStatus), most frequent first.
func (x *Index) Facets(q *Query, fields []string) map[string][]FacetCount {
	all := *q
	all.Limit = math.MaxInt32 - 1
	all.After = nil
	res := x.Search(&all)
	x.mu.RLock()
	defer x.mu.RUnlock()
	counts := map[string]map[string]int{}
	for _, f := range fields {
		counts[f] = map[string]int{}
	}
	prefix := map[byte]string{'t': FacetTag, 's': FacetSkill, 'c': FacetCapability}
	for _, h := range res.Hits {
		n, ok := x.byID[h.ID]
		if !ok {
			continue
		}
		d := &x.docs[n]
		if c, ok := counts[FacetStatus]; ok {
			c[d.status]++
		}
		for _, f := range d.filters {
			name := x.filters.names[f]
			if c, ok := counts[prefix[name[0]]]; ok {
				c[name[2:]]++
			}
		}
	}
	out := make(map[string][]FacetCount, len(fields))
	for f, c := range counts {
		list := make([]FacetCount, 0, len(c))
		for v, n := range c {
			list = append(list, FacetCount{Value: v, Count: n})
		}
		sort.Slice(list, func(a, b int) bool {
			if list[a].Count != list[b].Count {
				return list[a].Count > list[b].Count
			}
			return list[a].Value < list[b].Value
		})
		out[f] = list
	}
	return out
}

type matcher struct {
	x         *Index
	q         *Query
	owner     uint32
	statusAny bool
}

func (m *matcher) keep(n uint32) bool {
	d := &m.x.docs[n]
	if m.owner != math.MaxUint32 && d.owner != m.owner {
		return false
	}
	return m.statusAny || slices.Contains(m.q.Statuses, d.status)
}

// seek returns the first index ≥ from of docs holding a value ≥ n (galloping search).
func seek(docs []uint32, from int, n uint32) int {
	if from >= len(docs) || docs[from] >= n {
		return from
	}
	step := 1
	lo := from
	hi := from + step
	for hi < len(docs) && docs[hi] < n {
		lo = hi
		step *= 2
		hi = lo + step
	}
	if hi > len(docs) {
		hi = len(docs)
	}
	i, _ := slices.BinarySearch(docs[lo:hi], n)
	return lo + i
}

// bm25IDF is FTS5's inverse document frequency of a term in nHit of n docs.
func bm25IDF(n, nHit int) float64 {
	idf := math.Log((float64(n) - float64(nHit) + 0.5) / (float64(nHit) + 0.5))
	if idf <= 0 {
		idf = 1e-6
	}
	return idf
}

// better orders hits by score, high first, then by id.
func better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.ID < b.ID
}

// hitHeap is a min-heap of the best hits so far (the worst on top).
type hitHeap []Hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(v any)        { *h = append(*h, v.(Hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}
