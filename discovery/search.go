package discovery

import (
	"math"
	"slices"
	"sort"
)

// plan is a query resolved against the index: its posting lists and per-doc conditions.
type plan struct {
	text  []*postings // one per query token, in query order
	idf   []float64
	filt  []*postings
	m     matcher
	avgdl float64
	// ub holds, per text term, the bound of its current block (see rank).
	ub []float64
}

// prepare resolves q; ok is false when nothing can match (an unknown token, filter value or
// owner).
func (x *Index) prepare(q *Query) (p plan, ok bool) {
	for _, t := range QueryTokens(q.Text) {
		id, ok := x.text.ids[t]
		if !ok || len(x.text.lists[id].docs) == 0 {
			return p, false
		}
		l := &x.text.lists[id]
		p.text = append(p.text, l)
		p.idf = append(p.idf, bm25IDF(x.live, len(l.docs)))
	}
	var key []byte
	for _, f := range [...]struct {
		prefix string
		vals   []string
	}{{"t:", q.Tags}, {"s:", q.Skills}, {"c:", q.Capabilities}} {
		for _, v := range f.vals {
			key = append(append(key[:0], f.prefix...), v...)
			id, ok := x.filters.ids[string(key)]
			if !ok {
				return p, false
			}
			p.filt = append(p.filt, &x.filters.lists[id])
		}
	}
	p.m.owner = math.MaxUint32
	if q.OwnerID != "" {
		o, ok := x.owners[q.OwnerID]
		if !ok {
			return p, false
		}
		p.m.owner = o
	}
	if len(q.Statuses) > 0 {
		p.m.statusOK = make([]bool, len(x.statusNames))
		for _, s := range q.Statuses {
			if c, ok := x.statusCodes[s]; ok {
				p.m.statusOK[c] = true
			}
		}
	}
	p.avgdl = 1.0
	if x.live > 0 {
		p.avgdl = float64(x.totalLen) / float64(x.live)
	}
	return p, true
}

// Search answers q (see Query). q must be normalized (Query.Normalize).
//
// A query with text returns the top of the matches by (score desc, id asc); see rank. A query
// without text lists the matches in id order from the cursor on, stopping after a page.
func (x *Index) Search(q *Query) Result {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, ok := x.prepare(q)
	if !ok {
		return Result{}
	}
	if len(p.text) == 0 {
		start := uint32(0)
		if q.After != nil {
			start = x.after(q.After.ID)
		}
		var hits []Hit
		x.each(&p, start, func(n uint32) bool {
			hits = append(hits, Hit{ID: x.ids[n]})
			return len(hits) <= q.Limit
		})
		return Page(hits, q.Limit, false)
	}
	return x.rank(&p, q)
}

// after is the first doc number whose id sorts after id.
func (x *Index) after(id string) uint32 {
	return uint32(sort.Search(len(x.ids), func(i int) bool { return x.ids[i] > id }))
}

