package federation_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/federation"
)

// BenchmarkFanout_TenPeersOneHungBreakerOpen: the cost of a live query once the hung peer's
// breaker is open (the other nine answer from memory): the fan-out's own overhead.
func BenchmarkFanout_TenPeersOneHungBreakerOpen(b *testing.B) {
	var peers []string
	for i := 0; i < 10; i++ {
		peers = append(peers, fmt.Sprintf("p%d.test", i))
	}
	f, c := newFanout(peers...)
	f.Deadline = 20 * time.Millisecond
	f.BreakerOpenFor = time.Hour
	for i, td := range peers {
		for j := 0; j < 20; j++ {
			c.hits[td] = append(c.hits[td], hit(td, fmt.Sprintf("agt_%d_%d", i, j), j*5))
		}
	}
	c.hang["p9.test"] = true
	q := federation.Query{Text: "x", Limit: 20, Hops: 1}
	for i := 0; i < federation.BreakerFailures; i++ {
		f.Query(context.Background(), q, nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := f.Query(context.Background(), q, nil)
		if len(res.Hits) != 20 {
			b.Fatal(len(res.Hits))
		}
	}
}
