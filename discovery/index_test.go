package discovery

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

var words = []string{"weather", "forecast", "travel", "booking", "flight", "hotel", "code", "review",
	"translate", "french", "image", "resize", "summarize", "legal", "contract", "tax"}

// moreWords is a larger vocabulary: the words above, a few non-ASCII ones (the tokenizer's
// slow path) and rarer generated words.
var moreWords = func() []string {
	w := append(slices.Clone(words), "Café", "ÜBER", "東京", "naïve")
	for i := 0; i < 24; i++ {
		w = append(w, fmt.Sprintf("w%02d", i))
	}
	return w
}()

func genDoc(t *rapid.T, id string) *Doc {
	return genDocFrom(t, id, words)
}

// genDocFrom draws a card over the vocabulary vocab; most names hold "agent", a term so
// common that its idf is clamped, as in an agent registry.
func genDocFrom(t *rapid.T, id string, vocab []string) *Doc {
	ws := func(label string, lo, hi int) []string {
		return rapid.SliceOfN(rapid.SampledFrom(vocab), lo, hi).Draw(t, label)
	}
	join := func(s []string) string {
		out := ""
		for _, w := range s {
			out += w + " "
		}
		return out
	}
	name := join(ws("name", 1, 3))
	if rapid.IntRange(0, 4).Draw(t, "agent") > 0 {
		name += "Agent"
	}
	return &Doc{
		ID: id, OwnerID: rapid.SampledFrom([]string{"dev_a", "dev_b"}).Draw(t, "owner"),
		Name: name, Description: join(ws("desc", 0, 8)), SkillText: join(ws("skills", 0, 4)),
		Tags: ws("tags", 0, 3), Skills: ws("skillids", 0, 2), Capabilities: rapid.SliceOfN(rapid.SampledFrom([]string{"streaming", "push_notifications"}), 0, 2).Draw(t, "caps"),
		Status: rapid.SampledFrom(Statuses).Draw(t, "status"),
	}
}

// model is the obvious implementation: score every doc, filter, sort. It takes from the index
// only how the query's words expand (the alternatives of each word: the word, close, prefixed
// and related words, and their weights); frequencies, lengths, idf, the bounds a hit must pass
// and the order are its own.
func model(x *Index, docs map[string]*Doc, q *Query) []Hit {
	type modelAlt struct {
		term   string
		w      float64
		clause int
	}
	x.mu.RLock()
	p, planned := x.prepare(q)
	names := map[*postings]string{}
	for i := range x.text.lists {
		names[&x.text.lists[i]] = x.text.names[i]
	}
	var alts []modelAlt
	for _, a := range p.alts {
		alts = append(alts, modelAlt{names[a.list], a.w, a.clause})
	}
	x.mu.RUnlock()
	words, _ := queryWords(q.Text)
	n := len(docs)
	total := 0
	lengths := map[string]int{}
	freqs := map[string]map[string]float64{}
	df := map[string]int{}
	for id, d := range docs {
		f := map[string]float64{}
		l := 0
		cols := []struct {
			s string
			w float64
		}{{d.Name, WeightName}, {d.Description, WeightDescription}, {d.SkillText, WeightSkills}}
		for _, tag := range d.Tags {
			cols = append(cols, struct {
				s string
				w float64
			}{tag, WeightTags})
		}
		for _, col := range cols {
			for _, w := range Analyze(col.s) {
				f[w.Term] += col.w
				l++
			}
		}
		for t := range f {
			df[t]++
		}
		lengths[id] = l
		total += l
		freqs[id] = f
	}
	avgdl := 1.0
	if n > 0 {
		avgdl = float64(total) / float64(n)
	}
	idf := func(t string) float64 { return bm25IDF(n, df[t]) }
	// The best possible score, the floor and the bonus of the query.
	maxScore, known, bestWord := 0.0, 0, 0.0
	for c := range words {
		best := 0.0
		for _, a := range alts {
			if a.clause == c {
				best = max(best, a.w*idf(a.term)*(bm25K1+1))
			}
		}
		if best > 0 {
			known++
			maxScore += best
			bestWord = max(bestWord, best)
		}
	}
	maxScore += float64(len(words)-known) * unknownWeight * bestWord
	var hits []Hit
	for id, d := range docs {
		ok := slices.Contains(q.Statuses, d.Status) && (q.OwnerID == "" || q.OwnerID == d.OwnerID)
		for _, v := range q.Tags {
			ok = ok && slices.Contains(d.Tags, v)
		}
		for _, v := range q.Skills {
			ok = ok && slices.Contains(d.Skills, v)
		}
		for _, v := range q.Capabilities {
			ok = ok && slices.Contains(d.Capabilities, v)
		}
		if !ok {
			continue
		}
		if len(words) == 0 {
			hits = append(hits, Hit{ID: id})
			continue
		}
		if !planned {
			continue
		}
		best := make([]float64, len(words))
		dl := 1 - bm25B + bm25B*float64(lengths[id])/avgdl
		for _, a := range alts {
			if f := freqs[id][a.term]; f > 0 {
				best[a.clause] = max(best[a.clause], a.w*(idf(a.term)*(f*(bm25K1+1))/(f+bm25K1*dl)))
			}
		}
		score, matched := 0.0, 0
		for _, b := range best {
			if b > 0 {
				score += b
				matched++
			}
		}
		if matched == known && known >= 2 {
			score += allTermsBonus * maxScore
		}
		if matched < minShouldMatch(len(words)) || score < RelevanceFloor/100.0*maxScore {
			continue
		}
		hits = append(hits, Hit{ID: id, Score: score, Relevance: min(100, max(1, int(100*score/maxScore)))})
	}
	sort.Slice(hits, func(a, b int) bool { return better(hits[a], hits[b]) })
	return hits
}

