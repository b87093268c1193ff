package discovery

import "strconv"

// Explain lists how the index reads a query, for people tuning it: each word as written, then
// "=" and the number of terms it may match (0: unknown to every card).
func (x *Index) Explain(text string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	q := Query{Text: text, Limit: 1}
	p, _ := x.prepare(&q)
	words, _ := queryWords(text)
	n := make([]int, len(words))
	for _, a := range p.alts {
		n[a.clause]++
	}
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = w.Surface + "=" + strconv.Itoa(n[i])
	}
	return out
}
