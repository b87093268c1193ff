package discovery

import (
	"slices"
	"strings"
)

// Typo tolerance and prefix search over the index's vocabulary (its surface words).

// maxTypos is the number of edits allowed in a word of n letters: none below 5, one from 5,
// two from 9.
func maxTypos(n int) int {
	switch {
	case n >= 9:
		return 2
	case n >= 5:
		return 1
	}
	return 0
}

// editDistance is the optimal-string-alignment distance of a and b (insertions, deletions,
// substitutions and transpositions of adjacent letters, each one edit), or k+1 when it is
// more than k.
func editDistance(a, b string, k int) int {
	if d := len(a) - len(b); d > k || -d > k {
		return k + 1
	}
	var rows [3][MaxTokenRunes + 1]int // words are at most MaxTokenRunes letters (bytes when ASCII)
	var prev2, prev, cur []int
	if len(b) <= MaxTokenRunes {
		prev2, prev, cur = rows[0][:len(b)+1], rows[1][:len(b)+1], rows[2][:len(b)+1]
	} else {
		prev2, prev, cur = make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > k {
			return k + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], k+1)
}

// typoCacheSize bounds the remembered typo lookups (the cache is emptied when full).
const typoCacheSize = 4096

// typoMatch is a vocabulary word within a query word's edit allowance.
type typoMatch struct {
	word string
	d    int
	df   int
}

// words returns the sorted vocabulary (rebuilt, and the typo cache emptied, when words were
// added). The caller holds the read lock.
func (x *Index) words() []string {
	x.vocabMu.Lock()
	defer x.vocabMu.Unlock()
	x.refreshVocab()
	return x.vocab
}

// refreshVocab rebuilds the sorted vocabulary when words were added. The caller holds vocabMu.
func (x *Index) refreshVocab() {
	if x.vocabDirty {
		clear(x.typoCache)
		v := x.vocab[:0]
		for w := range x.surface {
			if !hasDigit(w) {
				v = append(v, w)
			}
		}
		slices.Sort(v)
		x.vocab, x.vocabDirty = v, false
	}
}

// typoMatches returns the vocabulary words within word's allowance of k edits that some card
// holds, closest first, then most frequent, then in word order. The words and their distances
// are remembered until the vocabulary changes (it only grows); card counts are read afresh, so
// the answer depends on the index alone, as on every replica. The caller holds the read lock.
func (x *Index) typoMatches(word string, k int) []typoMatch {
	x.vocabMu.Lock()
	x.refreshVocab() // (empties the cache when words were added)
	near, ok := x.typoCache[word]
	if !ok {
		for _, v := range x.vocab {
			if d := editDistance(word, v, k); d <= k {
				near = append(near, typoMatch{word: v, d: d})
			}
		}
		if len(x.typoCache) >= typoCacheSize {
			clear(x.typoCache)
		}
		if x.typoCache == nil {
			x.typoCache = map[string][]typoMatch{}
		}
		x.typoCache[word] = near
	}
	x.vocabMu.Unlock()
	var cs []typoMatch
	for _, c := range near {
		if df := len(x.text.lists[x.surface[c.word]].docs); df > 0 {
			cs = append(cs, typoMatch{c.word, c.d, df})
		}
	}
	slices.SortFunc(cs, func(a, b typoMatch) int {
		if a.d != b.d {
			return a.d - b.d
		}
		if a.df != b.df {
			return b.df - a.df
		}
		return strings.Compare(a.word, b.word)
	})
	return cs
}

// typos adds to a query word's alternatives the vocabulary words within its edit allowance
// (at most maxExpansions: the closest, then the most frequent) and returns the best of them
// as the correction.
func (x *Index) typos(word string, add func(id uint32, w float64)) (string, bool) {
	k := maxTypos(len(word))
	if k == 0 || hasDigit(word) {
		return "", false
	}
	cs := x.typoMatches(word, k)
	if len(cs) == 0 {
		return "", false
	}
	for _, c := range cs[:min(len(cs), maxExpansions)] {
		w := weightTypo1
		if c.d > 1 {
			w = weightTypo2
		}
		add(x.surface[c.word], w)
	}
	return cs[0].word, true
}

// prefixes adds to the last query word's alternatives the vocabulary words it begins (three
// letters or more; at most maxExpansions, the most frequent).
func (x *Index) prefixes(word string, add func(id uint32, w float64)) {
	if len(word) < 3 || hasDigit(word) {
		return
	}
	v := x.words()
	i, _ := slices.BinarySearch(v, word)
	type cand struct {
		id uint32
		df int
	}
	var cs []cand
	for ; i < len(v) && strings.HasPrefix(v[i], word); i++ {
		if v[i] == word {
			continue
		}
		id := x.surface[v[i]]
		if df := len(x.text.lists[id].docs); df > 0 {
			cs = append(cs, cand{id, df})
		}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return b.df - a.df })
	for _, c := range cs[:min(len(cs), maxExpansions)] {
		add(c.id, weightPrefix)
	}
}
