package discovery

import (
	"testing"

	"pgregory.net/rapid"
)

// TestBoundProperty: a block bound covers every doc added to it, for any idf and average
// length, and while its docs' best pairs have always fitted in boundPairs it is their best
// score exactly.
func TestBoundProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := emptyBound
		type doc struct {
			wtf uint16
			l   uint32
		}
		var docs []doc
		// frontOf counts the docs no other doc beats in both frequency and length (distinct pairs).
		frontOf := func(docs []doc) int {
			n := 0
			for i, d := range docs {
				beaten := false
				for j, e := range docs {
					if (e.wtf >= d.wtf && e.l <= d.l) && (e != d || j < i) {
						beaten = true
						break
					}
				}
				if !beaten {
					n++
				}
			}
			return n
		}
		// maxFront is the largest front while the docs were added: once it passed boundPairs,
		// the bound merged two pairs, which a later doc beating them does not undo.
		maxFront := 0
		for range rapid.IntRange(1, 40).Draw(t, "docs") {
			d := doc{wtf: uint16(rapid.IntRange(1, 12).Draw(t, "wtf")), l: uint32(rapid.IntRange(1, 80).Draw(t, "len"))}
			docs = append(docs, d)
			b.add(d.wtf, d.l)
			maxFront = max(maxFront, frontOf(docs))
			if b.n == 0 || b.n > boundPairs {
				t.Fatalf("%d pairs", b.n)
			}
			for i := 1; i < int(b.n); i++ {
				if b.wtf[i] <= b.wtf[i-1] || b.len[i] <= b.len[i-1] {
					t.Fatalf("pairs not a frontier: %v %v", b.wtf[:b.n], b.len[:b.n])
				}
			}
		}
		idf := rapid.Float64Range(1e-6, 14).Draw(t, "idf")
		avgdl := rapid.Float64Range(1, 60).Draw(t, "avgdl")
		ub := termBound(idf, &b, avgdl)
		best := 0.0
		for _, d := range docs {
			s := termScore(idf, float64(d.wtf), float64(d.l), avgdl)
			if s > ub {
				t.Fatalf("doc (%d, %d) scores %v above the bound %v", d.wtf, d.l, s, ub)
			}
			best = max(best, s)
		}
		if maxFront <= boundPairs && ub > best*(1+1e-9) {
			t.Fatalf("at most %d best pairs at any time, bound %v above the best score %v", maxFront, ub, best)
		}
	})
}

// TestSeekProperty: seek finds the first index ≥ from holding a doc ≥ n, in sparse and dense
// lists alike.
func TestSeekProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var docs []uint32
		d := uint32(rapid.IntRange(0, 3).Draw(t, "first"))
		dense := rapid.IntRange(1, 4).Draw(t, "gaps")
		for range rapid.IntRange(0, 60).Draw(t, "len") {
			docs = append(docs, d)
			d += uint32(rapid.IntRange(1, dense).Draw(t, "gap"))
		}
		from := rapid.IntRange(0, len(docs)).Draw(t, "from")
		n := uint32(rapid.IntRange(0, int(d)+2).Draw(t, "n"))
		want := from
		for want < len(docs) && docs[want] < n {
			want++
		}
		if got := seek(docs, from, n); got != want {
			t.Fatalf("seek(%v, %d, %d) = %d, want %d", docs, from, n, got, want)
		}
	})
}
