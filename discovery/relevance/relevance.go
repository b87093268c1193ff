// Package relevance is discovery's relevance benchmark: a corpus of hand-written agent cards
// across many domains, queries written the way people and agents ask (sentences, synonyms,
// jargon, typos, unfinished words, queries that should find nothing) with graded judgments made
// by reading the cards, and the measures of a ranking against them (nDCG@10, recall@10, MRR,
// the zero-result rate and how often "nothing" is answered correctly).
//
// The corpus and judgments live in data/ and were written before the ranking was tuned.
package relevance

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

//go:embed data/cards.txt
var cardsText []byte

//go:embed data/queries.txt
var queriesText []byte

// Card is one card of the corpus.
type Card struct {
	// Key names the card in the judgments ("wx01").
	Key         string
	Name        string
	Description string
	Skills      []Skill
	Tags        []string
}

// Skill is one skill of a corpus card.
type Skill struct {
	ID, Name, Description string
}

// JSON is the card as an A2A v1.0 agent card; i numbers its endpoint.
func (c *Card) JSON(i int) []byte {
	var skills []map[string]any
	for _, s := range c.Skills {
		skills = append(skills, map[string]any{"id": s.ID, "name": s.Name, "description": s.Description, "tags": c.Tags})
	}
	b, _ := json.Marshal(map[string]any{
		"name": c.Name, "description": c.Description, "version": "1.0.0",
		"supportedInterfaces": []map[string]any{{"url": fmt.Sprintf("https://agents.example.com/a2a/%s-%d", c.Key, i), "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
		"provider":            map[string]any{"organization": "Example Org", "url": "https://example.com"},
		"capabilities":        map[string]any{"streaming": i%2 == 0},
		"defaultInputModes":   []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
		"skills": skills,
	})
	return b
}

// Query is one query and its judgments: the grade (1–3) of each card key; a card not listed is
// not relevant (0). A query without judgments should find nothing.
type Query struct {
	Text   string
	Grades map[string]int
}

// Corpus is the benchmark's cards and queries.
type Corpus struct {
	Cards   []Card
	Queries []Query
}

// Load parses the embedded corpus.
func Load() (*Corpus, error) {
	c := &Corpus{}
	keys := map[string]bool{}
	names := map[string]bool{}
	err := eachLine(cardsText, func(n int, line string) error {
		f := strings.Split(line, "|")
		if len(f) != 5 {
			return fmt.Errorf("cards.txt:%d: want 5 fields, have %d", n, len(f))
		}
		card := Card{Key: strings.TrimSpace(f[0]), Name: strings.TrimSpace(f[1]), Description: strings.TrimSpace(f[2])}
		if keys[card.Key] || names[card.Name] {
			return fmt.Errorf("cards.txt:%d: key %q or name %q used twice", n, card.Key, card.Name)
		}
		keys[card.Key], names[card.Name] = true, true
		for _, s := range strings.Split(f[3], ";") {
			id, rest, ok := strings.Cut(s, "=")
			name, desc, ok2 := strings.Cut(rest, ":")
			if !ok || !ok2 {
				return fmt.Errorf("cards.txt:%d: skill %q is not id=Name: description", n, s)
			}
			card.Skills = append(card.Skills, Skill{ID: strings.TrimSpace(id), Name: strings.TrimSpace(name), Description: strings.TrimSpace(desc)})
		}
		for _, t := range strings.Split(f[4], ",") {
			card.Tags = append(card.Tags, strings.TrimSpace(t))
		}
		c.Cards = append(c.Cards, card)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachLine(queriesText, func(n int, line string) error {
		text, judged, _ := strings.Cut(line, "|")
		q := Query{Text: strings.TrimSpace(text), Grades: map[string]int{}}
		for _, j := range strings.Fields(judged) {
			g, key, ok := strings.Cut(j, ":")
			grade, err := strconv.Atoi(g)
			if !ok || err != nil || grade < 1 || grade > 3 || !keys[key] {
				return fmt.Errorf("queries.txt:%d: judgment %q is not grade(1-3):card-key", n, j)
			}
			q.Grades[key] = grade
		}
		c.Queries = append(c.Queries, q)
		return nil
	})
	return c, err
}

// eachLine calls fn with each line of b that is neither blank nor a comment.
func eachLine(b []byte, fn func(n int, line string) error) error {
	s := bufio.NewScanner(bytes.NewReader(b))
	s.Buffer(nil, 1<<20)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	return s.Err()
}

// Relevant is the lowest grade counted as relevant by recall and MRR.
const Relevant = 2

// Cutoff is the rank cut of nDCG and recall.
const Cutoff = 10

// Scores are the measures of a run over the corpus's queries.
type Scores struct {
	// NDCG is the mean nDCG@10 (gains 2^grade-1) over the queries with judgments.
	NDCG float64
	// Recall is the mean share of a query's relevant cards (grade ≥ 2) in its top 10.
	Recall float64
	// MRR is the mean reciprocal rank of the first relevant card (0 when none is returned).
	MRR float64
	// ZeroResults is the share of queries with judgments that returned nothing.
	ZeroResults float64
	// NonePrecision is the share of queries without judgments that returned nothing.
	NonePrecision float64
	// Judged and None count the two kinds of queries.
	Judged, None int
}

// String is the benchmark's summary line.
func (s Scores) String() string {
	return fmt.Sprintf("ndcg@10=%.3f recall@10=%.3f mrr=%.3f zero_results=%.3f none_precision=%.3f", s.NDCG, s.Recall, s.MRR, s.ZeroResults, s.NonePrecision)
}

// QueryScore is the measures of one query.
type QueryScore struct {
	NDCG, Recall, RR float64
	Hits             int
}

// ScoreQuery measures the ranked card keys a query returned.
func ScoreQuery(q *Query, ranked []string) QueryScore {
	qs := QueryScore{Hits: len(ranked)}
	if len(q.Grades) == 0 {
		return qs
	}
	dcg, found, relevant := 0.0, 0, 0
	for i, k := range ranked {
		g := q.Grades[k]
		if i < Cutoff {
			dcg += gain(g, i)
			if g >= Relevant {
				found++
			}
		}
		if g >= Relevant && qs.RR == 0 {
			qs.RR = 1 / float64(i+1)
		}
	}
	var ideal []int
	for _, g := range q.Grades {
		ideal = append(ideal, g)
		if g >= Relevant {
			relevant++
		}
	}
	sortDesc(ideal)
	idcg := 0.0
	for i := 0; i < len(ideal) && i < Cutoff; i++ {
		idcg += gain(ideal[i], i)
	}
	qs.NDCG = dcg / idcg
	if relevant > 0 {
		qs.Recall = float64(found) / float64(min(relevant, Cutoff))
	} else {
		qs.Recall = 1
	}
	return qs
}

func gain(grade, rank int) float64 {
	return (math.Pow(2, float64(grade)) - 1) / math.Log2(float64(rank)+2)
}

func sortDesc(v []int) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] > v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// Evaluate runs every query through search (which returns the ranked card keys) and averages
// the measures.
func (c *Corpus) Evaluate(search func(text string) ([]string, error)) (Scores, error) {
	var s Scores
	zero, empty := 0, 0
	for i := range c.Queries {
		q := &c.Queries[i]
		ranked, err := search(q.Text)
		if err != nil {
			return s, fmt.Errorf("query %q: %w", q.Text, err)
		}
		if len(q.Grades) == 0 {
			s.None++
			if len(ranked) == 0 {
				empty++
			}
			continue
		}
		s.Judged++
		qs := ScoreQuery(q, ranked)
		s.NDCG += qs.NDCG
		s.Recall += qs.Recall
		s.MRR += qs.RR
		if qs.Hits == 0 {
			zero++
		}
	}
	if s.Judged > 0 {
		n := float64(s.Judged)
		s.NDCG, s.Recall, s.MRR, s.ZeroResults = s.NDCG/n, s.Recall/n, s.MRR/n, float64(zero)/n
	}
	if s.None > 0 {
		s.NonePrecision = float64(empty) / float64(s.None)
	}
	return s, nil
}
