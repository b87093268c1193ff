package discovery

import (
	"encoding/binary"
	"math"
	"slices"
	"sort"
	"sync"
	"unicode/utf8"
)

// BM25 parameters, those of SQLite FTS5's bm25().
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// tuning holds the size parameters of an Index (tests shrink them to exercise every path on
// small indexes).
type tuning struct {
	// blockPostings is the number of postings a block of a text list holds on average when
	// its block bounds are (re)built.
	blockPostings int
	// Removals compact the index when more than compactDead slots, and a quarter, are dead.
	compactDead int
	// A text query with a filter of at most filterScan docs scores the filter's docs one by
	// one; with a larger filter it walks the text lists (see rank).
	filterScan int
}

var defaultTuning = tuning{blockPostings: 64, compactDead: 1024, filterScan: 256}

// statusDead is the status code of a slot without a live card.
const statusDead = 0

// noRecord is the term-record offset of a slot without a live card.
const noRecord = -1

// Index is an in-memory inverted index of cards. Queries take a read lock and touch only the
// posting lists of their tokens and filters; writes (Put, PutAll, Remove) take the write lock.
// Internal doc numbers follow card-id order, so a listing without text is a merge walk that
// stops after a page, and ties between equal scores resolve by doc number. Safe for concurrent
// use.
//
// Per-card data lives in parallel slices indexed by doc number (few pointers for the garbage
// collector to trace, dense arrays for the hot loops), and each card's term ids are kept
// varint-encoded in one byte arena so that a replaced or removed card can be taken out of its
// posting lists.
type Index struct {
	mu sync.RWMutex

	// Per doc number, ascending card ids. A removed card keeps its slot (dead) until
	// compaction; a put of the same id revives it.
	ids    []string
	lens   []uint32 // token count of the card's text
	owner  []uint32 // owner code (owners)
	status []uint16 // status code (statusNames); statusDead for a dead slot
	rec    []int    // offset of the card's term record in arena, noRecord when dead

	// arena holds the term records: uvarint count and delta-encoded ascending ids of the
	// filter terms, then the same for the text terms. garbage counts bytes of stale records.
	arena   []byte
	garbage int

	// text postings by token; filter postings by kind-prefixed value ("t:", "s:", "c:").
	text    dict
	filters dict

	// surface maps each word seen in a card (not a stop word) to its term id: the cache of the
	// stemmer and the vocabulary of typo tolerance and prefix search. vocab is its words
	// without digits, sorted, rebuilt (under vocabMu, by a search) when vocabDirty.
	surface    map[string]uint32
	vocabMu    sync.Mutex
	vocab      []string
	vocabDirty bool
	typoCache  map[string][]typoMatch // typoMatches by query word, emptied with the vocabulary

	owners      map[string]uint32
	statusCodes map[string]uint16
	statusNames []string

	tune tuning
	live int
	// totalLen is the token count of all live docs (for the average document length).
	totalLen int64

	// Scratch space of put (used under the write lock only).
	freq    []uint32 // weighted frequency by text term id, zero between puts
	touched []uint32 // text term ids with a non-zero freq
	fids    []uint32
	key     []byte
	tok     []byte
}

// dict is a term dictionary with a posting list per term.
type dict struct {
	ids   map[string]uint32
	names []string
	lists []postings
}

// postings are the docs of one term in ascending order, with the term's weighted frequency in
// each (text terms; nil for filters).
//
// A text list also carries score upper bounds by block: the doc numbers are cut in blocks of
// 1<<shift, the shift chosen per list so that a block holds about blockPostings of its docs,
// and each block records bounds of the term's docs there (see bound). Bounds are kept
// conservative: an added doc widens its block's bound, a removed one leaves it as it is. They
// are rebuilt, tight, from the postings whenever the list has doubled since the last build
// (so the block size follows the list's density) and at compaction.
type postings struct {
	docs []uint32
	wtf  []uint16
	// lens is each doc's length (text lists; nil for filters), clamped to 16 bits (a doc of
	// that length or more is looked up in Index.lens): read beside wtf, in order, rather than
	// at random in Index.lens for every doc a query scores.
	lens []uint16

	shift  uint8
	built  int // list length at the last build of the blocks
	blocks []bound
	// all bounds the whole list, as blocks do theirs.
	all bound
}

