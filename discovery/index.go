package discovery

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
)

// BM25 parameters, those of SQLite FTS5's bm25().
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// Index is an in-memory inverted index of cards. Queries take a read lock and touch only the
// posting lists of their tokens and filters; writes (Put, Remove) lock briefly. Internal doc
// numbers follow card-id order, so a listing without text is a merge walk that stops after a
// page. Safe for concurrent use.
type Index struct {
	mu sync.RWMutex
	// docs in card-id order; a removed card keeps its slot (dead) until compaction.
	docs []doc
	byID map[string]uint32
	// text postings by token; filter postings by kind-prefixed value ("t:", "s:", "c:").
	text    dict
	filters dict
	owners  map[string]uint32
	live    int
	dead    int
	// totalLen is the token count of all live docs (for the average document length).
	totalLen int64
}

type doc struct {
	id      string
	owner   uint32
	status  string
	length  uint32
	live    bool
	terms   []uint32 // text term ids
	filters []uint32 // filter term ids
}

// dict is a term dictionary with a posting list per term.
type dict struct {
	ids   map[string]uint32
	names []string
	lists []postings
}

// postings are the docs of one term in ascending order, with the term's weighted frequency in
// each (text terms; nil for filters).
type postings struct {
	docs []uint32
	wtf  []uint16
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{byID: map[string]uint32{}, owners: map[string]uint32{},
		text: dict{ids: map[string]uint32{}}, filters: dict{ids: map[string]uint32{}}}
}

func (d *dict) id(term string) uint32 {
	if id, ok := d.ids[term]; ok {
		return id
	}
	id := uint32(len(d.names))
	d.ids[term] = id
	d.names = append(d.names, term)
	d.lists = append(d.lists, postings{})
	return id
}

func (p *postings) add(docID uint32, wtf uint16, weighted bool) {
	i := len(p.docs)
	if i > 0 && p.docs[i-1] > docID {
		i, _ = slices.BinarySearch(p.docs, docID)
	}
	p.docs = slices.Insert(p.docs, i, docID)
	if weighted {
		p.wtf = slices.Insert(p.wtf, i, wtf)
	}
}

func (p *postings) remove(docID uint32) {
	i, ok := slices.BinarySearch(p.docs, docID)
	if !ok {
		return
	}
	p.docs = slices.Delete(p.docs, i, i+1)
	if p.wtf != nil {
		p.wtf = slices.Delete(p.wtf, i, i+1)
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
	x.put(d)
}

// PutAll adds many cards under one lock (loading at start, or a batch of changes).
func (x *Index) PutAll(ds []*Doc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, d := range ds {
		x.put(d)
	}
}

// Remove drops a card; removing an unknown card does nothing.
func (x *Index) Remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.remove(id)
}

func (x *Index) put(d *Doc) {
	n, ok := x.byID[d.ID]
	switch {
	case ok:
		x.unindex(n)
	case len(x.docs) > 0 && x.docs[len(x.docs)-1].id > d.ID:
		// A card older than the newest: renumber so that doc order stays id order.
		x.compact(d.ID)
		n = x.byID[d.ID]
	default:
		n = uint32(len(x.docs))
		x.docs = append(x.docs, doc{id: d.ID})
		x.byID[d.ID] = n
	}
	e := &x.docs[n]
	e.live = true
	e.status = d.Status
	o, ok := x.owners[d.OwnerID]
	if !ok {
		o = uint32(len(x.owners))
		x.owners[d.OwnerID] = o
	}
	e.owner = o

	// Weighted term frequencies across the four columns.
	freq := map[string]uint32{}
	length := 0
	for _, col := range []struct {
		toks []string
		w    uint32
	}{
		{Tokenize(d.Name), WeightName},
		{Tokenize(d.Description), WeightDescription},
		{Tokenize(d.SkillText), WeightSkills},
		{Tokenize(strings.Join(d.Tags, " ")), WeightTags},
	} {
		length += len(col.toks)
		for _, t := range col.toks {
			freq[t] += col.w
		}
	}
	e.length = uint32(length)
	x.totalLen += int64(length)
	e.terms = e.terms[:0]
	for t, f := range freq {
		id := x.text.id(t)
		e.terms = append(e.terms, id)
		x.text.lists[id].add(n, uint16(min(f, math.MaxUint16)), true)
	}
	e.filters = e.filters[:0]
	seen := map[string]bool{}
	for _, f := range [][2][]string{{{"t:"}, d.Tags}, {{"s:"}, d.Skills}, {{"c:"}, d.Capabilities}} {
		for _, v := range f[1] {
			key := f[0][0] + v
			if seen[key] {
				continue
			}
			seen[key] = true
			id := x.filters.id(key)
			e.filters = append(e.filters, id)
			x.filters.lists[id].add(n, 0, false)
		}
	}
	x.live++
}

