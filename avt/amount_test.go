package avt_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/holiman/uint256"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
)

// maxUnits is 2^128 − 1 as a decimal string of base units.
const maxUnits = "340282366920938463463374607431768211455"

func bigUnits(t testing.TB, s string) *big.Int {
	t.Helper()
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad test units %q", s)
	}
	return b
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := apperr.CodeOf(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func TestParse_AcceptsDecimalAVTAndNormalizes(t *testing.T) {
	tests := []struct {
		in, units, canonical string
	}{
		{"0", "0", "0"},
		{"0.0", "0", "0"},
		{"0.000000000000000000", "0", "0"},
		{"1", "1000000000000000000", "1"},
		{"1.0", "1000000000000000000", "1"},
		{"100.5", "100500000000000000000", "100.5"},
		{"100.50", "100500000000000000000", "100.5"},
		{"0.5", "500000000000000000", "0.5"},
		{"0.000000000000000001", "1", "0.000000000000000001"},
		{"0.001", "1000000000000000", "0.001"},
		{"10", "10000000000000000000", "10"},
		{"18446744073709551615", "18446744073709551615000000000000000000", "18446744073709551615"},
		{"123456789.123456789123456789", "123456789123456789123456789", "123456789.123456789123456789"},
		{"340282366920938463463.374607431768211455", maxUnits, "340282366920938463463.374607431768211455"},
		{"340282366920938463463", "340282366920938463463000000000000000000", "340282366920938463463"},
		{"99999999999999999999.999999999999999999", "99999999999999999999999999999999999999", "99999999999999999999.999999999999999999"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := avt.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got, want := a.Big(), bigUnits(t, tt.units); got.Cmp(want) != 0 {
				t.Errorf("units = %s, want %s", got, want)
			}
			if got := a.String(); got != tt.canonical {
				t.Errorf("String() = %q, want %q", got, tt.canonical)
			}
		})
	}
}

func TestParse_RejectsTextThatIsNotAPlainDecimal(t *testing.T) {
	for _, in := range []string{
		"", " ", "1 ", " 1", "1 000", "+1", "-1", "-0", "1e3", "1E3", "1.5e2", "0x10", "1_000", "1,5",
		".5", "1.", ".", "..", "1..2", "1.2.3", "007", "00", "00.5", "01", "01.5", "abc", "1a", "NaN",
		"Infinity", "１", "1\x00", "\"1\"", "1.-5", "1.+5", "1.5 ", "\t1",
		"0." + strings.Repeat("0", 30) + "x", // syntax is judged before precision
		"00" + strings.Repeat("9", 40),       // and before range
	} {
		t.Run(in, func(t *testing.T) {
			_, err := avt.Parse(in)
			wantCode(t, err, avt.CodeInvalidAmount)
		})
	}
}

func TestParse_RejectsMoreThan18FractionDigitsEvenZeros(t *testing.T) {
	for _, in := range []string{
		"0.0000000000000000001",
		"1.0000000000000000000",
		"0.0000000000000000000",
		"1.1234567890123456789",
		"999999999999999999999999.0000000000000000000", // precision is judged before range
	} {
		t.Run(in, func(t *testing.T) {
			_, err := avt.Parse(in)
			wantCode(t, err, avt.CodeAmountTooPrecise)
			e, _ := apperr.As(err)
			if e.Details["max_fraction_digits"] != avt.Decimals {
				t.Errorf("details = %v, want max_fraction_digits 18", e.Details)
			}
		})
	}
}

func TestParse_RejectsAmountsAboveMax(t *testing.T) {
	for _, in := range []string{
		"340282366920938463463.374607431768211456",
		"340282366920938463464",
		"999999999999999999999",
		"999999999999999999999.999999999999999999",
		"1000000000000000000000",
		"1" + strings.Repeat("0", 1000),
	} {
		t.Run(in[:min(len(in), 50)], func(t *testing.T) {
			_, err := avt.Parse(in)
			wantCode(t, err, avt.CodeAmountOutOfRange)
		})
	}
}

func TestParse_ErrorsAreInvalidWithFieldDetail(t *testing.T) {
	for in, sentinel := range map[string]*apperr.Error{
		"x":                        avt.ErrInvalidAmount,
		"0.0000000000000000001":    avt.ErrAmountTooPrecise,
		"999999999999999999999999": avt.ErrAmountOutOfRange,
	} {
		_, err := avt.Parse(in)
		e, ok := apperr.As(err)
		if !ok {
			t.Fatalf("Parse(%q) error %T is not *apperr.Error", in, err)
		}
		if e.Kind != apperr.Invalid {
			t.Errorf("Parse(%q) kind = %v, want Invalid", in, e.Kind)
		}
		if e.Details[avt.FieldDetail] != "amount" {
			t.Errorf("Parse(%q) details = %v, want field=amount", in, e.Details)
		}
		if !errors.Is(err, sentinel) {
			t.Errorf("Parse(%q): errors.Is(%v, %v) = false", in, err, sentinel)
		}
		if o := e.With(avt.FieldDetail, "fee"); o.Details[avt.FieldDetail] != "fee" || e.Details[avt.FieldDetail] != "amount" {
			t.Errorf("With did not override the field on a copy: %v / %v", o.Details, e.Details)
		}
	}
	if avt.ErrInvalidAmount.Details != nil {
		t.Errorf("sentinel was mutated: %v", avt.ErrInvalidAmount.Details)
	}
}