// rank returns the page of the best Limit matches of a text query (after the cursor).
//
// It walks the shortest posting list (text or filter) in doc order, checking each doc against
// the other lists, and keeps the best Limit+1 hits in a heap. Once the heap is full, its worst
// hit is the score to beat, and the walk skips regions of doc numbers where an upper bound of
// the score cannot beat it: a region is where every query term stays in one block of its
// list, and the bound sums, in query order, each term's block bound (see bound). So a common
// term ("agent" in an agent registry), most of whose blocks cannot hold a top score, costs a
// pass over its block bounds rather than a score per posting. With several terms, a doc of a
// region that survives is also checked, before its other lists are searched, with the exact
// score of the walked term in place of its bound.
//
// Exactness: the bound at (maxWtf, minLen) is computed by the same floating-point expression
// as the score, each step of which is monotone in its inputs (the score grows with the
// frequency and shrinks with the length), so it is never below the score of a doc in the
// block; the ratio bound is another expression and gets a relative margin of 1e-12, far
// above its rounding error; floating-point addition is monotone too, so the sum of bounds in
// query order is never below the score. Docs are visited in ascending doc number, which is
// ascending id, so a later doc scoring exactly the heap's worst would sort after it: pruning
// on bound ≤ worst (not <) is exact, ties included.
func (x *Index) rank(p *plan, q *Query) Result {
	lists := make([]*postings, 0, len(p.text)+len(p.filt))
	lists = append(append(lists, p.text...), p.filt...)
	drive := 0
	for i, l := range lists {
		if len(l.docs) < len(lists[drive].docs) {
			drive = i
		}
	}
	pos := make([]int, len(lists))
	p.ub = make([]float64, len(p.text))
	top := topK{k: q.Limit + 1}
	var afterScore float64
	afterN := uint32(0)
	if q.After != nil {
		afterScore, afterN = q.After.Score, x.after(q.After.ID)
	}
	docs := lists[drive].docs
	var regionEnd uint64 // the region [start, regionEnd) holds the current doc
	regionUB, regionOK := 0.0, true
	// refine: with several terms, check each doc with the walked term's exact score.
	refine := drive < len(p.text) && len(p.text) > 1
scan:
	for i := 0; i < len(docs); {
		n := docs[i]
		var worst float64
		if top.full() {
			worst = top.worst().score
			if uint64(n) >= regionEnd {
				regionUB, regionOK, regionEnd = p.region(n)
			}
			if !regionOK || regionUB <= worst {
				if regionEnd > math.MaxUint32 {
					break
				}
				i = seek(docs, i+1, uint32(regionEnd))
				continue
			}
		}
		i++
		var driveScore float64
		if refine {
			driveScore = termScore(p.idf[drive], float64(lists[drive].wtf[i-1]), float64(x.lens[n]), p.avgdl)
			if top.full() {
				ub := 0.0
				for j := range p.text {
					if j == drive {
						ub += driveScore
					} else {
						ub += p.ub[j]
					}
				}
				if ub <= worst {
					continue
				}
			}
		}
		for j, l := range lists {
			if j == drive {
				continue
			}
			at := seek(l.docs, pos[j], n)
			pos[j] = at
			if at == len(l.docs) {
				break scan
			}
			if l.docs[at] != n {
				continue scan
			}
		}
		if !p.m.keep(x, n) {
			continue
		}
		score := 0.0
		for j, l := range p.text {
			if j == drive && refine {
				score += driveScore
				continue
			}
			at := pos[j]
			if j == drive {
				at = i - 1
			}
			score += termScore(p.idf[j], float64(l.wtf[at]), float64(x.lens[n]), p.avgdl)
		}
		if q.After != nil && (score > afterScore || score == afterScore && n < afterN) {
			continue
		}
		top.offer(scored{score: score, n: n})
	}
	hs := top.h
	slices.SortFunc(hs, func(a, b scored) int {
		if a.better(b) {
			return -1
		}
		return 1
	})
	hits := make([]Hit, len(hs))
	for i, h := range hs {
		hits[i] = Hit{ID: x.ids[h.n], Score: h.score}
	}
	return Page(hits, q.Limit, true)
}

// region computes the bounds of the text terms' blocks holding doc n into p.ub and returns
// their sum, false when a term has none of its docs in its block (no doc there can match),
// and the end of the region where all those blocks hold.
func (p *plan) region(n uint32) (ub float64, ok bool, end uint64) {
	ok = true
	end = math.MaxUint64
	for j, t := range p.text {
		b := int(n >> t.shift)
		end = min(end, uint64(b+1)<<t.shift)
		if b >= len(t.blocks) || t.blocks[b].maxWtf == 0 {
			ok = false
			continue
		}
		p.ub[j] = p.termBound(j, &t.blocks[b])
		ub += p.ub[j]
	}
	return ub, ok, end
}

// termBound is the upper bound of text term j's score in a block (see bound).
func (p *plan) termBound(j int, b *bound) float64 {
	f := float64(b.maxWtf)
	exact := termScore(p.idf[j], f, float64(b.minLen), p.avgdl)
	ratio := termScore(p.idf[j], f, float64(b.minRatio)*f, p.avgdl) * (1 + 1e-12)
	return min(exact, ratio)
}

// termScore is FTS5's bm25 term of one token: weighted frequency f in a doc of the given
// length. It is the only place scores are computed, so that bounds and scores agree.
func termScore(idf, f, length, avgdl float64) float64 {
	d := 1 - bm25B + bm25B*length/avgdl
	return idf * (f * (bm25K1 + 1)) / (f + bm25K1*d)
}

// each calls fn with each doc number ≥ start matching p (every list, the matcher) in
// ascending order, until fn returns false.
func (x *Index) each(p *plan, start uint32, fn func(n uint32) bool) {
	lists := make([]*postings, 0, len(p.text)+len(p.filt))
	lists = append(append(lists, p.text...), p.filt...)
	if len(lists) == 0 {
		for n := start; int(n) < len(x.ids); n++ {
			if p.m.keep(x, n) && !fn(n) {
				return
			}
		}
		return
	}
	slices.SortFunc(lists, func(a, b *postings) int { return len(a.docs) - len(b.docs) })
	pos := make([]int, len(lists))
	drive := lists[0].docs
	i, _ := slices.BinarySearch(drive, start)
next:
	for ; i < len(drive); i++ {
		n := drive[i]
		for j := 1; j < len(lists); j++ {
			pos[j] = seek(lists[j].docs, pos[j], n)
			if pos[j] == len(lists[j].docs) {
				return
			}
			if lists[j].docs[pos[j]] != n {
				continue next
			}
		}
		if p.m.keep(x, n) && !fn(n) {
			return
		}
	}
}