// bound bounds the term's docs in one block: the best (weighted frequency, length) pairs of
// its docs, lengths clamped to 16 bits — the pairs no other doc of the block beats in both (a
// higher frequency and a shorter card), at most boundPairs of them — and the smallest ratio of
// length to weighted frequency (rounded down). A block with no pair holds none of the term's
// docs.
//
// BM25 rises with the frequency and falls with the length, so a doc's term score is at most the
// score of a pair at least as good in both, whatever the idf and average length: the largest
// score over the pairs bounds the block, and it is the block's true best while the pairs are
// exact. When a doc adds a pair beyond boundPairs, two neighbouring pairs are merged into one
// that is as good as both (the higher frequency with the shorter length), so the bound stays
// conservative, only looser. On cards that are all alike the scores are flat, and the best of
// each separately (the largest frequency with the shortest length) lies above most blocks'
// true best: the pairs are what lets the walk skip them. The ratio ties frequency to length
// as well: the term score is idf·(k1+1)/(1 + k1(1-b)/f + k1·b·(len/f)/avgdl), so it is at most
// that expression at the largest frequency and len/f = minRatio (see termBound).
type bound struct {
	n        uint8 // pairs in use
	wtf      [boundPairs]uint16
	len      [boundPairs]uint16 // ascending with wtf
	minRatio float32
}

// boundPairs is the most (frequency, length) pairs a bound keeps.
const boundPairs = 4

var emptyBound = bound{minRatio: math.MaxFloat32}

// maxWtf is the largest weighted frequency b covers, 0 when it covers no doc.
func (b *bound) maxWtf() uint16 {
	if b.n == 0 {
		return 0
	}
	return b.wtf[b.n-1]
}

// add widens b to cover a doc of length l with weighted frequency wtf.
func (b *bound) add(wtf uint16, l uint32) {
	r := float64(l) / float64(wtf)
	r32 := float32(r)
	if float64(r32) > r {
		r32 = math.Nextafter32(r32, 0)
	}
	b.minRatio = min(b.minRatio, r32)
	l16 := clamp16(l)
	// Drop the pairs the new one is as good as; stop when one is as good as it.
	k := uint8(0)
	at := b.n // where the new pair goes among those kept
	for i := uint8(0); i < b.n; i++ {
		f, ln := b.wtf[i], b.len[i]
		if f >= wtf && ln <= l16 {
			return
		}
		if f <= wtf && ln >= l16 {
			continue
		}
		if at == b.n && f > wtf {
			at = k
		}
		b.wtf[k], b.len[k] = f, ln
		k++
	}
	if at > k {
		at = k
	}
	if k == boundPairs {
		// Make room: merge the two neighbours that lose least (relative gaps), the new pair
		// counted among them.
		var fs [boundPairs + 1]uint16
		var ls [boundPairs + 1]uint16
		copy(fs[:at], b.wtf[:at])
		copy(ls[:at], b.len[:at])
		fs[at], ls[at] = wtf, l16
		copy(fs[at+1:], b.wtf[at:k])
		copy(ls[at+1:], b.len[at:k])
		m, loss := 0, math.Inf(1)
		for i := 0; i < boundPairs; i++ {
			g := float64(fs[i+1]-fs[i])/float64(fs[i+1]) + float64(ls[i+1]-ls[i])/float64(max(ls[i+1], 1))
			if g < loss {
				m, loss = i, g
			}
		}
		j := 0
		for i := 0; i <= boundPairs; i++ {
			if i == m+1 {
				continue
			}
			b.wtf[j], b.len[j] = fs[i], ls[i]
			if i == m {
				b.wtf[j] = fs[m+1]
			}
			j++
		}
		b.n = boundPairs
		return
	}
	copy(b.wtf[at+1:k+1], b.wtf[at:k])
	copy(b.len[at+1:k+1], b.len[at:k])
	b.wtf[at], b.len[at] = wtf, l16
	b.n = k + 1
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{owners: map[string]uint32{}, statusCodes: map[string]uint16{},
		statusNames: []string{statusDead: ""}, tune: defaultTuning,
		text: dict{ids: map[string]uint32{}}, filters: dict{ids: map[string]uint32{}}, surface: map[string]uint32{}}
}

// id returns the id of term, adding it when new (the string is copied once, here).
func (d *dict) id(term []byte) uint32 {
	if id, ok := d.ids[string(term)]; ok {
		return id
	}
	id := uint32(len(d.names))
	s := string(term)
	d.ids[s] = id
	d.names = append(d.names, s)
	d.lists = append(d.lists, postings{})
	return id
}

func clamp16(v uint32) uint16 { return uint16(min(v, math.MaxUint16)) }

// insert puts docID into p.docs (appending when it is the largest, the loading case) and
// returns its index.
func (p *postings) insert(docID uint32) int {
	i := len(p.docs)
	if i > 0 && p.docs[i-1] > docID {
		i, _ = slices.BinarySearch(p.docs, docID)
		p.docs = slices.Insert(p.docs, i, docID)
	} else {
		p.docs = append(p.docs, docID)
	}
	return i
}