// modelFacets counts the facet values over the model's matches of q.
func modelFacets(x *Index, docs map[string]*Doc, q *Query, fields []string) map[string][]FacetCount {
	counts := map[string]map[string]int{}
	for _, f := range fields {
		counts[f] = map[string]int{}
	}
	for _, h := range model(x, docs, q) {
		d := docs[h.ID]
		for f, vals := range map[string][]string{FacetTag: d.Tags, FacetSkill: d.Skills, FacetCapability: d.Capabilities, FacetStatus: {d.Status}} {
			if c, ok := counts[f]; ok {
				for _, v := range slices.Compact(slices.Sorted(slices.Values(vals))) {
					c[v]++
				}
			}
		}
	}
	out := map[string][]FacetCount{}
	for f, c := range counts {
		list := []FacetCount{}
		for v, n := range c {
			list = append(list, FacetCount{v, n})
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

// TestIndexMatchesModel checks the index against the model over random sequences of puts
// (new, older than the newest, updates), batches in any order with repeated ids, and removals,
// with block sizes and the compaction threshold shrunk so that score bounds, pruning (ties
// included) and renumbering all happen on small indexes; then several queries, every page, and
// their facets.
func TestIndexMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := NewIndex()
		x.tune = tuning{blockPostings: rapid.IntRange(1, 8).Draw(t, "blockPostings"), compactDead: rapid.IntRange(0, 8).Draw(t, "compactDead"),
			filterScan: rapid.SampledFrom([]int{-1, 3, 1000}).Draw(t, "filterScan")}
		vocab := words
		if rapid.Bool().Draw(t, "moreWords") {
			vocab = moreWords
		}
		docs := map[string]*Doc{}
		ops := rapid.IntRange(1, 150).Draw(t, "ops")
		trace := ""
		anyID := func() (string, bool) {
			if len(docs) == 0 {
				return "", false
			}
			ids := slices.Sorted(maps.Keys(docs))
			return ids[rapid.IntRange(0, len(ids)-1).Draw(t, "pick")], true
		}
		for i := 0; i < ops; i++ {
			switch rapid.IntRange(0, 11).Draw(t, "op") {
			case 0: // remove
				if id, ok := anyID(); ok {
					trace += " -" + id
					x.Remove(id)
					delete(docs, id)
				}
			case 1: // remove an unknown card
				x.Remove("agt_none")
			case 2: // an id older than the newest (replicated from elsewhere)
				id := fmt.Sprintf("agt_%03d", rapid.IntRange(0, 99).Draw(t, "old"))
				d := genDocFrom(t, id, vocab)
				trace += " +" + id
				x.Put(d)
				docs[id] = d
			case 3, 4: // a batch: new, old and existing ids in any order, maybe repeated
				var batch []*Doc
				for j := rapid.IntRange(1, 8).Draw(t, "batch"); j > 0; j-- {
					var id string
					switch rapid.IntRange(0, 2).Draw(t, "batchID") {
					case 0:
						id = fmt.Sprintf("agt_%03d", rapid.IntRange(0, 299).Draw(t, "anyid"))
					case 1:
						id = fmt.Sprintf("agt_%03d", 300+i*8+j)
					default:
						if k, ok := anyID(); ok {
							id = k
						} else {
							id = "agt_000"
						}
					}
					d := genDocFrom(t, id, vocab)
					batch = append(batch, d)
					trace += " *" + id
				}
				x.PutAll(batch)
				for _, d := range batch {
					docs[d.ID] = d
				}
			default:
				id := fmt.Sprintf("agt_%03d", 100+i)
				if rapid.Bool().Draw(t, "update") {
					if k, ok := anyID(); ok {
						id = k
					}
				}
				d := genDocFrom(t, id, vocab)
				trace += " +" + id
				x.Put(d)
				docs[id] = d
			}
			if x.Len() != len(docs) {
				t.Fatalf("after op %d (%s): Len %d, want %d", i, trace, x.Len(), len(docs))
			}
		}
		texts := []string{"", "weather", "Weather forecast", "code review", "tax", "hotel flight", "unknownword", "agent", "agent tax", "AGENT weather forecast",
			"wether forcast", "the weather and flights", "trans", "hotel fli", "codeReview tax-contract", "lawyer", "translate french legal contract review agent"}
		if len(vocab) > len(words) {
			texts = append(texts, "café", "über agent", "w03", "w01 w02", "東京 agent")
		}
		for range rapid.IntRange(1, 4).Draw(t, "queries") {
			q := Query{
				Text:     rapid.SampledFrom(texts).Draw(t, "q"),
				Tags:     rapid.SliceOfN(rapid.SampledFrom(vocab), 0, 1).Draw(t, "qtags"),
				Skills:   rapid.SliceOfN(rapid.SampledFrom(vocab), 0, 1).Draw(t, "qskills"),
				Statuses: rapid.SliceOfN(rapid.SampledFrom(Statuses), 0, 2).Draw(t, "qstatus"),
				OwnerID:  rapid.SampledFrom([]string{"", "dev_a"}).Draw(t, "qowner"),
				Limit:    rapid.IntRange(1, 7).Draw(t, "limit"),
			}
			if rapid.Bool().Draw(t, "cap") {
				q.Capabilities = []string{"streaming"}
			}
			if err := q.Normalize(); err != nil {
				t.Fatal(err)
			}
			want := model(x, docs, &q)
			fields := []string{FacetTag, FacetSkill, FacetCapability, FacetStatus}
			wantFacets := modelFacets(x, docs, &q, fields)
			if got := x.Facets(&q, fields); !reflect.DeepEqual(got, wantFacets) {
				t.Fatalf("facets of %+v: got %v, want %v", q, got, wantFacets)
			}
			var got []Hit
			for pages := 0; ; pages++ {
				r := x.Search(&q)
				got = append(got, r.Hits...)
				if r.Next == nil {
					break
				}
				if len(r.Hits) != q.Limit {
					t.Fatalf("a page with a next cursor has %d hits, want %d", len(r.Hits), q.Limit)
				}
				if last := r.Hits[len(r.Hits)-1]; r.Next.ID != last.ID {
					t.Fatalf("next %+v is not the last hit %+v", r.Next, last)
				}
				q.After = r.Next
			}
			if len(got) != len(want) {
				t.Fatalf("query %+v (%s): got %d hits %v, want %d %v", q, trace, len(got), got, len(want), want)
			}
			for i := range got {
				if got[i].ID != want[i].ID || math.Abs(got[i].Score-want[i].Score) > 1e-9 || got[i].Relevance != want[i].Relevance {
					t.Fatalf("hit %d: got %+v, want %+v (all got %v want %v)", i, got[i], want[i], got, want)
				}
				if i > 0 && !before(q.Text != "", got[i-1].Score, got[i-1].ID, &Position{Score: got[i].Score, ID: got[i].ID}) {
					t.Fatalf("hits %d and %d out of order: %+v %+v", i-1, i, got[i-1], got[i])
				}
			}
		}
	})
}

