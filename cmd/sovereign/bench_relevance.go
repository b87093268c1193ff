package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/discovery/relevance"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store"
)

func newBenchRelevance() *cobra.Command {
	var (
		dsn     string
		verbose bool
	)
	c := &cobra.Command{
		Use:   "relevance",
		Short: "Measure how well discovery ranks cards for natural-language queries",
		Long: `bench relevance publishes the relevance corpus (hand-written agent cards across 28
domains) into --store (default: a fresh SQLite file in a temporary directory; a given store must
hold no cards), loads the discovery index, asks every benchmark query through the card service
(a page of 10, as the API answers it) and compares the answers with the graded judgments.
--verbose prints each query's measures and top cards. It prints, last:
ndcg@10=… recall@10=… mrr=… zero_results=… none_precision=…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn, cleanup, err := benchDSN(dsn)
			if err != nil {
				return err
			}
			defer cleanup()
			return benchRelevance(cmd.Context(), cmd.OutOrStdout(), dsn, verbose)
		},
	}
	f := c.Flags()
	f.StringVar(&dsn, "store", "", "store DSN (sqlite://PATH or postgres://…) holding no cards; default a temporary SQLite file")
	f.BoolVar(&verbose, "verbose", false, "print each query's measures and top cards")
	return c
}

// relevanceRun is the corpus published in a card service: the key of each card id.
type relevanceRun struct {
	svc    *registry.Cards
	corpus *relevance.Corpus
	keys   map[string]string
}

// publishCorpus stores the relevance corpus in an empty store and loads the index.
func publishCorpus(ctx context.Context, db *store.DB) (*relevanceRun, error) {
	corpus, err := relevance.Load()
	if err != nil {
		return nil, err
	}
	st := registrysql.NewCards(db)
	if n, err := st.CountCards(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, fmt.Errorf("bench relevance: the store holds %d cards; give it an empty store", n)
	}
	owners, err := benchOwners(ctx, db, 1)
	if err != nil {
		return nil, err
	}
	r := &relevanceRun{svc: registry.NewCards(registry.CardsConfig{Store: st, Authz: policy.New(), Host: "bench.local"}),
		corpus: corpus, keys: map[string]string{}}
	var cards []*registry.AgentCard
	for i := range corpus.Cards {
		c, err := r.svc.NewCard(ctx, owners[0], registry.CardInput{JSON: corpus.Cards[i].JSON(i)})
		if err != nil {
			return nil, fmt.Errorf("corpus card %s: %w", corpus.Cards[i].Key, err)
		}
		r.keys[c.ID] = corpus.Cards[i].Key
		cards = append(cards, c)
	}
	if err := st.ImportCards(ctx, cards, "bench"); err != nil {
		return nil, err
	}
	if _, err := r.svc.Sync(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// search answers a query as the API would and returns the ranked card keys and scores.
func (r *relevanceRun) search(ctx context.Context, text string) ([]string, []int, error) {
	res, err := r.svc.Search(ctx, policy.Subject{}, discovery.Query{Text: text, Limit: relevance.Cutoff}, false)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]string, len(res.Cards))
	for i, c := range res.Cards {
		keys[i] = r.keys[c.ID]
	}
	return keys, res.Relevance, nil
}

func benchRelevance(ctx context.Context, out io.Writer, dsn string, verbose bool) error {
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	r, err := publishCorpus(ctx, db)
	if err != nil {
		return err
	}
	scores, err := r.corpus.Evaluate(func(text string) ([]string, error) {
		keys, sc, err := r.search(ctx, text)
		if err == nil && verbose {
			q := r.query(text)
			m := relevance.ScoreQuery(q, keys)
			var top []string
			for i, k := range keys {
				top = append(top, fmt.Sprintf("%s(%d)=%d", k, q.Grades[k], sc[i]))
			}
			fmt.Fprintf(out, "%-60q ndcg=%.2f recall=%.2f rr=%.2f  %s\n", text, m.NDCG, m.Recall, m.RR, strings.Join(top, " "))
		}
		return keys, err
	})
	if err != nil {
		return err
	}
	if scores.Judged == 0 {
		return errors.New("bench relevance: the corpus has no judged queries")
	}
	fmt.Fprintf(out, "%d cards, %d queries with judgments, %d that should find nothing\n", len(r.corpus.Cards), scores.Judged, scores.None)
	fmt.Fprintln(out, scores)
	return nil
}

// query is the corpus query with this text.
func (r *relevanceRun) query(text string) *relevance.Query {
	for i := range r.corpus.Queries {
		if r.corpus.Queries[i].Text == text {
			return &r.corpus.Queries[i]
		}
	}
	return &relevance.Query{}
}
