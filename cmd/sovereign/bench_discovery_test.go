package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/sovereign-stack/sovereign/agentcard"
)

func TestBenchDiscovery_SeedsQueriesAndReusesTheStore(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "b.db")
	last := regexp.MustCompile(`(?m)^queries/s=\d+ p50_ms=[\d.]+ p99_ms=[\d.]+ cards=300\n$`)
	for _, engine := range []string{"index", "store"} {
		out, err := run(t, context.Background(), "bench", "discovery", "--store", dsn, "--cards", "300", "--queries", "200", "--concurrency", "2", "--engine", engine)
		if err != nil || !last.MatchString(out) {
			t.Fatalf("engine %s: %v\n%s", engine, err, out)
		}
	}
	// The profiles of the query phase, and a digest of the results that does not change between
	// runs on the same store.
	dir := t.TempDir()
	digest := regexp.MustCompile(`results digest ([0-9a-f]{16})`)
	var digests []string
	for i := 0; i < 2; i++ {
		out, err := run(t, context.Background(), "bench", "discovery", "--store", dsn, "--cards", "300", "--queries", "200", "--concurrency", "2",
			"--cpuprofile", filepath.Join(dir, "cpu.prof"), "--trace", filepath.Join(dir, "run.trace"))
		m := digest.FindStringSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("%v\n%s", err, out)
		}
		digests = append(digests, m[1])
	}
	if digests[0] != digests[1] {
		t.Fatalf("digests differ between runs: %v", digests)
	}
	for _, f := range []string{"cpu.prof", "run.trace"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if out, err := run(t, context.Background(), "bench", "discovery", "--store", dsn, "--cards", "300", "--queries", "10", "--trace", filepath.Join(dir, "no", "such", "dir")); err == nil {
		t.Fatalf("an unwritable trace file accepted: %s", out)
	}
	for _, args := range [][]string{{"--cards", "0"}, {"--engine", "magic"}, {"--limit", "501"}} {
		if out, err := run(t, context.Background(), append([]string{"bench", "discovery", "--store", dsn}, args...)...); err == nil {
			t.Fatalf("%v accepted: %s", args, out)
		}
	}
}

func TestSyntheticCardsAreValidAndDeterministic(t *testing.T) {
	for i := 0; i < 500; i++ {
		a := syntheticCard(rand.New(rand.NewPCG(uint64(i), 7)), i)
		b := syntheticCard(rand.New(rand.NewPCG(uint64(i), 7)), i)
		if string(a) != string(b) {
			t.Fatalf("card %d differs between runs", i)
		}
		if _, err := agentcard.Parse(context.Background(), a, nil); err != nil {
			t.Fatalf("card %d: %v\n%s", i, err, a)
		}
	}
}

func TestBenchRelevance_PrintsTheMeasuresAndNeedsAnEmptyStore(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "r.db")
	last := regexp.MustCompile(`(?m)^ndcg@10=[\d.]+ recall@10=[\d.]+ mrr=[\d.]+ zero_results=[\d.]+ none_precision=[\d.]+\n$`)
	out, err := run(t, context.Background(), "bench", "relevance", "--store", dsn, "--verbose")
	if err != nil || !last.MatchString(out) || !regexp.MustCompile(`"convert euros to dollars" +ndcg=`).MatchString(out) {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := run(t, context.Background(), "bench", "relevance", "--store", dsn); err == nil {
		t.Fatalf("a store with cards accepted: %s", out)
	}
}
