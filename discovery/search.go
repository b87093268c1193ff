package discovery

import (
	"cmp"
	"maps"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ranking parameters (see docs/ARCHITECTURE.md, "Discovery"): how a query word may match, the
// weight of each kind of match against an exact one, and what a hit must reach.
const (
	weightExact   = 1.0
	weightPrefix  = 0.8 // the last word of the query, unfinished ("weather fore")
	weightTypo1   = 0.7 // one edit away (words of 5 letters or more)
	weightTypo2   = 0.5 // two edits away (9 letters or more)
	weightSynonym = 0.5 // a word of the same group in the domain vocabulary
	weightRelated = 0.4 // a WordNet synonym

	// RelevanceFloor is the lowest relevance (0–100) of a hit: weaker matches are not results.
	RelevanceFloor = 20
	// allTermsBonus is the share of the best possible score added to a card matching every word
	// of the query the index knows (two or more).
	allTermsBonus = 0.15
	// unknownWeight is the weight, in the best possible score, of a query word no card has
	// (nor a close or related word), against the best known word: a query mostly about
	// something absent ranks low.
	unknownWeight = 0.5
	// maxExpansions bounds the words a query word expands to by typo or prefix.
	maxExpansions = 8
)

// alt is one posting list a query word may match in (the word itself, a close, prefixed or
// related word) and the weight of such a match.
type alt struct {
	list   *postings
	idf    float64
	w      float64
	clause int
	ub     float64 // bound of the alt's contribution over the whole list
}

// plan is a query resolved against the index: the alternatives of each query word, the filter
// lists and per-doc conditions, and the scores a hit must reach.
type plan struct {
	alts     []alt  // by ub ascending
	clauses  int    // query words (clause ids 0..clauses-1)
	known    int    // clauses with at least one alt
	knownSet uint32 // those clauses, a bit each (MaxQueryTokens ≤ 32)
	msm      int    // clauses a hit must match
	floor    float64
	bonus    float64
	maxScore float64 // the raw score of relevance 100
	filt     []*postings
	m        matcher
	avgdl    float64
	// didYouMean is the query with its unknown words corrected, when one was.
	didYouMean string
}

// minShouldMatch is the number of the query's n words a hit must match (by any of their
// alternatives): one of one or two, two of three to eight, then a third of them.
func minShouldMatch(n int) int {
	if n <= 2 {
		return 1
	}
	return max(2, n/3)
}

// queryWords analyses a query: its distinct words (by term), at most MaxQueryTokens, and
// whether the last one may be unfinished (the text does not end with a separator).
func queryWords(text string) (words []Word, open bool) {
	seen := map[string]bool{}
	for _, w := range Analyze(text) {
		if !seen[w.Term] && len(words) < MaxQueryTokens {
			seen[w.Term] = true
			words = append(words, w)
		}
	}
	if text != "" {
		r, _ := utf8.DecodeLastRuneInString(text)
		open = unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	return words, open
}

// prepare resolves q; ok is false when nothing can match (an unknown filter value or owner, or
// text none of whose words the index knows).
func (x *Index) prepare(q *Query) (p plan, ok bool) {
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
	words, open := queryWords(q.Text)
	if len(words) == 0 {
		return p, true
	}
	p.clauses = len(words)
	corrected := false
	fixes := make([]string, len(words))
	unknown := 0
	for c, w := range words {
		fixes[c] = w.Surface
		weights := map[uint32]float64{}
		addID := func(id uint32, wt float64) {
			if len(x.text.lists[id].docs) > 0 && wt > weights[id] {
				weights[id] = wt
			}
		}
		exact, hasExact := x.text.ids[w.Term]
		hasExact = hasExact && len(x.text.lists[exact].docs) > 0
		if hasExact {
			addID(exact, weightExact)
		}
		for _, s := range related[w.Term] {
			if id, ok := x.text.ids[s]; ok {
				addID(id, weightRelated)
			}
		}
		for _, s := range synonyms[w.Term] {
			if id, ok := x.text.ids[s]; ok {
				addID(id, weightSynonym)
			}
		}
		// A word no card has as written (its stem may still be another word's) is looked up
		// among the words within its edit allowance.
		if _, seen := x.surface[w.Surface]; !seen {
			if fix, ok := x.typos(w.Surface, addID); ok && (!hasExact || x.surface[fix] != exact) {
				fixes[c], corrected = fix, true
			}
		}
		if open && c == len(words)-1 {
			x.prefixes(w.Surface, addID)
		}
		if len(weights) == 0 {
			unknown++
			continue
		}
		p.known++
		p.knownSet |= 1 << c
		best := 0.0
		for _, id := range slices.Sorted(maps.Keys(weights)) {
			l := &x.text.lists[id]
			a := alt{list: l, idf: bm25IDF(x.live, len(l.docs)), w: weights[id], clause: c}
			a.ub = a.w * termBound(a.idf, &l.all, p.avgdl)
			best = max(best, a.w*a.idf*(bm25K1+1))
			p.alts = append(p.alts, a)
		}
		p.maxScore += best
	}
	if corrected {
		p.didYouMean = strings.Join(fixes, " ")
	}
	if p.known == 0 {
		return p, false
	}
	// An unknown word weighs half the best known word's best score.
	bestWord := 0.0
	for _, a := range p.alts {
		bestWord = max(bestWord, a.w*a.idf*(bm25K1+1))
	}
	p.maxScore += float64(unknown) * unknownWeight * bestWord
	slices.SortStableFunc(p.alts, func(a, b alt) int { return cmp.Compare(a.ub, b.ub) })
	p.msm = minShouldMatch(p.clauses)
	p.floor = RelevanceFloor / 100.0 * p.maxScore
	if p.known >= 2 {
		p.bonus = allTermsBonus * p.maxScore
	}
	return p, true
}

// Relevance is a raw score of the plan on the 0–100 scale.
func (p *plan) relevance(raw float64) int {
	if p.maxScore <= 0 {
		return 0
	}
	return min(100, max(1, int(100*raw/p.maxScore)))
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
		return Result{DidYouMean: p.didYouMean}
	}
	if p.clauses == 0 {
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
	r := x.rank(&p, q)
	r.DidYouMean = p.didYouMean
	return r
}

// after is the first doc number whose id sorts after id.
func (x *Index) after(id string) uint32 {
	return uint32(sort.Search(len(x.ids), func(i int) bool { return x.ids[i] > id }))
}

// scoreDoc is the raw score of doc n and the number of query words it matches, finding n in
// each alternative's list from the cursors pos (galloping forward: docs must come in ascending
// order for one pos).
func (x *Index) scoreDoc(p *plan, n uint32, pos []int, best []float64) (float64, int) {
	clear(best)
	for j, a := range p.alts {
		pos[j] = seek(a.list.docs, pos[j], n)
		if i := pos[j]; i < len(a.list.docs) && a.list.docs[i] == n {
			best[a.clause] = max(best[a.clause], a.contribution(a.list.wtf[i], lengthNorm(float64(x.lens[n]), p.avgdl)))
		}
	}
	return p.total(best)
}

// contribution is the alt's part of a doc's score: its weight times the BM25 term score, norm
// being the doc's lengthNorm.
func (a *alt) contribution(wtf uint16, norm float64) float64 {
	return a.w * normScore(a.idf, float64(wtf), norm)
}

// total sums the best match of each query word, in query order, and adds the bonus when every
// known word matched.
func (p *plan) total(best []float64) (float64, int) {
	raw, matched := 0.0, 0
	for _, b := range best {
		if b > 0 {
			raw += b
			matched++
		}
	}
	if matched == p.known && p.known >= 2 {
		raw += p.bonus
	}
	return raw, matched
}

// rank returns the page of the best Limit hits of a text query (after the cursor).
//
// A hit matches at least msm of the query's words, by any of their alternatives, and scores at
// least the floor. With a small filter list (tuning.filterScan docs, or a sixteenth of the
// alternatives' lists together), the filter's docs are scored one by one (each list searched
// forward from the last doc). Otherwise the walk is MaxScore over the alternatives in doc order, with block bounds: the
// best Limit+1 hits are kept in a heap whose worst (or the floor) is the score to beat; the
// alternatives with the smallest bounds that together (per word the largest, summed over words) cannot beat it are non-essential (a doc only they hold cannot make the page), so only the essential
// lists are walked and the others are searched for the docs found there, from the largest
// bound down, until the bound of what is left cannot lift the doc above the score to beat; a
// doc outside a filter makes the essential lists leap to the filter's next doc; and
// where the block bounds of all alternatives together cannot beat it (see bound), the walk
// jumps over the region.
//
// Exactness: bounds are never below the scores they bound (see bound and region; the sums over
// alternatives get a relative margin of 1e-9, far above rounding), a doc is dropped before
// scoring only when its bound cannot beat the heap's worst or the floor or its words cannot
// reach msm, and docs are visited in ascending doc number, which is ascending id, so a later doc
// scoring exactly the heap's worst would sort after it: skipping on bound ≤ worst is exact, ties
// included. Every score is summed by total, in query order, on every path.
func (x *Index) rank(p *plan, q *Query) Result {
	top := topK{k: q.Limit + 1}
	var afterScore float64
	afterN := uint32(0)
	if q.After != nil {
		afterScore, afterN = q.After.Score, x.after(q.After.ID)
	}
	best := make([]float64, p.clauses)
	offer := func(n uint32, raw float64, matched int) {
		if matched < p.msm || raw < p.floor {
			return
		}
		if q.After != nil && (raw > afterScore || raw == afterScore && n < afterN) {
			return
		}
		top.offer(scored{score: raw, n: n})
	}
	// beats reports whether a doc whose score is at most ub may still make the page. A bound
	// summed in another order than scores are (the sums over alternatives) gets a relative
	// margin of 1e-9, far above rounding; the region bound is summed as scores are and needs none.
	beats := func(ub float64, exact bool) bool {
		if !exact {
			ub *= 1 + 1e-9
		}
		return ub >= p.floor && (!top.full() || ub > top.worst().score)
	}
	total := 0
	for _, a := range p.alts {
		total += len(a.list.docs)
	}
	shortest := -1
	for i, f := range p.filt {
		if shortest < 0 || len(f.docs) < len(p.filt[shortest].docs) {
			shortest = i
		}
	}
	if shortest >= 0 && x.scanFilter(len(p.filt[shortest].docs), total) {
		pos := make([]int, len(p.alts))
		x.each(p, 0, func(n uint32) bool {
			raw, matched := x.scoreDoc(p, n, pos, best)
			offer(n, raw, matched)
			return true
		})
		return x.page(p, &top, q.Limit)
	}
	nA := len(p.alts)
	pos := make([]int, nA)
	fpos := make([]int, len(p.filt))
	// cum[i] bounds what p.alts[:i] may add to a doc's score: for each word, the largest bound
	// of its alternatives there (a doc's score takes the best match of each word, not the sum).
	cum := make([]float64, nA+1)
	for i, a := range p.alts {
		best[a.clause] = max(best[a.clause], a.ub)
		for _, b := range best {
			cum[i+1] += b
		}
	}
	clear(best)
	// upTo[i] is the set of words (a bit each) of p.alts[:i]; a doc found only there gets the
	// bonus only when they are all the known words.
	upTo := make([]uint32, nA+1)
	for i, a := range p.alts {
		upTo[i+1] = upTo[i] | 1<<a.clause
	}
	bonusIf := func(words uint32) float64 {
		if words == p.knownSet {
			return p.bonus
		}
		return 0
	}
	ess := 0 // p.alts[ess:] are essential
	for ess < nA && !beats(cum[ess+1]+bonusIf(upTo[ess+1]), false) {
		ess++
	}
	// The lengthNorm of the short lengths most cards have, computed once (a division less
	// for each doc scored).
	var norms [256]float64
	for l := range norms {
		norms[l] = lengthNorm(float64(l), p.avgdl)
	}
	var regionEnd uint64 // the region [start, regionEnd) holds the current doc
	var regionUB float64
walk:
	for ess < nA {
		d, found := uint32(math.MaxUint32), false
		for j := ess; j < nA; j++ {
			if docs := p.alts[j].list.docs; pos[j] < len(docs) && docs[pos[j]] <= d {
				d, found = docs[pos[j]], true
			}
		}
		if !found {
			break
		}
		// A doc outside a filter cannot be a hit: the essential lists leap to the filter's next
		// doc (with a filter as large as a text list, most docs are outside it).
		for i, f := range p.filt {
			fpos[i] = seek(f.docs, fpos[i], d)
			if fpos[i] == len(f.docs) {
				break walk
			}
			if next := f.docs[fpos[i]]; next != d {
				for j := ess; j < nA; j++ {
					pos[j] = seek(p.alts[j].list.docs, pos[j], next)
				}
				continue walk
			}
		}
		if uint64(d) >= regionEnd {
			regionUB, regionEnd = p.region(d, ess, best)
		}
		if !beats(regionUB, true) { // (the worst hit rises: checked again for each doc)
			if regionEnd > math.MaxUint32 {
				break
			}
			for j := ess; j < nA; j++ {
				pos[j] = seek(p.alts[j].list.docs, pos[j], uint32(regionEnd))
			}
			continue
		}
		clear(best)
		sum := 0.0
		var got uint32 // the words d matched so far
		norm := -1.0   // d's lengthNorm, from the first list holding it (d is in one at least)
		for j := ess; j < nA; j++ {
			a := &p.alts[j]
			if pos[j] < len(a.list.docs) && a.list.docs[pos[j]] == d {
				if norm < 0 {
					if l := a.list.docLen(pos[j], d, x); l < uint32(len(norms)) {
						norm = norms[l]
					} else {
						norm = lengthNorm(float64(l), p.avgdl)
					}
				}
				c := a.contribution(a.list.wtf[pos[j]], norm)
				sum += c
				if c > best[a.clause] {
					best[a.clause] = c
				}
				got |= 1 << a.clause
				pos[j]++
			}
		}
		// The non-essential alternatives, from the largest bound down, while what they may
		// add can still make d a hit (score and words).
		for j := ess - 1; j >= 0; j-- {
			could := got | upTo[j+1]
			if bits.OnesCount32(could) < p.msm || !beats(sum+cum[j+1]+bonusIf(could), false) {
				continue walk
			}
			a := &p.alts[j]
			if len(a.list.docs) == len(x.ids) {
				// The list holds every slot (a word all cards have, as "agent" in a registry
				// of agents): doc d is at index d.
				pos[j] = int(d)
			} else {
				pos[j] = seek(a.list.docs, pos[j], d)
			}
			if pos[j] < len(a.list.docs) && a.list.docs[pos[j]] == d {
				c := a.contribution(a.list.wtf[pos[j]], norm)
				sum += c
				if c > best[a.clause] {
					best[a.clause] = c
				}
				got |= 1 << a.clause
			}
		}
		raw, matched := p.total(best)
		// The owner and status of d are read only for a doc that makes the page (random reads).
		if matched < p.msm || !beats(raw, true) || !p.m.keep(x, d) {
			continue
		}
		offer(d, raw, matched)
		if top.full() {
			for ess < nA && !beats(cum[ess+1]+bonusIf(upTo[ess+1]), false) {
				ess++
			}
		}
	}
	return x.page(p, &top, q.Limit)
}

// scanFilter reports whether a text query scores the docs of its shortest filter, of length f,
// one by one rather than walking its text lists, whose lengths sum to total.
func (x *Index) scanFilter(f, total int) bool {
	return x.tune.filterScan >= 0 && (f <= x.tune.filterScan || f <= total/16)
}

// page sorts the kept hits and cuts the page.
func (x *Index) page(p *plan, top *topK, limit int) Result {
	hs := top.h
	slices.SortFunc(hs, func(a, b scored) int {
		if a.better(b) {
			return -1
		}
		return 1
	})
	hits := make([]Hit, len(hs))
	for i, h := range hs {
		hits[i] = Hit{ID: x.ids[h.n], Score: h.score, Relevance: p.relevance(h.score)}
	}
	return Page(hits, limit, true)
}

// region returns the bound of a doc's score in the region of doc n, and the end of the region
// where the blocks it read hold: for each word, in query order, the largest bound of its
// alternatives — the block bound there of an essential one (p.alts[ess:]) whose block holds
// docs, the whole list's bound of a non-essential one (whose small blocks would cut the region
// short) — summed as total sums scores, plus the bonus when every known word has one. Each term
// of the sum is at least the doc's best match of the word, and floating-point addition is
// monotone, so the bound is exact. perWord is scratch space of one float a word.
func (p *plan) region(n uint32, ess int, perWord []float64) (ub float64, end uint64) {
	end = math.MaxUint64
	clear(perWord)
	for j, a := range p.alts {
		if j < ess {
			perWord[a.clause] = max(perWord[a.clause], a.ub)
			continue
		}
		t := a.list
		b := int(n >> t.shift)
		end = min(end, uint64(b+1)<<t.shift)
		if b >= len(t.blocks) || t.blocks[b].n == 0 {
			continue
		}
		perWord[a.clause] = max(perWord[a.clause], a.w*termBound(a.idf, &t.blocks[b], p.avgdl))
	}
	words := 0
	for _, b := range perWord {
		if b > 0 {
			ub += b
			words++
		}
	}
	if words == p.known && p.known >= 2 {
		ub += p.bonus
	}
	return ub, end
}

// termBound is the upper bound of a term's score over the docs a bound covers (see bound): the
// best score of its pairs, or the ratio bound when that is lower.
func termBound(idf float64, b *bound, avgdl float64) float64 {
	if b.n == 0 {
		return 0
	}
	best := 0.0
	for i := range b.n {
		best = max(best, termScore(idf, float64(b.wtf[i]), float64(b.len[i]), avgdl))
	}
	f := float64(b.maxWtf())
	ratio := termScore(idf, f, float64(b.minRatio)*f, avgdl) * (1 + 1e-12)
	return min(best, ratio)
}

// termScore is FTS5's bm25 term of one token: weighted frequency f in a doc of the given
// length. It and normScore, of which it is made, are the only places scores are computed, so
// that bounds and scores agree.
func termScore(idf, f, length, avgdl float64) float64 {
	return normScore(idf, f, lengthNorm(length, avgdl))
}

// lengthNorm is the part of the BM25 term score that depends on the doc's length alone,
// k1·(1 - b + b·length/avgdl): computed once a doc, whatever the number of its words scored.
func lengthNorm(length, avgdl float64) float64 {
	return float64(bm25K1 * (1 - bm25B + bm25B*length/avgdl))
}

// normScore is the BM25 term score of weighted frequency f in a doc of lengthNorm norm.
func normScore(idf, f, norm float64) float64 {
	return idf * (f * (bm25K1 + 1)) / (f + norm)
}

// each calls fn with each doc number ≥ start matching p (every list, the matcher) in
// ascending order, until fn returns false.
func (x *Index) each(p *plan, start uint32, fn func(n uint32) bool) {
	lists := slices.Clone(p.filt)
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

// matching calls fn with each doc matching p in doc order, until fn returns false: the docs
// passing the filters and conditions, and, for a query with words, only those rank would keep
// (enough words matched, the floor reached).
func (x *Index) matching(p *plan, fn func(n uint32) bool) {
	if p.clauses == 0 {
		x.each(p, 0, fn)
		return
	}
	best := make([]float64, p.clauses)
	pos := make([]int, len(p.alts))
	if len(p.filt) > 0 {
		x.each(p, 0, func(n uint32) bool {
			raw, matched := x.scoreDoc(p, n, pos, best)
			return matched < p.msm || raw < p.floor || fn(n)
		})
		return
	}
	// The union of the alternatives' lists, in doc order, each doc scored from the cursors.
	for {
		d, found := uint32(math.MaxUint32), false
		for j, a := range p.alts {
			if pos[j] < len(a.list.docs) && a.list.docs[pos[j]] <= d {
				d, found = a.list.docs[pos[j]], true
			}
		}
		if !found {
			return
		}
		clear(best)
		for j, a := range p.alts {
			if pos[j] < len(a.list.docs) && a.list.docs[pos[j]] == d {
				best[a.clause] = max(best[a.clause], a.contribution(a.list.wtf[pos[j]], lengthNorm(float64(x.lens[d]), p.avgdl)))
				pos[j]++
			}
		}
		raw, matched := p.total(best)
		if matched >= p.msm && raw >= p.floor && p.m.keep(x, d) && !fn(d) {
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
		x.matching(&p, func(n uint32) bool {
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
