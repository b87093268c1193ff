package discovery

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func TestAnalyze(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // terms
	}{
		{"What is the weather forecast for Paris?", []string{"weather", "forecast", "pari"}},
		{"convert euros to dollars", []string{"convert", "euro", "dollar"}},
		{"Can you help me find someone to translate documents", []string{"translat", "document"}},
		{"textToSql hotel_booking code-review", []string{"texttosql", "hotel", "book", "code", "review", "text", "sql"}},
		{"parseHTTPRequest", []string{"parsehttprequest", "pars", "http", "request"}},
		{"Café-Bot v2, what's new", []string{"cafe", "bot", "v2", "new"}},
		{"the of and", nil},
	} {
		var got []string
		for _, w := range Analyze(c.in) {
			got = append(got, w.Term)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Analyze(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := AnalyzedText("Flights", "the Hotels"); got != "flight hotel" {
		t.Errorf("AnalyzedText = %q", got)
	}
	if got := QueryTerms("Booking the hotels, booked"); !slices.Equal(got, []string{"book", "hotel"}) {
		t.Errorf("QueryTerms = %q", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		k    int
		want int
	}{
		{"forcast", "forecast", 1, 1}, {"tranlsate", "translate", 2, 1}, {"wether", "weather", 1, 1},
		{"kitten", "sitting", 3, 3}, {"kitten", "sitting", 2, 3}, {"abc", "abc", 0, 0}, {"", "ab", 2, 2},
		{"resturant", "restaurant", 2, 1}, {"flights", "fights", 1, 1}, {"hotel", "motels", 1, 2},
	} {
		if got := editDistance(c.a, c.b, c.k); got != c.want {
			t.Errorf("editDistance(%q, %q, %d) = %d, want %d", c.a, c.b, c.k, got, c.want)
		}
	}
	// Symmetric, zero only for equal words, and within the length difference and the longer length.
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.StringMatching(`[a-d]{0,10}`).Draw(t, "a")
		b := rapid.StringMatching(`[a-d]{0,10}`).Draw(t, "b")
		d := editDistance(a, b, 20)
		if d != editDistance(b, a, 20) || (d == 0) != (a == b) || d > max(len(a), len(b)) || d < abs(len(a)-len(b)) {
			t.Fatalf("editDistance(%q, %q) = %d", a, b, d)
		}
		for k := 0; k < d; k++ {
			if editDistance(a, b, k) != k+1 {
				t.Fatalf("editDistance(%q, %q, %d) does not report more than k", a, b, k)
			}
		}
	})
}

func abs(n int) int { return max(n, -n) }

func TestMaxTypos(t *testing.T) {
	for n, want := range map[int]int{1: 0, 4: 0, 5: 1, 8: 1, 9: 2, 20: 2} {
		if got := maxTypos(n); got != want {
			t.Errorf("maxTypos(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestTyposPrefixesSynonyms checks the query expansions on a small index: a misspelled word
// finds its card below the exact one and yields did_you_mean, the last word is completed, a
// domain synonym and a WordNet synonym match, and a query about nothing finds nothing.
func TestTyposPrefixesSynonyms(t *testing.T) {
	x := NewIndex()
	x.PutAll([]*Doc{
		{ID: "a1", Name: "Forecast Agent", Description: "Weather forecasts for any city", Tags: []string{"weather"}, Status: StatusActive},
		{ID: "a2", Name: "Currency Converter", Description: "Converts money at live exchange rates", Tags: []string{"currency"}, Status: StatusActive},
		{ID: "a3", Name: "Legal Advisor", Description: "Reviews contracts", Tags: []string{"legal"}, Status: StatusActive},
		{ID: "a4", Name: "Physician Finder", Description: "Books appointments", Tags: []string{"health"}, Status: StatusActive},
		{ID: "a5", Name: "Forcast Typo Agent", Description: "A card whose name is misspelled", Status: StatusActive},
	})
	search := func(text string) Result {
		q := Query{Text: text}
		if err := q.Normalize(); err != nil {
			t.Fatal(err)
		}
		return x.Search(&q)
	}
	ids := func(r Result) []string {
		var out []string
		for _, h := range r.Hits {
			out = append(out, h.ID)
			if h.Relevance < RelevanceFloor || h.Relevance > 100 {
				t.Fatalf("relevance %d out of range", h.Relevance)
			}
		}
		return out
	}
	// "wether" is in no card: read as "weather"; "forcast" is a5's word, so it is exact there
	// and not corrected.
	if r := search("wether forecast"); !slices.Equal(ids(r), []string{"a1"}) || r.DidYouMean != "weather forecast" {
		t.Fatalf("wether forecast: %v %q", ids(r), r.DidYouMean)
	}
	if r := search("forcast"); ids(r)[0] != "a5" || r.DidYouMean != "" {
		t.Fatalf("forcast: %v %q", ids(r), r.DidYouMean)
	}
	if r := search("weathr forecasts"); r.DidYouMean != "weather forecasts" || ids(r)[0] != "a1" {
		t.Fatalf("weathr: %v %q", ids(r), r.DidYouMean)
	}
	if r := search("ciyt"); len(r.Hits) != 0 || r.DidYouMean != "" {
		t.Fatalf("a word under 5 letters is not corrected: %v %q", ids(r), r.DidYouMean)
	}
	if r := search("curren"); !slices.Equal(ids(r), []string{"a2"}) {
		t.Fatalf("prefix: %v", ids(r))
	}
	if r := search("curren "); len(r.Hits) != 0 {
		t.Fatalf("a finished word is not a prefix: %v", ids(r))
	}
	if r := search("lawyer"); !slices.Equal(ids(r), []string{"a3"}) {
		t.Fatalf("domain synonym: %v", ids(r))
	}
	if r := search("doctor"); !slices.Equal(ids(r), []string{"a4"}) {
		t.Fatalf("synonym: %v", ids(r))
	}
	if r := search("FX"); !slices.Equal(ids(r), []string{"a2"}) {
		t.Fatalf("fx: %v", ids(r))
	}
	if r := search("medieval armour forecast"); len(r.Hits) != 0 {
		t.Fatalf("one word of three: %v", ids(r))
	}
	exact, typo := search("forecast").Hits[0], search("forecasx").Hits[0]
	if exact.ID != "a1" || typo.ID != "a1" || typo.Relevance >= exact.Relevance+1 && typo.Score >= exact.Score {
		t.Fatalf("a typo ranks below the exact word: %+v %+v", exact, typo)
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"What is the weather forecast for Paris?", "textToSql", "Café-Bot v2", "\xff\xfeabc", "parseHTTPRequest"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range Analyze(s) {
			if w.Term == "" || w.Surface == "" || IsStopWord(w.Surface) {
				t.Fatalf("Analyze(%q): bad word %+v", s, w)
			}
		}
		_ = AnalyzedText(s)
	})
}
