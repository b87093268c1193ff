package main

import (
	"bufio"
	"context"
	"encoding/gob"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
)

// TestBenchDiscoveryIndex is a measurement, not a test: the cards and the query mix of
// `bench discovery` on the index alone, without a store, in one goroutine locked to its
// thread, so that the CPU of each kind of query is the thread's own (counted by the kernel,
// whatever the machine's load). It prints the CPU a query of each kind and a digest of every
// page (ids, raw scores, relevances, cursor, did_you_mean): a change to the ranking that keeps
// the results keeps the digest.
//
//	BENCH_INDEX_CARDS=1000000 BENCH_INDEX_PROFILE=/tmp/idx.prof go test -v -run BenchDiscoveryIndex ./cmd/sovereign/
func TestBenchDiscoveryIndex(t *testing.T) {
	nCards, _ := strconv.Atoi(os.Getenv("BENCH_INDEX_CARDS"))
	if nCards == 0 || !testing.Verbose() {
		t.Skip("measurement: BENCH_INDEX_CARDS=n go test -v -run BenchDiscoveryIndex")
	}
	nQueries := 20000
	if v, err := strconv.Atoi(os.Getenv("BENCH_INDEX_QUERIES")); err == nil && v > 0 {
		nQueries = v
	}
	docs := benchIndexDocs(t, nCards)
	if t.Failed() {
		return
	}
	x := discovery.NewIndex()
	for i := 0; i < nCards; i += 10000 {
		x.PutAll(docs[i:min(i+10000, nCards)])
	}
	docs = nil
	runtime.GC()
	qs := benchQueries(nQueries, 20)
	for i := range qs {
		if err := qs[i].Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	if f := os.Getenv("BENCH_INDEX_PROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu := make([]time.Duration, len(benchQueryKinds))
	digest := fnv.New64a()
	t0 := threadCPU(t)
	for i := range qs {
		k := i % len(benchQueryKinds)
		var r discovery.Result
		pprof.Do(context.Background(), pprof.Labels("kind", benchQueryKinds[k]), func(context.Context) {
			s := threadCPU(t)
			r = x.Search(&qs[i])
			cpu[k] += threadCPU(t) - s
		})
		for _, h := range r.Hits {
			fmt.Fprintf(digest, "%s %x %d\n", h.ID, math.Float64bits(h.Score), h.Relevance)
		}
		if r.Next != nil {
			fmt.Fprintf(digest, "next %s %x\n", r.Next.ID, math.Float64bits(r.Next.Score))
		}
		fmt.Fprintf(digest, "%s|", r.DidYouMean)
	}
	all := threadCPU(t) - t0
	var kinds []string
	perKind := float64(nQueries) / float64(len(benchQueryKinds))
	for k, name := range benchQueryKinds {
		kinds = append(kinds, fmt.Sprintf("%s %.3f", name, float64(cpu[k].Microseconds())/1000/perKind))
	}
	t.Logf("%d cards, %d queries: index CPU a query %.3f ms; by kind (ms): %s; results digest %016x",
		nCards, nQueries, float64(all.Microseconds())/1000/float64(nQueries), strings.Join(kinds, ", "), digest.Sum64())
}

// benchIndexDocs returns the discovery docs of the first n synthetic cards of bench discovery,
// ids in card order; with BENCH_INDEX_DOCS set, they are kept in that file (gob) for the next run.
func benchIndexDocs(t *testing.T, nCards int) []*discovery.Doc {
	cache := os.Getenv("BENCH_INDEX_DOCS")
	if cache != "" {
		if f, err := os.Open(cache); err == nil {
			defer f.Close()
			var docs []*discovery.Doc
			if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&docs); err == nil && len(docs) >= nCards {
				return docs[:nCards]
			}
		}
	}
	svc := registry.NewCards(registry.CardsConfig{Authz: policy.New(), Host: "bench.local", NoIndex: true})
	docs := make([]*discovery.Doc, nCards)
	var wg sync.WaitGroup
	workers := runtime.NumCPU()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < nCards; i += workers {
				r := rand.New(rand.NewPCG(uint64(i), 7))
				c, err := svc.NewCard(context.Background(), fmt.Sprintf("dev_bench%05d", i%200), registry.CardInput{JSON: syntheticCard(r, i)})
				if err != nil {
					t.Error(err)
					return
				}
				d := c.Doc()
				d.ID = fmt.Sprintf("agt_%09d", i)
				docs[i] = d
			}
		}(w)
	}
	wg.Wait()
	if cache != "" && !t.Failed() {
		f, err := os.Create(cache)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		if err := gob.NewEncoder(w).Encode(docs); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	return docs
}

// threadCPU is the CPU time the calling thread has run (/proc/thread-self/schedstat).
func threadCPU(t *testing.T) time.Duration {
	b, err := os.ReadFile("/proc/thread-self/schedstat")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(ns)
}