func TestMaxTextLen_IsTheLongestCanonicalText(t *testing.T) {
	for _, a := range []avt.Amount{avt.Max, avt.MustParse("999999999999999999999.999999999999999999"[1:])} {
		if s := a.String(); len(s) > avt.MaxTextLen {
			t.Errorf("len(%s) = %d > MaxTextLen %d", s, len(s), avt.MaxTextLen)
		}
	}
	if s := avt.Max.String(); len(s) != avt.MaxTextLen {
		t.Fatalf("len(Max.String()) = %d, want MaxTextLen %d", len(s), avt.MaxTextLen)
	}
}

func TestMustParse_PanicsOnBadInput(t *testing.T) {
	if got := avt.MustParse("2.5"); got != avt.MustParse("2.50") {
		t.Fatalf("MustParse mismatch: %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustParse(\"-1\") did not panic")
		}
	}()
	avt.MustParse("-1")
}

func TestAmount_ZeroValueIsZeroAVT(t *testing.T) {
	var z avt.Amount
	if !z.IsZero() || z.String() != "0" || z != avt.FromUnits(0) || z != avt.MustParse("0.000") {
		t.Fatalf("zero value = %q, IsZero %v", z, z.IsZero())
	}
	if avt.FromUnits(1).IsZero() || avt.Max.IsZero() {
		t.Fatal("non-zero amount reported zero")
	}
}

func TestAVT_IsWholeTokens(t *testing.T) {
	if avt.AVT(1) != avt.MustParse("1") || avt.AVT(1) != avt.FromUnits(1_000_000_000_000_000_000) {
		t.Fatalf("AVT(1) = %v", avt.AVT(1))
	}
	if got := avt.AVT(math.MaxUint64).String(); got != "18446744073709551615" {
		t.Fatalf("AVT(MaxUint64) = %s", got)
	}
	if got := avt.FromUnits(math.MaxUint64).String(); got != "18.446744073709551615" {
		t.Fatalf("FromUnits(MaxUint64) = %s", got)
	}
}

func TestMax_IsTwoToThe128MinusOneUnits(t *testing.T) {
	if got := avt.Max.Big().String(); got != maxUnits {
		t.Fatalf("Max = %s units", got)
	}
}

func TestFromBig_ChecksRange(t *testing.T) {
	tests := []struct {
		in   *big.Int
		code string
	}{
		{nil, avt.CodeInvalidAmount},
		{big.NewInt(-1), avt.CodeAmountOutOfRange},
		{new(big.Int).Lsh(big.NewInt(1), 128), avt.CodeAmountOutOfRange},
		{new(big.Int).Lsh(big.NewInt(1), 300), avt.CodeAmountOutOfRange},
		{big.NewInt(0), ""},
		{bigUnits(t, maxUnits), ""},
	}
	for _, tt := range tests {
		a, err := avt.FromBig(tt.in)
		wantCode(t, err, tt.code)
		if err == nil && a.Big().Cmp(tt.in) != 0 {
			t.Errorf("FromBig(%v).Big() = %v", tt.in, a.Big())
		}
	}
}

func TestBig_ReturnsAFreshValue(t *testing.T) {
	a := avt.AVT(5)
	b := a.Big()
	b.SetInt64(-7)
	if a != avt.AVT(5) {
		t.Fatal("mutating Big() changed the amount")
	}
}

func TestUnits_ChecksRange(t *testing.T) {
	if _, err := avt.Units(nil); apperr.CodeOf(err) != avt.CodeInvalidAmount {
		t.Errorf("Units(nil) = %v", err)
	}
	over := new(uint256.Int).Lsh(uint256.NewInt(1), 128)
	if _, err := avt.Units(over); apperr.CodeOf(err) != avt.CodeAmountOutOfRange {
		t.Errorf("Units(2^128) = %v", err)
	}
	top := uint256.MustFromDecimal(maxUnits)
	a, err := avt.Units(top)
	if err != nil || a != avt.Max {
		t.Fatalf("Units(max) = %v, %v", a, err)
	}
	u := a.Uint256()
	u.SetUint64(3)
	if a != avt.Max {
		t.Fatal("mutating Uint256() changed the amount")
	}
}