func TestFacets(t *testing.T) {
	x := NewIndex()
	x.Put(&Doc{ID: "a1", Name: "weather", Tags: []string{"weather", "geo"}, Status: StatusActive})
	x.Put(&Doc{ID: "a2", Name: "weather radar", Tags: []string{"weather"}, Capabilities: []string{"streaming"}, Status: StatusActive})
	x.Put(&Doc{ID: "a3", Name: "tax", Tags: []string{"finance"}, Status: StatusActive})
	q := Query{Text: "weather"}
	if err := q.Normalize(); err != nil {
		t.Fatal(err)
	}
	f := x.Facets(&q, []string{FacetTag, FacetCapability})
	want := []FacetCount{{"weather", 2}, {"geo", 1}}
	if !slices.Equal(f[FacetTag], want) {
		t.Fatalf("tags %v, want %v", f[FacetTag], want)
	}
	if !slices.Equal(f[FacetCapability], []FacetCount{{"streaming", 1}}) {
		t.Fatalf("capabilities %v", f[FacetCapability])
	}
}

func TestTokenize(t *testing.T) {
	for in, want := range map[string][]string{
		"Café-Bot v2":              {"cafe", "bot", "v2"},
		`"NEAR" * ' -- OR ( ) ^ :`: {"near", "or"},
		"":                         nil,
		"ÜBER straße 東京":           {"uber", "straße", "東京"},
		"a\u0301b":                 {"ab"},
	} {
		if got := Tokenize(in); !slices.Equal(got, want) {
			t.Errorf("Tokenize(%q) = %q, want %q", in, got, want)
		}
	}
	if got := QueryTokens("x b x c the"); !slices.Equal(got, []string{"x", "b", "c"}) {
		t.Errorf("QueryTokens dedupe: %q", got)
	}
}