// Page cuts hits (at most limit+1) to limit and sets Next when there were more (ranked: the
// position keeps the last hit's score).
func Page(hits []Hit, limit int, ranked bool) Result {
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
//
// The matches are enumerated without scores or hits; each match's filter terms are read from
// its term record and counted in an array indexed by term id.
func (x *Index) Facets(q *Query, fields []string) map[string][]FacetCount {
	x.mu.RLock()
	defer x.mu.RUnlock()
	want := map[byte]bool{}
	wantStatus := false
	for _, f := range fields {
		switch f {
		case FacetTag:
			want['t'] = true
		case FacetSkill:
			want['s'] = true
		case FacetCapability:
			want['c'] = true
		case FacetStatus:
			wantStatus = true
		}
	}
	statuses := make([]int, len(x.statusNames))
	var counts []int32
	var touched []uint32
	if len(want) > 0 {
		counts = make([]int32, len(x.filters.names))
	}
	if p, ok := x.prepare(q); ok {
		x.each(&p, 0, func(n uint32) bool {
			statuses[x.status[n]]++
			if counts != nil {
				r := idReader{b: x.arena[x.rec[n]:]}
				for i, c := 0, r.count(); i < c; i++ {
					f := r.next()
					if counts[f] == 0 {
						touched = append(touched, f)
					}
					counts[f]++
				}
			}
			return true
		})
	}
	lists := make(map[string][]FacetCount, len(fields))
	for _, f := range fields {
		lists[f] = []FacetCount{}
	}
	kind := map[byte]string{'t': FacetTag, 's': FacetSkill, 'c': FacetCapability}
	for _, id := range touched {
		name := x.filters.names[id]
		if want[name[0]] {
			f := kind[name[0]]
			lists[f] = append(lists[f], FacetCount{Value: name[2:], Count: int(counts[id])})
		}
	}
	if wantStatus {
		for c, k := range statuses {
			if k > 0 {
				lists[FacetStatus] = append(lists[FacetStatus], FacetCount{Value: x.statusNames[c], Count: k})
			}
		}
	}
	for _, list := range lists {
		slices.SortFunc(list, func(a, b FacetCount) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			if a.Value < b.Value {
				return -1
			}
			if a.Value > b.Value {
				return 1
			}
			return 0
		})
	}
	return lists
}

// matcher holds the per-doc conditions of a query: owner and status.
type matcher struct {
	owner    uint32 // MaxUint32: any owner
	statusOK []bool // by status code; nil: any live status
}

func (m *matcher) keep(x *Index, n uint32) bool {
	if m.owner != math.MaxUint32 && x.owner[n] != m.owner {
		return false
	}
	s := x.status[n]
	if m.statusOK == nil {
		return s != statusDead
	}
	return int(s) < len(m.statusOK) && m.statusOK[s]
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

// scored is a candidate hit: its score and doc number (whose order is the id order).
type scored struct {
	score float64
	n     uint32
}

func (a scored) better(b scored) bool {
	return a.score > b.score || a.score == b.score && a.n < b.n
}

// topK keeps the k best candidates offered, in a heap with the worst on top.
type topK struct {
	h []scored
	k int
}

func (t *topK) full() bool     { return len(t.h) >= t.k }
func (t *topK) worst() *scored { return &t.h[0] }
func (t *topK) offer(s scored) {
	if len(t.h) < t.k {
		t.h = append(t.h, s)
		for i := len(t.h) - 1; i > 0; {
			parent := (i - 1) / 2
			if !t.h[parent].better(t.h[i]) {
				break
			}
			t.h[parent], t.h[i] = t.h[i], t.h[parent]
			i = parent
		}
		return
	}
	if !s.better(t.h[0]) {
		return
	}
	t.h[0] = s
	for i := 0; ; {
		w := i
		if l := 2*i + 1; l < len(t.h) && t.h[w].better(t.h[l]) {
			w = l
		}
		if r := 2*i + 2; r < len(t.h) && t.h[w].better(t.h[r]) {
			w = r
		}
		if w == i {
			return
		}
		t.h[i], t.h[w] = t.h[w], t.h[i]
		i = w
	}
}
