package discovery

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"
)

// synthetic fills x with n cards over a vocabulary of 60 domains of 25 words and 300 generic
// words with skewed frequencies, and returns queries of one or two words.
func synthetic(x *Index, n int) []Query {
	r := rand.New(rand.NewSource(1))
	zipf := func(n int) int { f := r.Float64(); return int(float64(n)*f*f*f) % n }
	word := func(d, i int) string { return fmt.Sprintf("d%dw%d", d, i) }
	batch := make([]*Doc, 0, 10000)
	for i := 0; i < n; i++ {
		d := zipf(60)
		var desc []string
		for j := 0; j < 10+r.Intn(20); j++ {
			if r.Intn(2) == 0 {
				desc = append(desc, word(d, zipf(25)))
			} else {
				desc = append(desc, fmt.Sprintf("g%d", zipf(300)))
			}
		}
		var tags, skills []string
		for j := 0; j < 2+r.Intn(4); j++ {
			tags = append(tags, word(d, r.Intn(25)))
		}
		for j := 0; j < 1+r.Intn(4); j++ {
			skills = append(skills, word(d, r.Intn(25)))
		}
		batch = append(batch, &Doc{ID: fmt.Sprintf("agt_%09d", i), OwnerID: fmt.Sprintf("dev_%d", r.Intn(5000)),
			Name: word(d, r.Intn(25)) + " agent", Description: strings.Join(desc, " "), SkillText: strings.Join(skills, " "),
			Tags: tags, Skills: skills, Capabilities: []string{"streaming"}, Status: StatusActive})
		if len(batch) == cap(batch) {
			x.PutAll(batch)
			batch = batch[:0]
		}
	}
	x.PutAll(batch)
	var qs []Query
	for i := 0; i < 1000; i++ {
		d := zipf(60)
		var q Query
		switch i % 4 {
		case 0:
			q.Text = word(d, zipf(25))
		case 1:
			q.Text = word(d, zipf(25)) + " " + word(d, zipf(25))
		case 2:
			q.Tags = []string{word(d, r.Intn(25))}
		default:
			q.Text = fmt.Sprintf("g%d", zipf(300))
			q.Skills = []string{word(d, r.Intn(25))}
		}
		_ = q.Normalize()
		q.Limit = 20
		qs = append(qs, q)
	}
	return qs
}

func TestSyntheticMillion(t *testing.T) {
	if testing.Short() || !testing.Verbose() {
		t.Skip("measurement: run with -v -run SyntheticMillion")
	}
	x := NewIndex()
	t0 := time.Now()
	qs := synthetic(x, 1_000_000)
	t.Logf("indexed %d in %v", x.Len(), time.Since(t0))
	var lat []time.Duration
	for i := range qs {
		s := time.Now()
		x.Search(&qs[i])
		lat = append(lat, time.Since(s))
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	t.Logf("p50 %v p99 %v max %v", lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
}
