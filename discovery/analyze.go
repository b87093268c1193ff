package discovery

import (
	"strings"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
)

// The analysis shared by the index and the queries (and the stores' full-text columns): a text
// is cut into tokens (Tokenize: letters and digits, lower-cased, diacritics removed), a
// camelCase identifier also gives its parts ("textToSql" → "texttosql", "text", "sql"; kebab
// and snake case are split by Tokenize already), English stop words and the scaffolding of
// requests ("please find me…") are dropped, and each word is reduced to its Snowball English
// stem ("forecasts" → "forecast"). A term is the stem; the word it came from (its surface form)
// is kept for typo tolerance and suggestions.

// stopWords are dropped from cards and queries alike: English function words and the words
// requests are made of ("can you help me find someone who…"), which say nothing about what a
// card does.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all also am an and any anyone anything are as at
		be because been before being below between both but by can could did do does doing done down during each else etc
		few for from further get gets getting give go going got had has have having he her here hers him his how i id if
		im in into is isnt it its itself ive just let lets like may me might mine more most much must my myself need needs
		no nor not now of off on once only or other our ours out over own per please really same shall she should so some
		someone something than thank thanks that the their theirs them then there these they this those through to too
		under until up us very via want wanted wants was we were what whats when where which while who whom whose why
		will with would yes you your yours yourself find help helps looking show tell go goes going make
		s t d ll re ve m`) {
		m[w] = true
	}
	return m
}()

// IsStopWord reports whether a lower-case token is dropped by the analysis.
func IsStopWord(tok string) bool { return stopWords[tok] }

// Stem is the Snowball English stem of a lower-case token; tokens with digits and very short
// ones are kept as they are.
func Stem(tok string) string {
	if len(tok) < 3 {
		return tok
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c >= '0' && c <= '9' || c >= utf8.RuneSelf {
			return tok
		}
	}
	return english.Stem(tok, true)
}

// eachWord calls fn with each word of s: the tokens of Tokenize, then the parts of each token
// written in camelCase (see camelWords).
func eachWord(s string, fn func(word string)) {
	for _, tok := range Tokenize(s) {
		fn(tok)
	}
	for _, p := range camelWords(s) {
		fn(p)
	}
}

// camelWords returns the lower-cased parts of each run of ASCII letters and digits in s that
// is written in camelCase ("use textToSql" → "text", "to", "sql"); nil when there is none (the
// common case, found without allocating).
func camelWords(s string) []string {
	camel := false
	for i := 1; i < len(s); i++ {
		if c, p := s[i], s[i-1]; c >= 'A' && c <= 'Z' && (p >= 'a' && p <= 'z' || p >= '0' && p <= '9') {
			camel = true
			break
		}
	}
	if !camel {
		return nil
	}
	var out []string
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isASCIIAlnum(s[j]) {
			j++
		}
		if j == i {
			i++
			continue
		}
		if parts := camelParts(s[i:j]); len(parts) > 1 {
			for _, p := range parts {
				out = append(out, strings.ToLower(p))
			}
		}
		i = j
	}
	return out
}

// hasDigit reports whether s holds an ASCII digit.
func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// camelParts splits an ASCII identifier at each lower-case letter or digit followed by an
// upper-case one, and before the last capital of a run of capitals followed by a lower-case
// letter ("parseHTTPRequest" → "parse", "HTTP", "Request").
func camelParts(s string) []string {
	var parts []string
	start := 0
	for i := 1; i < len(s); i++ {
		prev, c := s[i-1], s[i]
		upper := c >= 'A' && c <= 'Z'
		lowerPrev := prev >= 'a' && prev <= 'z' || prev >= '0' && prev <= '9'
		acronymEnd := prev >= 'A' && prev <= 'Z' && upper && i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
		if upper && lowerPrev || acronymEnd {
			parts = append(parts, s[start:i])
			start = i
		}
	}
	return append(parts, s[start:])
}

// Word is one analyzed word: the token as written (lower-cased) and its term (the stem).
type Word struct {
	Surface string
	Term    string
}

// Analyze returns the words of s that are not stop words, in order, with their terms.
func Analyze(s string) []Word {
	var out []Word
	eachWord(s, func(w string) {
		if !stopWords[w] {
			out = append(out, Word{Surface: w, Term: Stem(w)})
		}
	})
	return out
}

// AnalyzedText is the analyzed form of s stored in a full-text column: its terms joined by
// single spaces. Both stores' tokenizers split it exactly at the spaces.
func AnalyzedText(s ...string) string {
	var b strings.Builder
	for _, x := range s {
		for _, w := range Analyze(x) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w.Term)
		}
	}
	return b.String()
}
