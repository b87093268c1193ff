package discovery

import (
	"fmt"
	"math/rand"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// synthetic fills x with n cards over a vocabulary of 60 domains of 25 words and 300 generic
// words with skewed frequencies, and returns queries of one or two words, filters, and
// sentences of ten words (four of them stop words).
func synthetic(x *Index, n int) []Query {
	qs, _ := syntheticTimed(x, n)
	return qs
}

// syntheticTimed is synthetic that also returns the time spent in PutAll (the rest is making
// the cards).
func syntheticTimed(x *Index, n int) ([]Query, time.Duration) {
	var putTime time.Duration
	putAll := func(ds []*Doc) {
		t0 := time.Now()
		x.PutAll(ds)
		putTime += time.Since(t0)
	}
	r := rand.New(rand.NewSource(1))
	zipf := func(n int) int { f := r.Float64(); return int(float64(n)*f*f*f) % n }
	// (strconv rather than fmt: making the cards should not dominate the build time)
	word := func(d, i int) string { return "d" + strconv.Itoa(d) + "w" + strconv.Itoa(i) }
	batch := make([]*Doc, 0, 10000)
	for i := 0; i < n; i++ {
		d := zipf(60)
		var desc []string
		for j := 0; j < 10+r.Intn(20); j++ {
			if r.Intn(2) == 0 {
				desc = append(desc, word(d, zipf(25)))
			} else {
				desc = append(desc, "g"+strconv.Itoa(zipf(300)))
			}
		}
		var tags, skills []string
		for j := 0; j < 2+r.Intn(4); j++ {
			tags = append(tags, word(d, r.Intn(25)))
		}
		for j := 0; j < 1+r.Intn(4); j++ {
			skills = append(skills, word(d, r.Intn(25)))
		}
		batch = append(batch, &Doc{ID: "agt_" + pad9(i), OwnerID: "dev_" + strconv.Itoa(r.Intn(5000)),
			Name: word(d, r.Intn(25)) + " agent", Description: strings.Join(desc, " "), SkillText: strings.Join(skills, " "),
			Tags: tags, Skills: skills, Capabilities: []string{"streaming"}, Status: StatusActive})
		if len(batch) == cap(batch) {
			putAll(batch)
			batch = batch[:0]
		}
	}
	putAll(batch)
	var qs []Query
	for i := 0; i < 1000; i++ {
		d := zipf(60)
		var q Query
		switch i % len(queryKinds) {
		case 0:
			q.Text = word(d, zipf(25))
		case 1:
			q.Text = word(d, zipf(25)) + " " + word(d, zipf(25))
		case 2:
			q.Tags = []string{word(d, r.Intn(25))}
		case 3:
			q.Text = fmt.Sprintf("g%d", zipf(300))
			q.Skills = []string{word(d, r.Intn(25))}
		default:
			q.Text = fmt.Sprintf("can you find an agent for %s and %s with g%d g%d", word(d, zipf(25)), word(d, zipf(25)), zipf(300), zipf(300))
		}
		_ = q.Normalize()
		q.Limit = 20
		qs = append(qs, q)
	}
	return qs, putTime
}

// queryKinds names the kinds of query synthetic returns (by index modulo 5).
var queryKinds = [5]string{"one word", "two words", "tag filter", "word+skill", "sentence"}

func TestSyntheticMillion(t *testing.T) {
	if testing.Short() || !testing.Verbose() {
		t.Skip("measurement: run with -v -run SyntheticMillion")
	}
	x := NewIndex()
	t0 := time.Now()
	qs, putTime := syntheticTimed(x, 1_000_000)
	t.Logf("indexed %d in %v (PutAll %v, the rest making the cards)", x.Len(), time.Since(t0), putTime)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap after build: HeapAlloc %d MiB", ms.HeapAlloc>>20)

	// Single-threaded latency, twice over the mix (the first pass warms caches).
	var lat []time.Duration
	var byKind [len(queryKinds)][]time.Duration
	for pass := 0; pass < 2; pass++ {
		lat = lat[:0]
		for k := range byKind {
			byKind[k] = byKind[k][:0]
		}
		for i := range qs {
			s := time.Now()
			x.Search(&qs[i])
			d := time.Since(s)
			lat = append(lat, d)
			byKind[i%len(queryKinds)] = append(byKind[i%len(queryKinds)], d)
		}
	}
	t.Logf("all:        %s", latencies(lat))
	for k, l := range byKind {
		t.Logf("%-11s %s", queryKinds[k]+":", latencies(l))
	}

	// Throughput with two goroutines over the mix.
	const passes = 3
	var wg sync.WaitGroup
	t0 = time.Now()
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for p := 0; p < passes; p++ {
				for i := g; i < len(qs); i += 2 {
					x.Search(&qs[i])
				}
			}
		}(g)
	}
	wg.Wait()
	el := time.Since(t0)
	t.Logf("2 goroutines: %d queries in %v, %.0f queries/s", passes*len(qs), el, float64(passes*len(qs))/el.Seconds())

	// Facets over the same mix (every match counted).
	lat = lat[:0]
	for i := range qs {
		s := time.Now()
		x.Facets(&qs[i], []string{FacetTag, FacetCapability, FacetStatus})
		lat = append(lat, time.Since(s))
	}
	t.Logf("facets:     %s", latencies(lat))
}

// latencies summarizes a sample of durations: p50, p99, max and mean.
func latencies(lat []time.Duration) string {
	if len(lat) == 0 {
		return "no samples"
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return fmt.Sprintf("n %d p50 %v p99 %v max %v mean %v", len(s), s[len(s)/2], s[len(s)*99/100], s[len(s)-1], sum/time.Duration(len(s)))
}

// pad9 is i in decimal, zero-padded to 9 digits.
func pad9(i int) string {
	s := strconv.Itoa(i)
	return strings.Repeat("0", max(0, 9-len(s))) + s
}

// BenchmarkSearch runs the synthetic query mix, and each kind of query alone, on a 100k-card
// synthetic index.
func BenchmarkSearch(b *testing.B) {
	x := NewIndex()
	qs := synthetic(x, 100_000)
	b.Run("mix", func(b *testing.B) {
		i := 0
		for b.Loop() {
			x.Search(&qs[i%len(qs)])
			i++
		}
	})
	for k, name := range queryKinds {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			i := k
			for b.Loop() {
				x.Search(&qs[i%len(qs)])
				i += len(queryKinds)
			}
		})
	}
	b.Run("facets", func(b *testing.B) {
		i := 0
		for b.Loop() {
			x.Facets(&qs[i%len(qs)], []string{FacetTag, FacetCapability, FacetStatus})
			i++
		}
	})
}

// BenchmarkPutAll indexes 100k synthetic cards (making the cards included).
func BenchmarkPutAll(b *testing.B) {
	for b.Loop() {
		synthetic(NewIndex(), 100_000)
	}
}
