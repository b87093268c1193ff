package avt_test

import (
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
)

var (
	decimalSyntax = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.([0-9]+))?$`)
	unitsSyntax   = regexp.MustCompile(`^[0-9]+$`)
)

// refParse is Parse written the slow, obvious way: the expected error code ("" when accepted) and
// the base units.
func refParse(s string) (string, *big.Int) {
	m := decimalSyntax.FindStringSubmatch(s)
	if m == nil {
		return avt.CodeInvalidAmount, nil
	}
	frac := m[3]
	if len(frac) > avt.Decimals {
		return avt.CodeAmountTooPrecise, nil
	}
	units, _ := new(big.Int).SetString(m[1]+frac+strings.Repeat("0", avt.Decimals-len(frac)), 10)
	if units.Cmp(bigMax) > 0 {
		return avt.CodeAmountOutOfRange, nil
	}
	return "", units
}

// refParseFixed is ParseFixed written the slow, obvious way.
func refParseFixed(s string) (string, *big.Int) {
	if !unitsSyntax.MatchString(s) {
		return avt.CodeInvalidAmount, nil
	}
	units, _ := new(big.Int).SetString(s, 10)
	if units.Cmp(bigMax) > 0 {
		return avt.CodeAmountOutOfRange, nil
	}
	return "", units
}

// fuzzSeeds are the edge cases the corpus starts from.
var fuzzSeeds = []string{
	"", "0", "0.0", "0.5", ".5", "1.", ".", "1", "1.0", "1.50", "100.5", "007", "00.5", "01", "-1", "+1",
	"1e18", "1E-18", " 1", "1 ", "1_000", "0x1f", "NaN", "Infinity", "１", "1\n", "\"1\"",
	"0.000000000000000001", "0.0000000000000000001", "1.000000000000000000", "1.0000000000000000000",
	"18.446744073709551615", "18.446744073709551616", "18446744073709551616",
	"340282366920938463463.374607431768211455", "340282366920938463463.374607431768211456",
	"340282366920938463463.37460743176821145", "340282366920938463464", "999999999999999999999",
	"1000000000000000000000", "99999999999999999999.999999999999999999",
	"340282366920938463463374607431768211455", "340282366920938463463374607431768211456",
	"000000000000000000000000000000000000001", strings.Repeat("9", 60),
}

// FuzzParse checks Parse (and ParseFixed, on the same input) against slow reference parsers, and
// every accepted amount for canonical formatting, round trips and the order of its Fixed form.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	refs := []avt.Amount{{}, avt.FromUnits(1), avt.AVT(1), avt.MustParse("18.446744073709551616"), avt.Max}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := avt.Parse(s)
		wantCode, wantUnits := refParse(s)
		if got := apperr.CodeOf(err); got != wantCode {
			t.Fatalf("Parse(%q) error %v, want code %q", s, err, wantCode)
		}
		if err != nil {
			e, _ := apperr.As(err)
			if e.Kind != apperr.Invalid || e.Details[avt.FieldDetail] != "amount" {
				t.Fatalf("Parse(%q) error %+v lacks kind Invalid or field detail", s, e)
			}
			if !a.IsZero() {
				t.Fatalf("Parse(%q) failed but returned %v", s, a)
			}
		} else {
			checkAccepted(t, s, a, wantUnits, refs)
		}

		// The same bytes through the JSON and text decoders give the same answer.
		var viaJSON avt.Amount
		if jerr := viaJSON.UnmarshalJSON([]byte(`"` + s + `"`)); apperr.CodeOf(jerr) != wantCode || viaJSON != a {
			t.Fatalf("UnmarshalJSON(%q) = %v, %v; Parse gave %v, %v", s, viaJSON, jerr, a, err)
		}

		// ParseFixed against its own reference.
		fa, ferr := avt.ParseFixed(s)
		fCode, fUnits := refParseFixed(s)
		if got := apperr.CodeOf(ferr); got != fCode {
			t.Fatalf("ParseFixed(%q) error %v, want code %q", s, ferr, fCode)
		}
		if ferr == nil && fa.Big().Cmp(fUnits) != 0 {
			t.Fatalf("ParseFixed(%q) = %v units, want %v", s, fa.Big(), fUnits)
		}
	})
}

func checkAccepted(t *testing.T, s string, a avt.Amount, wantUnits *big.Int, refs []avt.Amount) {
	t.Helper()
	if a.Big().Cmp(wantUnits) != 0 {
		t.Fatalf("Parse(%q) = %v units, want %v", s, a.Big(), wantUnits)
	}
	canonical := s
	if strings.Contains(canonical, ".") {
		canonical = strings.TrimSuffix(strings.TrimRight(canonical, "0"), ".")
	}
	if got := a.String(); got != canonical {
		t.Fatalf("Parse(%q).String() = %q, want %q", s, got, canonical)
	}
	if back, err := avt.Parse(a.String()); err != nil || back != a {
		t.Fatalf("Parse(String()) of %q = %v, %v", s, back, err)
	}
	fixed := a.Fixed()
	if back, err := avt.ParseFixed(fixed); err != nil || back != a || len(fixed) != avt.FixedWidth {
		t.Fatalf("ParseFixed(Fixed()) of %q = %v, %v (fixed %q)", s, back, err, fixed)
	}
	others := append([]avt.Amount(nil), refs...)
	if up, ok := a.Add(avt.FromUnits(1)); ok {
		others = append(others, up)
	}
	if down, ok := a.Sub(avt.FromUnits(1)); ok {
		others = append(others, down)
	}
	for _, b := range others {
		if got, want := strings.Compare(fixed, b.Fixed()), a.Cmp(b); got != want {
			t.Fatalf("Fixed order of %v vs %v = %d, Cmp = %d", a, b, got, want)
		}
	}
}