// unindex takes doc n out of every posting list, keeping its slot.
func (x *Index) unindex(n uint32) {
	e := &x.docs[n]
	if !e.live {
		return
	}
	for _, t := range e.terms {
		x.text.lists[t].remove(n)
	}
	for _, f := range e.filters {
		x.filters.lists[f].remove(n)
	}
	x.totalLen -= int64(e.length)
	e.live = false
	x.live--
}

func (x *Index) remove(id string) {
	n, ok := x.byID[id]
	if !ok {
		return
	}
	x.unindex(n)
	delete(x.byID, id)
	x.docs[n].terms, x.docs[n].filters = nil, nil
	x.dead++
	if x.dead > 1024 && x.dead > len(x.docs)/4 {
		x.compact("")
	}
}

// compact renumbers the docs in id order without the dead slots and, when insert is set, with
// an empty slot for that id at its place (which put then fills).
func (x *Index) compact(insert string) {
	order := make([]uint32, 0, x.live)
	for i := range x.docs {
		if x.docs[i].live {
			order = append(order, uint32(i))
		}
	}
	sort.Slice(order, func(a, b int) bool { return x.docs[order[a]].id < x.docs[order[b]].id })
	remap := make([]uint32, len(x.docs))
	for i := range remap {
		remap[i] = math.MaxUint32
	}
	docs := make([]doc, 0, len(order)+1)
	for newN, old := range order {
		remap[old] = uint32(newN)
		docs = append(docs, x.docs[old])
		x.byID[x.docs[old].id] = uint32(newN)
	}
	x.docs = docs
	x.dead = 0
	for _, d := range []*dict{&x.text, &x.filters} {
		for i := range d.lists {
			d.lists[i].renumber(remap)
		}
	}
	if insert != "" {
		// The new id sorts before existing ones: shift the later docs up by one slot.
		pos := sort.Search(len(x.docs), func(i int) bool { return x.docs[i].id > insert })
		shift := make([]uint32, len(x.docs))
		for i := range shift {
			shift[i] = uint32(i)
			if i >= pos {
				shift[i]++
			}
		}
		for _, d := range []*dict{&x.text, &x.filters} {
			for i := range d.lists {
				d.lists[i].renumber(shift)
			}
		}
		x.docs = slices.Insert(x.docs, pos, doc{id: insert})
		for i := pos; i < len(x.docs); i++ {
			x.byID[x.docs[i].id] = uint32(i)
		}
	}
}

// renumber maps each doc number through remap (MaxUint32: dropped) and restores the order.
func (p *postings) renumber(remap []uint32) {
	j := 0
	for i, d := range p.docs {
		if nd := remap[d]; nd != math.MaxUint32 {
			p.docs[j] = nd
			if p.wtf != nil {
				p.wtf[j] = p.wtf[i]
			}
			j++
		}
	}
	p.docs = p.docs[:j]
	if p.wtf != nil {
		p.wtf = p.wtf[:j]
	}
	// Remapping preserves order (both maps are monotonic over live docs).
}