// addText adds a doc of the given length with weighted frequency wtf to a text list of x.
func (p *postings) addText(docID uint32, wtf uint16, length uint32, x *Index) {
	i := p.insert(docID)
	if i == len(p.wtf) {
		p.wtf = append(p.wtf, wtf)
		p.lens = append(p.lens, clamp16(length))
	} else {
		p.wtf = slices.Insert(p.wtf, i, wtf)
		p.lens = slices.Insert(p.lens, i, clamp16(length))
	}
	if len(p.docs) >= 2*p.built {
		p.buildBlocks(x)
		return
	}
	b := int(docID >> p.shift)
	for len(p.blocks) <= b {
		p.blocks = append(p.blocks, emptyBound)
	}
	p.blocks[b].add(wtf, length)
	p.all.add(wtf, length)
}

// buildBlocks chooses the block size for the list's density over x's doc slots and computes
// the block bounds from the postings.
func (p *postings) buildBlocks(x *Index) {
	p.built = len(p.docs)
	p.shift = 0
	for p.shift < 31 && len(p.docs)<<p.shift < x.tune.blockPostings*len(x.ids) {
		p.shift++
	}
	p.blocks = p.blocks[:0]
	p.all = emptyBound
	if len(p.docs) == 0 {
		return
	}
	nb := int(p.docs[len(p.docs)-1]>>p.shift) + 1
	p.blocks = slices.Grow(p.blocks, nb)[:nb]
	for i := range p.blocks {
		p.blocks[i] = emptyBound
	}
	for i, n := range p.docs {
		p.blocks[n>>p.shift].add(p.wtf[i], x.lens[n])
		p.all.add(p.wtf[i], x.lens[n])
	}
}

// docLen is the length of doc n, at index i of the text list p.
func (p *postings) docLen(i int, n uint32, x *Index) uint32 {
	if l := p.lens[i]; l != math.MaxUint16 {
		return uint32(l)
	}
	return x.lens[n]
}

// addFilter adds a doc to a filter list.
func (p *postings) addFilter(docID uint32) { p.insert(docID) }

func (p *postings) remove(docID uint32) {
	i, ok := slices.BinarySearch(p.docs, docID)
	if !ok {
		return
	}
	p.docs = slices.Delete(p.docs, i, i+1)
	if p.wtf != nil {
		p.wtf = slices.Delete(p.wtf, i, i+1)
		p.lens = slices.Delete(p.lens, i, i+1)
	}
}

// Len is the number of cards in the index (of every status).
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.live
}

// Put adds a card or replaces the indexed version of it.
func (x *Index) Put(d *Doc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.putAll([]*Doc{d})
}

// PutAll adds or replaces many cards under one lock (loading at start, or a batch of changes).
// The cards may come in any order: the slots of all new cards are made in one pass, so a batch
// of new cards older than the newest indexed one costs one renumbering, not one each.
func (x *Index) PutAll(ds []*Doc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.putAll(ds)
}

func (x *Index) putAll(ds []*Doc) {
	// Make the slots of the new ids, in id order. need holds the ids without a live slot,
	// absent those without any: when the absent ids all sort after the newest, their slots
	// are appended; otherwise compaction makes them (dropping the dead slots, so the ids of
	// the batch that had one are made again too).
	var need, absent []string
	for _, d := range ds {
		n, ok := x.find(d.ID)
		if !ok {
			absent = append(absent, d.ID)
		}
		if !ok || x.status[n] == statusDead {
			need = append(need, d.ID)
		}
	}
	if len(absent) > 0 {
		slices.Sort(absent)
		absent = slices.Compact(absent)
		if len(x.ids) == 0 || absent[0] > x.ids[len(x.ids)-1] {
			for _, id := range absent {
				x.appendSlot(id)
			}
		} else {
			slices.Sort(need)
			x.compact(slices.Compact(need))
		}
	}
	hint := -1
	for _, d := range ds {
		n := hint + 1
		if n >= len(x.ids) || x.ids[n] != d.ID {
			n, _ = x.find(d.ID)
		}
		x.fill(uint32(n), d)
		hint = n
	}
	x.maybePack()
}

// Remove drops a card; removing an unknown card does nothing.
func (x *Index) Remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n, ok := x.find(id)
	if !ok || x.status[n] == statusDead {
		return
	}
	x.unindex(uint32(n))
	if dead := len(x.ids) - x.live; dead > x.tune.compactDead && dead > len(x.ids)/4 {
		x.compact(nil)
	}
	x.maybePack()
}

