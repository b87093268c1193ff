package discovery

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"

	"pgregory.net/rapid"
)

var words = []string{"weather", "forecast", "travel", "booking", "flight", "hotel", "code", "review",
	"translate", "french", "image", "resize", "summarize", "legal", "contract", "tax"}

func genDoc(t *rapid.T, id string) *Doc {
	ws := func(label string, lo, hi int) []string {
		return rapid.SliceOfN(rapid.SampledFrom(words), lo, hi).Draw(t, label)
	}
	join := func(s []string) string {
		out := ""
		for _, w := range s {
			out += w + " "
		}
		return out
	}
	return &Doc{
		ID: id, OwnerID: rapid.SampledFrom([]string{"dev_a", "dev_b"}).Draw(t, "owner"),
		Name: join(ws("name", 1, 3)), Description: join(ws("desc", 0, 8)), SkillText: join(ws("skills", 0, 4)),
		Tags: ws("tags", 0, 3), Skills: ws("skillids", 0, 2), Capabilities: rapid.SliceOfN(rapid.SampledFrom([]string{"streaming", "push_notifications"}), 0, 2).Draw(t, "caps"),
		Status: rapid.SampledFrom(Statuses).Draw(t, "status"),
	}
}

// model is the obvious implementation: score every doc, filter, sort.
func model(docs map[string]*Doc, q *Query) []Hit {
	toks := QueryTokens(q.Text)
	n := len(docs)
	total := 0
	lengths := map[string]int{}
	freqs := map[string]map[string]float64{}
	df := map[string]int{}
	for id, d := range docs {
		f := map[string]float64{}
		l := 0
		for _, col := range []struct {
			s string
			w float64
		}{{d.Name, WeightName}, {d.Description, WeightDescription}, {d.SkillText, WeightSkills}, {SearchText(d.Tags...), WeightTags}} {
			for _, t := range Tokenize(col.s) {
				f[t] += col.w
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
		score := 0.0
		for _, t := range toks {
			f := freqs[id][t]
			if f == 0 {
				ok = false
				break
			}
			idf := math.Log((float64(n) - float64(df[t]) + 0.5) / (float64(df[t]) + 0.5))
			if idf <= 0 {
				idf = 1e-6
			}
			dl := 1 - bm25B + bm25B*float64(lengths[id])/(float64(total)/float64(n))
			score += idf * (f * (bm25K1 + 1)) / (f + bm25K1*dl)
		}
		if ok {
			hits = append(hits, Hit{ID: id, Score: score})
		}
	}
	sort.Slice(hits, func(a, b int) bool { return better(hits[a], hits[b]) })
	return hits
}

func TestIndexMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := NewIndex()
		docs := map[string]*Doc{}
		ops := rapid.IntRange(1, 60).Draw(t, "ops")
		trace := ""
		for i := 0; i < ops; i++ {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0: // remove
				for id := range docs {
					trace += " -" + id
					x.Remove(id)
					delete(docs, id)
					break
				}
			case 1: // an id older than the newest (replicated from elsewhere)
				id := fmt.Sprintf("agt_%03d", rapid.IntRange(0, 99).Draw(t, "old"))
				d := genDoc(t, id)
				trace += " +" + id
				x.Put(d)
				docs[id] = d
			default:
				id := fmt.Sprintf("agt_%03d", 100+i)
				if rapid.Bool().Draw(t, "update") && len(docs) > 0 {
					for k := range docs {
						id = k
						break
					}
				}
				d := genDoc(t, id)
				trace += " +" + id
				x.Put(d)
				docs[id] = d
			}
			if x.Len() != len(docs) {
				t.Fatalf("after op %d (%s): Len %d, want %d; byID %v", i, trace, x.Len(), len(docs), x.byID)
			}
		}
		if x.Len() != len(docs) {
			t.Fatalf("Len %d, want %d", x.Len(), len(docs))
		}
		q := Query{
			Text:     rapid.SampledFrom([]string{"", "weather", "Weather forecast", "code review", "tax", "hotel flight", "unknownword"}).Draw(t, "q"),
			Tags:     rapid.SliceOfN(rapid.SampledFrom(words), 0, 1).Draw(t, "qtags"),
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
		want := model(docs, &q)
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
			q.After = r.Next
		}
		if len(got) != len(want) {
			t.Fatalf("query %+v: got %d hits %v, want %d %v", q, len(got), got, len(want), want)
		}
		for i := range got {
			if got[i].ID != want[i].ID || math.Abs(got[i].Score-want[i].Score) > 1e-9 {
				t.Fatalf("hit %d: got %+v, want %+v (all got %v want %v)", i, got[i], want[i], got, want)
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
	if got := QueryTokens("a b a c"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("QueryTokens dedupe: %q", got)
	}
}

func FuzzTokenize(f *testing.F) {
	f.Add("Weather forecast for Zürich, 2026!")
	f.Fuzz(func(t *testing.T, s string) {
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