// tokensOf collects the tokens of the index's tokenizer (eachToken).
func tokensOf(s string) []string {
	var out []string
	eachToken(nil, s, func(tok []byte) { out = append(out, string(tok)) })
	return out
}

func TestEachTokenMatchesTokenize(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(rapid.String(), rapid.StringMatching(`[ -~]{0,200}`)).Draw(t, "s")
		if got, want := tokensOf(s), Tokenize(s); !slices.Equal(got, want) {
			t.Fatalf("eachToken(%q) = %q, Tokenize = %q", s, got, want)
		}
		// The tags column: each tag's tokens in turn are those of the joined tags.
		tags := rapid.SliceOf(rapid.OneOf(rapid.String(), rapid.SampledFrom(moreWords))).Draw(t, "tags")
		var got []string
		for _, tag := range tags {
			got = append(got, tokensOf(tag)...)
		}
		if want := Tokenize(strings.Join(tags, " ")); !slices.Equal(got, want) {
			t.Fatalf("tags %q: %q, want %q", tags, got, want)
		}
	})
}

func FuzzTokenize(f *testing.F) {
	f.Add("Weather forecast for Zürich, 2026!")
	f.Add("x" + strings.Repeat("LONG", 40) + " a-b_c")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := tokensOf(s), Tokenize(s); !slices.Equal(got, want) {
			t.Fatalf("eachToken(%q) = %q, Tokenize = %q", s, got, want)
		}
		for _, tok := range Tokenize(s) {
			if tok == "" {
				t.Fatal("empty token")
			}
			if got := Tokenize(tok); len(got) != 1 || got[0] != tok {
				t.Fatalf("token %q does not tokenize to itself: %q", tok, got)
			}
		}
	})
}