// find returns the slot of id (live or dead) or, when there is none, where it would go.
func (x *Index) find(id string) (int, bool) {
	if len(x.ids) == 0 || x.ids[len(x.ids)-1] < id {
		return len(x.ids), false
	}
	i := sort.SearchStrings(x.ids, id)
	return i, i < len(x.ids) && x.ids[i] == id
}

func (x *Index) appendSlot(id string) {
	x.ids = append(x.ids, id)
	x.lens = append(x.lens, 0)
	x.owner = append(x.owner, 0)
	x.status = append(x.status, statusDead)
	x.rec = append(x.rec, noRecord)
}

// fill indexes d in its slot n, replacing what the slot held.
func (x *Index) fill(n uint32, d *Doc) {
	if x.status[n] != statusDead {
		x.unindex(n)
	}
	s, ok := x.statusCodes[d.Status]
	if !ok {
		s = uint16(len(x.statusNames))
		x.statusCodes[d.Status] = s
		x.statusNames = append(x.statusNames, d.Status)
	}
	x.status[n] = s
	o, ok := x.owners[d.OwnerID]
	if !ok {
		o = uint32(len(x.owners))
		x.owners[d.OwnerID] = o
	}
	x.owner[n] = o

	// Weighted term frequencies across the four columns.
	length := uint32(0)
	add := func(id uint32, w uint32) {
		if int(id) >= len(x.freq) {
			x.freq = append(x.freq, make([]uint32, int(id)+1-len(x.freq))...)
		}
		if x.freq[id] == 0 {
			x.touched = append(x.touched, id)
		}
		x.freq[id] += w
		length++
	}
	x.eachTerm(d.Name, WeightName, add)
	x.eachTerm(d.Description, WeightDescription, add)
	x.eachTerm(d.SkillText, WeightSkills, add)
	for _, t := range d.Tags {
		x.eachTerm(t, WeightTags, add)
	}
	x.lens[n] = length
	x.totalLen += int64(length)
	slices.Sort(x.touched)
	for _, id := range x.touched {
		x.text.lists[id].addText(n, clamp16(x.freq[id]), length, x)
		x.freq[id] = 0
	}

	x.fids = x.fids[:0]
	for _, f := range [...]struct {
		prefix string
		vals   []string
	}{{"t:", d.Tags}, {"s:", d.Skills}, {"c:", d.Capabilities}} {
		for _, v := range f.vals {
			x.key = append(append(x.key[:0], f.prefix...), v...)
			x.fids = append(x.fids, x.filters.id(x.key))
		}
	}
	slices.Sort(x.fids)
	x.fids = slices.Compact(x.fids)
	for _, id := range x.fids {
		x.filters.lists[id].addFilter(n)
	}

	x.rec[n] = len(x.arena)
	x.arena = appendIDs(x.arena, x.fids)
	x.arena = appendIDs(x.arena, x.touched)
	x.touched = x.touched[:0]
	x.live++
}

// appendIDs appends the record of ascending ids: their count, the first and the differences.
func appendIDs(b []byte, ids []uint32) []byte {
	b = binary.AppendUvarint(b, uint64(len(ids)))
	prev := uint32(0)
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(id-prev))
		prev = id
	}
	return b
}

// idReader decodes the records of appendIDs.
type idReader struct {
	b    []byte
	prev uint32
}

// count starts a record and returns its length.
func (r *idReader) count() int {
	v, k := binary.Uvarint(r.b)
	r.b = r.b[k:]
	r.prev = 0
	return int(v)
}

func (r *idReader) next() uint32 {
	v, k := binary.Uvarint(r.b)
	r.b = r.b[k:]
	r.prev += uint32(v)
	return r.prev
}

// unindex takes live doc n out of every posting list, leaving a dead slot.
func (x *Index) unindex(n uint32) {
	r := idReader{b: x.arena[x.rec[n]:]}
	for i, c := 0, r.count(); i < c; i++ {
		x.filters.lists[r.next()].remove(n)
	}
	for i, c := 0, r.count(); i < c; i++ {
		x.text.lists[r.next()].remove(n)
	}
	x.garbage += len(x.arena) - x.rec[n] - len(r.b)
	x.rec[n] = noRecord
	x.totalLen -= int64(x.lens[n])
	x.status[n] = statusDead
	x.live--
}

// recordEnd returns the end offset of the term record at off.
func (x *Index) recordEnd(off int) int {
	r := idReader{b: x.arena[off:]}
	for range 2 {
		for i, c := 0, r.count(); i < c; i++ {
			r.next()
		}
	}
	return len(x.arena) - len(r.b)
}

