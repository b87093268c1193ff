package store

import (
	"fmt"
	"testing"
)

func TestParseLSN(t *testing.T) {
	for in, want := range map[string]uint64{"0/0": 0, "0/3026B90": 0x3026B90, "1/0": 1 << 32, "FFFFFFFF/FFFFFFFF": 1<<64 - 1} {
		if got, err := parseLSN(in); err != nil || got != want {
			t.Errorf("parseLSN(%q) = %x, %v; want %x", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "/1", "1/", "G/1", "1/1/1", "100000000/0", "-1/0"} {
		if _, err := parseLSN(in); err == nil {
			t.Errorf("parseLSN(%q) succeeded", in)
		}
	}
}

// FuzzParseLSN checks that parsing never panics and that what parses prints back the same.
func FuzzParseLSN(f *testing.F) {
	for _, s := range []string{"0/0", "16/B374D848", "x/y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseLSN(s)
		if err != nil {
			return
		}
		again, err := parseLSN(fmt.Sprintf("%X/%X", v>>32, v&0xFFFFFFFF))
		if err != nil || again != v {
			t.Fatalf("%q → %x → %x, %v", s, v, again, err)
		}
	})
}
