package relevance

import (
	"math"
	"testing"
)

func TestCorpusIsLargeAndConsistent(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Cards) < 300 {
		t.Fatalf("%d cards, want ≥ 300", len(c.Cards))
	}
	domains := map[string]bool{}
	for _, card := range c.Cards {
		domains[card.Key[:2]] = true
		if len(card.Skills) == 0 || len(card.Tags) == 0 || card.Description == "" {
			t.Fatalf("card %s is incomplete", card.Key)
		}
	}
	if len(domains) < 25 {
		t.Fatalf("%d domains, want ≥ 25", len(domains))
	}
	judged, none := 0, 0
	for _, q := range c.Queries {
		if len(q.Grades) == 0 {
			none++
			continue
		}
		judged++
		top := 0
		for _, g := range q.Grades {
			top = max(top, g)
		}
		if top < Relevant {
			t.Fatalf("query %q has no relevant card", q.Text)
		}
	}
	if judged < 100 || none < 10 {
		t.Fatalf("%d judged queries and %d that should find nothing, want ≥ 100 and ≥ 10", judged, none)
	}
}

func TestScoreQuery(t *testing.T) {
	q := &Query{Text: "x", Grades: map[string]int{"a": 3, "b": 2, "c": 1}}
	perfect := ScoreQuery(q, []string{"a", "b", "c"})
	if math.Abs(perfect.NDCG-1) > 1e-12 || perfect.Recall != 1 || perfect.RR != 1 {
		t.Fatalf("perfect ranking: %+v", perfect)
	}
	late := ScoreQuery(q, []string{"x", "y", "b"})
	if late.RR != 1.0/3 || late.Recall != 0.5 || late.NDCG <= 0 || late.NDCG >= 1 {
		t.Fatalf("late ranking: %+v", late)
	}
	if s := ScoreQuery(q, nil); s.NDCG != 0 || s.Recall != 0 || s.RR != 0 || s.Hits != 0 {
		t.Fatalf("no hits: %+v", s)
	}
}

func TestEvaluate(t *testing.T) {
	c := &Corpus{Queries: []Query{
		{Text: "good", Grades: map[string]int{"a": 3}},
		{Text: "empty", Grades: map[string]int{"a": 3}},
		{Text: "nothing"},
		{Text: "noise"},
	}}
	s, err := c.Evaluate(func(text string) ([]string, error) {
		switch text {
		case "good":
			return []string{"a"}, nil
		case "noise":
			return []string{"z"}, nil
		}
		return nil, nil
	})
	if err != nil || s.Judged != 2 || s.None != 2 || s.NDCG != 0.5 || s.Recall != 0.5 || s.MRR != 0.5 || s.ZeroResults != 0.5 || s.NonePrecision != 0.5 {
		t.Fatalf("%+v %v", s, err)
	}
	if s.String() != "ndcg@10=0.500 recall@10=0.500 mrr=0.500 zero_results=0.500 none_precision=0.500" {
		t.Fatal(s.String())
	}
}
