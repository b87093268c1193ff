// Package discovery finds agent cards: the query model shared by every search path, the
// tokenizer that makes the stores' full-text indexes agree, and Index, the in-memory
// BM25 index that answers discovery queries over a million cards within the latency budget.
//
// The stores keep their own full-text indexes (SQLite FTS5, PostgreSQL tsvector) over the same
// pre-tokenized text, so a store answers the same query with the same matches; Index ranks with
// the formula of SQLite FTS5's bm25 so its order is the one FTS5 would give, at a fraction of the
// cost (FTS5 scores every match; Index keeps a bounded heap over compact posting lists).
package discovery

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits of the tokenizer.
const (
	// MaxTokenRunes is the longest token kept; longer runs of letters are cut.
	MaxTokenRunes = 64
	// MaxQueryTokens is the number of distinct query tokens used; the rest are ignored.
	MaxQueryTokens = 16
)

// Tokenize splits s into lowercase tokens of letters and digits, with diacritics removed
// ("Café-Bot v2" → ["cafe", "bot", "v2"]). Everything else separates tokens, so no input can
// carry query syntax into a store's full-text engine.
func Tokenize(s string) []string {
	var out []string
	var b strings.Builder
	n := 0
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
		n = 0
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		// Invalid UTF-8 separates tokens (and must not stop normalization of what follows).
		s = norm.NFKD.String(strings.ToValidUTF8(s, " "))
	}
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9'):
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r >= utf8.RuneSelf && unicode.Is(unicode.Mn, r):
			continue // a combining mark: the diacritic of the previous letter
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			r = unicode.ToLower(r)
		default:
			flush()
			continue
		}
		if n < MaxTokenRunes {
			b.WriteRune(r)
			n++
		}
	}
	flush()
	return out
}

// SearchText is the pre-tokenized form of s stored in a full-text column: its tokens joined by
// single spaces. Both stores' tokenizers split it exactly at the spaces.
func SearchText(s ...string) string {
	var toks []string
	for _, x := range s {
		toks = append(toks, Tokenize(x)...)
	}
	return strings.Join(toks, " ")
}

// QueryTokens returns the words of a query string that are not stop words, as written
// (lower-cased), distinct by term, in order, at most MaxQueryTokens: what identifies a query
// (its cursor, its cache key). Empty means the text asks nothing a card could match.
func QueryTokens(q string) []string {
	words, _ := queryWords(q)
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = w.Surface
	}
	return out
}

// QueryTerms returns the distinct terms of a query string, in order, at most MaxQueryTokens:
// what the stores' full-text columns hold (see AnalyzedText).
func QueryTerms(q string) []string {
	words, _ := queryWords(q)
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = w.Term
	}
	return out
}
