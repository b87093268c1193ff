// Command thesaurus compiles discovery's thesaurus table from WordNet (Debian's wordnet-base
// package: apt-get install wordnet-base):
//
//	go run ./tools/thesaurus -wordnet /usr/share/wordnet -out discovery/thesaurus.txt
//
// For each common single word of WordNet's nouns, verbs and adjectives (a word tagged at least
// once in WordNet's sense-tagged corpus), the table lists the other single words of its most
// frequent sense (synset), all reduced to discovery's terms (Snowball English stems, stop words
// dropped), at most six a word. The table starts with WordNet's licence, which must stay with it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/discovery"
)

const maxRelated = 6

func main() {
	dir := flag.String("wordnet", "/usr/share/wordnet", "WordNet dictionary directory (index.* and data.* files)")
	out := flag.String("out", "discovery/thesaurus.txt", "table to write")
	licence := flag.String("licence", "/usr/share/doc/wordnet-base/copyright", "WordNet's licence text")
	flag.Parse()
	related := map[string][]string{}
	for _, pos := range []string{"noun", "verb", "adj"} {
		if err := compile(*dir, pos, related); err != nil {
			log.Fatal(err)
		}
	}
	lic, err := os.ReadFile(*licence)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "# discovery's thesaurus: a term, then the terms of its most frequent WordNet sense.")
	fmt.Fprintln(w, "# Compiled by tools/thesaurus from WordNet 3.0 (Debian wordnet-base), under this licence:")
	for _, line := range strings.Split(strings.TrimRight(string(lic), "\n"), "\n") {
		fmt.Fprintln(w, "#", line)
	}
	keys := mapsKeys(related)
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintln(w, k, strings.Join(related[k], " "))
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func mapsKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// term is the discovery term of a WordNet lemma, "" for a lemma of several words, with other
// than letters, or a stop word.
func term(lemma string) string {
	if i := strings.IndexByte(lemma, '('); i >= 0 { // adjective markers: "big(a)"
		lemma = lemma[:i]
	}
	lemma = strings.ToLower(lemma)
	for _, c := range lemma {
		if c < 'a' || c > 'z' {
			return ""
		}
	}
	if len(lemma) < 3 || discovery.IsStopWord(lemma) {
		return ""
	}
	return discovery.Stem(lemma)
}

// compile adds the related terms of one part of speech's common words.
func compile(dir, pos string, related map[string][]string) error {
	synsets, err := readData(filepath.Join(dir, "data."+pos))
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(dir, "index."+pos))
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, " ") {
			continue
		}
		fs := strings.Fields(line)
		// lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
		if len(fs) < 6 {
			continue
		}
		t := term(fs[0])
		if t == "" {
			continue
		}
		pcnt, err := strconv.Atoi(fs[3])
		if err != nil || len(fs) < 4+pcnt+3 {
			continue
		}
		tagged, err := strconv.Atoi(fs[4+pcnt+1])
		if err != nil || tagged == 0 {
			continue
		}
		first := fs[4+pcnt+2]
		for _, other := range synsets[first] {
			if other != t && !slices.Contains(related[t], other) && len(related[t]) < maxRelated {
				related[t] = append(related[t], other)
			}
		}
	}
	return s.Err()
}

// readData returns the terms of each synset of a data file, by offset.
func readData(path string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]string{}
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, " ") {
			continue
		}
		fs := strings.Fields(line)
		// offset lex_filenum ss_type w_cnt(hex) word lex_id ...
		if len(fs) < 4 {
			continue
		}
		n, err := strconv.ParseInt(fs[3], 16, 32)
		if err != nil {
			continue
		}
		var terms []string
		for i := 0; i < int(n) && 4+2*i < len(fs); i++ {
			if t := term(fs[4+2*i]); t != "" && !slices.Contains(terms, t) {
				terms = append(terms, t)
			}
		}
		out[fs[0]] = terms
	}
	return out, s.Err()
}