// TestConcurrent runs queries and facet counts while cards change (for the race detector).
func TestConcurrent(t *testing.T) {
	x := NewIndex()
	x.tune.blockPostings, x.tune.compactDead = 2, 4
	qs := synthetic(x, 2000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 500; i++ {
			id := fmt.Sprintf("agt_%09d", (i*7919)%3000)
			if i%3 == 0 {
				x.Remove(id)
			} else {
				x.Put(&Doc{ID: id, Name: "g0 agent", Description: "d0w0 d0w1", Tags: []string{"d0w1"}, Status: StatusActive})
			}
		}
	}()
	for i := 0; ; i++ {
		select {
		case <-done:
			return
		default:
		}
		x.Search(&qs[i%len(qs)])
		if i%10 == 0 {
			x.Facets(&qs[i%len(qs)], []string{FacetTag, FacetStatus})
		}
	}
}

func TestTokenizeInvalidUTF8(t *testing.T) {
	if got := Tokenize("\xf0ǯ"); len(got) != 1 || got[0] != "ʒ" {
		t.Fatalf("Tokenize(invalid + ǯ) = %q, want [ʒ]", got)
	}
}

// before reports whether a hit at (score, id) sorts before p in the result order.
func before(ranked bool, score float64, id string, p *Position) bool {
	if ranked && score != p.Score {
		return score > p.Score
	}
	return id < p.ID
}

// TestLongDocScore checks the score of a card longer than a posting's 16-bit length (read from
// the index's lengths instead) against the BM25 of its true length.
func TestLongDocScore(t *testing.T) {
	x := NewIndex()
	long := strings.Repeat("filler ", 70000) + "weather"
	x.PutAll([]*Doc{{ID: "agt_1", Name: "weather", Status: StatusActive}, {ID: "agt_2", Description: long, Status: StatusActive},
		{ID: "agt_3", Description: "forecast", Status: StatusActive}})
	q := Query{Text: "weather"}
	if err := q.Normalize(); err != nil {
		t.Fatal(err)
	}
	r := x.Search(&q)
	if len(r.Hits) != 2 || r.Hits[0].ID != "agt_1" {
		t.Fatalf("hits %+v", r.Hits)
	}
	avgdl := float64(x.totalLen) / float64(x.live)
	idf := bm25IDF(x.live, 2)
	for _, h := range r.Hits {
		n, _ := x.find(h.ID)
		wtf := map[string]float64{"agt_1": WeightName, "agt_2": WeightDescription}[h.ID]
		if want := termScore(idf, wtf, float64(x.lens[n]), avgdl); h.Score != want {
			t.Fatalf("%s (length %d): score %v, want %v", h.ID, x.lens[n], h.Score, want)
		}
	}
}

// TestWordInEveryCard checks against the model the queries with a word every card holds (the
// list of every slot, looked up by doc number rather than searched), over cards without
// removals, with small blocks so that lists are often non-essential.
func TestWordInEveryCard(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := NewIndex()
		x.tune.blockPostings = rapid.IntRange(1, 8).Draw(t, "blockPostings")
		docs := map[string]*Doc{}
		for i := range rapid.IntRange(1, 120).Draw(t, "n") {
			d := genDoc(t, fmt.Sprintf("agt_%03d", i))
			d.Name += " agent"
			x.Put(d)
			docs[d.ID] = d
		}
		q := Query{Text: rapid.SampledFrom([]string{"agent weather", "agent tax contract", "weather forecast agent",
			"which agent can review code and translate french", "hotel agent flight booking travel"}).Draw(t, "q"),
			Limit: rapid.IntRange(1, 7).Draw(t, "limit")}
		if err := q.Normalize(); err != nil {
			t.Fatal(err)
		}
		want := model(x, docs, &q)
		var got []Hit
		for {
			r := x.Search(&q)
			got = append(got, r.Hits...)
			if r.Next == nil {
				break
			}
			q.After = r.Next
		}
		if len(got) != len(want) {
			t.Fatalf("got %d hits %v, want %d %v", len(got), got, len(want), want)
		}
		for i := range got {
			if got[i].ID != want[i].ID || math.Abs(got[i].Score-want[i].Score) > 1e-9 || got[i].Relevance != want[i].Relevance {
				t.Fatalf("hit %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}