// maybePack rewrites the arena without stale records once they are most of it.
func (x *Index) maybePack() {
	if x.garbage > 1<<20 && x.garbage > len(x.arena)/2 {
		x.pack()
	}
}

func (x *Index) pack() {
	arena := make([]byte, 0, len(x.arena)-x.garbage)
	for n, off := range x.rec {
		if off != noRecord {
			x.rec[n] = len(arena)
			arena = append(arena, x.arena[off:x.recordEnd(off)]...)
		}
	}
	x.arena, x.garbage = arena, 0
}

// compact renumbers the docs in id order without the dead slots and with an empty (dead) slot
// for each of insert (ascending ids not in the index), which the caller then fills. Score
// bounds are recomputed, so they are tight again.
func (x *Index) compact(insert []string) {
	nLive := x.live + len(insert)
	ids := make([]string, 0, nLive)
	lens := make([]uint32, 0, nLive)
	owner := make([]uint32, 0, nLive)
	status := make([]uint16, 0, nLive)
	rec := make([]int, 0, nLive)
	remap := make([]uint32, len(x.ids))
	j := 0
	for old := range x.ids {
		for j < len(insert) && insert[j] < x.ids[old] {
			ids, lens, owner, status, rec = append(ids, insert[j]), append(lens, 0), append(owner, 0),
				append(status, statusDead), append(rec, noRecord)
			j++
		}
		if x.status[old] == statusDead {
			remap[old] = math.MaxUint32
			continue
		}
		remap[old] = uint32(len(ids))
		ids, lens, owner, status, rec = append(ids, x.ids[old]), append(lens, x.lens[old]),
			append(owner, x.owner[old]), append(status, x.status[old]), append(rec, x.rec[old])
	}
	for ; j < len(insert); j++ {
		ids, lens, owner, status, rec = append(ids, insert[j]), append(lens, 0), append(owner, 0),
			append(status, statusDead), append(rec, noRecord)
	}
	x.ids, x.lens, x.owner, x.status, x.rec = ids, lens, owner, status, rec
	for i := range x.text.lists {
		p := &x.text.lists[i]
		p.renumber(remap)
		p.buildBlocks(x)
	}
	for i := range x.filters.lists {
		x.filters.lists[i].renumber(remap)
	}
	x.pack()
}

// renumber maps each doc number through remap (MaxUint32: dropped). The map is increasing
// over the kept docs, so the order holds.
func (p *postings) renumber(remap []uint32) {
	j := 0
	for i, d := range p.docs {
		if nd := remap[d]; nd != math.MaxUint32 {
			p.docs[j] = nd
			if p.wtf != nil {
				p.wtf[j] = p.wtf[i]
				p.lens[j] = p.lens[i]
			}
			j++
		}
	}
	p.docs = p.docs[:j]
	if p.wtf != nil {
		p.wtf = p.wtf[:j]
		p.lens = p.lens[:j]
	}
}

// eachTerm calls fn with the text term id of each word of s (see Analyze) and weight w: the
// surface form of each word is looked up in x.surface (stemming each distinct word once),
// stop words skipped.
func (x *Index) eachTerm(s string, w uint32, fn func(id uint32, w uint32)) {
	word := func(tok []byte) {
		if stopWords[string(tok)] {
			return
		}
		id, ok := x.surface[string(tok)]
		if !ok {
			t := string(tok)
			id = x.text.id([]byte(Stem(t)))
			x.surface[t] = id
			if !hasDigit(t) {
				x.vocabDirty = true
			}
		}
		fn(id, w)
	}
	x.tok = eachToken(x.tok, s, word)
	for _, p := range camelWords(s) {
		x.tok = append(x.tok[:0], p...)
		word(x.tok)
	}
}

// eachToken calls fn with each token of s (exactly those of Tokenize(s)) and weight w. ASCII
// text, the common case, is tokenized in buf without allocating; buf is returned for reuse.
func eachToken(buf []byte, s string, fn func(tok []byte)) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			for _, t := range Tokenize(s) {
				buf = append(buf[:0], t...)
				fn(buf)
			}
			return buf
		}
	}
	buf = buf[:0]
	for i := 0; i <= len(s); i++ {
		var c byte = ' '
		if i < len(s) {
			c = s[i]
		}
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		default:
			if len(buf) > 0 {
				fn(buf)
				buf = buf[:0]
			}
			continue
		}
		if len(buf) < MaxTokenRunes {
			buf = append(buf, c)
		}
	}
	return buf
}