func TestAdd_ReportsOverflowPastMax(t *testing.T) {
	one := avt.FromUnits(1)
	if _, ok := avt.Max.Add(one); ok {
		t.Error("Max + 1 did not overflow")
	}
	if s, ok := avt.Max.Add(avt.Amount{}); !ok || s != avt.Max {
		t.Error("Max + 0 != Max")
	}
	// carry from the low word into the high word
	if s, ok := avt.FromUnits(math.MaxUint64).Add(one); !ok || s.Big().Cmp(new(big.Int).Lsh(big.NewInt(1), 64)) != 0 {
		t.Errorf("2^64-1 + 1 = %v, %v", s.Big(), ok)
	}
	if s, ok := avt.MustParse("0.1").Add(avt.MustParse("0.2")); !ok || s != avt.MustParse("0.3") {
		t.Errorf("0.1 + 0.2 = %v", s)
	}
}

func TestSub_ReportsUnderflow(t *testing.T) {
	if _, ok := avt.FromUnits(1).Sub(avt.FromUnits(2)); ok {
		t.Error("1 - 2 did not underflow")
	}
	if _, ok := avt.AVT(1).Sub(avt.Max); ok {
		t.Error("1 AVT - Max did not underflow")
	}
	if d, ok := avt.Max.Sub(avt.Max); !ok || !d.IsZero() {
		t.Error("Max - Max != 0")
	}
	// borrow from the high word
	if d, ok := avt.AVT(100).Sub(avt.FromUnits(1)); !ok || d.String() != "99.999999999999999999" {
		t.Errorf("100 AVT - 1 unit = %v", d)
	}
}

func TestCmp_OrdersByValue(t *testing.T) {
	ordered := []avt.Amount{
		{}, avt.FromUnits(1), avt.FromUnits(math.MaxUint64), avt.MustParse("18.446744073709551616"),
		avt.AVT(1000), avt.AVT(math.MaxUint64), avt.Max,
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Cmp(b); got != want {
				t.Errorf("Cmp(%v, %v) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestMulDiv_IsExactFloorAndChecked(t *testing.T) {
	tests := []struct {
		a         avt.Amount
		num, den  uint64
		want      string // units; "" means not ok
		wantFloor bool
	}{
		{avt.AVT(100), 10, 10_000, "100000000000000000", true},
		{avt.FromUnits(9), 4000, 10_000, "3", true},
		{avt.FromUnits(1), 1, 3, "0", true},
		{avt.Max, 10_000, 10_000, maxUnits, true},
		{avt.Max, 1, 2, "170141183460469231731687303715884105727", true},
		{avt.Max, math.MaxUint64, math.MaxUint64, maxUnits, true},
		{avt.Max, 2, 1, "", false},
		{avt.AVT(1), 1, 0, "", false},
		{avt.FromUnits(1), math.MaxUint64, 1, "18446744073709551615", false},
	}
	for _, tt := range tests {
		got, ok := tt.a.MulDiv(tt.num, tt.den)
		if ok != (tt.want != "") {
			t.Errorf("%v.MulDiv(%d, %d) ok = %v", tt.a, tt.num, tt.den, ok)
			continue
		}
		if ok && got.Big().String() != tt.want {
			t.Errorf("%v.MulDiv(%d, %d) = %s units, want %s", tt.a, tt.num, tt.den, got.Big(), tt.want)
		}
		if tt.wantFloor && ok && tt.a.MulDivFloor(tt.num, tt.den) != got {
			t.Errorf("MulDivFloor disagrees with MulDiv")
		}
	}
}

func TestMulDivFloor_PanicsOnBrokenPrecondition(t *testing.T) {
	for _, c := range []struct{ num, den uint64 }{{1, 0}, {3, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Max.MulDivFloor(%d, %d) did not panic", c.num, c.den)
				}
			}()
			avt.Max.MulDivFloor(c.num, c.den)
		}()
	}
}

func TestJSON_IsAStringInCanonicalForm(t *testing.T) {
	type transfer struct {
		Amount avt.Amount  `json:"amount"`
		Fee    *avt.Amount `json:"fee"`
	}
	b, err := json.Marshal(transfer{Amount: avt.MustParse("100.50")})
	if err != nil || string(b) != `{"amount":"100.5","fee":null}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var got transfer
	if err := json.Unmarshal([]byte(`{"amount":"0.000000000000000001","fee":null}`), &got); err != nil {
		t.Fatal(err)
	}
	if got.Amount != avt.FromUnits(1) || got.Fee != nil {
		t.Fatalf("Unmarshal = %+v", got)
	}
	if err := json.Unmarshal([]byte(`{"amount":"1","fee":"0.001"}`), &got); err != nil || got.Fee == nil || *got.Fee != avt.MustParse("0.001") {
		t.Fatalf("Unmarshal with fee = %+v, %v", got, err)
	}
}

func TestUnmarshalJSON_RejectsAnythingButAStrictString(t *testing.T) {
	for in, code := range map[string]string{
		`100.5`:                     avt.CodeInvalidAmount,
		`100`:                       avt.CodeInvalidAmount,
		`1e2`:                       avt.CodeInvalidAmount,
		`null`:                      avt.CodeInvalidAmount,
		`true`:                      avt.CodeInvalidAmount,
		`{}`:                        avt.CodeInvalidAmount,
		`["1"]`:                     avt.CodeInvalidAmount,
		`""`:                        avt.CodeInvalidAmount,
		`" 1"`:                      avt.CodeInvalidAmount,
		`"\u0031"`:                  avt.CodeInvalidAmount,
		`"-1"`:                      avt.CodeInvalidAmount,
		`"1e2"`:                     avt.CodeInvalidAmount,
		`"0.0000000000000000001"`:   avt.CodeAmountTooPrecise,
		`"340282366920938463463.5"`: avt.CodeAmountOutOfRange,
	} {
		a := avt.AVT(7)
		err := a.UnmarshalJSON([]byte(in))
		wantCode(t, err, code)
		if a != avt.AVT(7) {
			t.Errorf("UnmarshalJSON(%s) changed the amount to %v on error", in, a)
		}
		var s struct{ A avt.Amount }
		if err := json.Unmarshal([]byte(`{"A":`+in+`}`), &s); apperr.CodeOf(err) != code {
			t.Errorf("json.Unmarshal of %s: %v, want %s", in, err, code)
		}
	}
}

func TestText_RoundTripsStrictly(t *testing.T) {
	a := avt.MustParse("42.000000000000000042")
	b, err := a.MarshalText()
	if err != nil || string(b) != "42.000000000000000042" {
		t.Fatalf("MarshalText = %s, %v", b, err)
	}
	var back avt.Amount
	if err := back.UnmarshalText(b); err != nil || back != a {
		t.Fatalf("UnmarshalText = %v, %v", back, err)
	}
	if err := back.UnmarshalText([]byte("4.2e1")); apperr.CodeOf(err) != avt.CodeInvalidAmount || back != a {
		t.Fatalf("UnmarshalText(4.2e1) = %v, %v", back, err)
	}
	if out, _ := a.AppendText([]byte("x=")); string(out) != "x=42.000000000000000042" {
		t.Fatalf("AppendText = %s", out)
	}
}

func TestFixed_IsFixedWidthUnits(t *testing.T) {
	tests := []struct {
		a    avt.Amount
		want string
	}{
		{avt.Amount{}, strings.Repeat("0", 39)},
		{avt.FromUnits(1), strings.Repeat("0", 38) + "1"},
		{avt.AVT(1), strings.Repeat("0", 20) + "1" + strings.Repeat("0", 18)},
		{avt.FromUnits(math.MaxUint64), strings.Repeat("0", 19) + "18446744073709551615"},
		{avt.Max, maxUnits},
	}
	for _, tt := range tests {
		if got := tt.a.Fixed(); got != tt.want || len(got) != avt.FixedWidth {
			t.Errorf("Fixed(%v) = %s, want %s", tt.a, got, tt.want)
		}
		if back, err := avt.ParseFixed(tt.want); err != nil || back != tt.a {
			t.Errorf("ParseFixed(%s) = %v, %v", tt.want, back, err)
		}
	}
}

func TestParseFixed_AcceptsUnpaddedUnitsAndRejectsTheRest(t *testing.T) {
	ok := map[string]avt.Amount{
		"0":                   {},
		"1":                   avt.FromUnits(1),
		"1000000000000000000": avt.AVT(1),
		"0000000000000000000000000000000000000000000001": avt.FromUnits(1), // padding beyond 39 is harmless
		maxUnits: avt.Max,
	}
	for in, want := range ok {
		if got, err := avt.ParseFixed(in); err != nil || got != want {
			t.Errorf("ParseFixed(%s) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":    avt.CodeInvalidAmount,
		"1.5": avt.CodeInvalidAmount,
		"-1":  avt.CodeInvalidAmount,
		"+1":  avt.CodeInvalidAmount,
		" 1":  avt.CodeInvalidAmount,
		"1e3": avt.CodeInvalidAmount,
		"340282366920938463463374607431768211456": avt.CodeAmountOutOfRange,
		"999999999999999999999999999999999999999": avt.CodeAmountOutOfRange,
		"1" + strings.Repeat("0", 39):             avt.CodeAmountOutOfRange,
	}
	for in, code := range bad {
		_, err := avt.ParseFixed(in)
		wantCode(t, err, code)
	}
}
