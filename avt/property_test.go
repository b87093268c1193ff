package avt_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/avt"
)

var (
	bigMax      = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	bigUnitsAVT = new(big.Int).Exp(big.NewInt(10), big.NewInt(avt.Decimals), nil)
)

// genAmount draws amounts of every magnitude: a random 128-bit value shifted right by a random
// amount, so small values, word boundaries and values near Max all come up often.
func genAmount() *rapid.Generator[avt.Amount] {
	return rapid.Custom(func(t *rapid.T) avt.Amount {
		hi := rapid.Uint64().Draw(t, "hi")
		lo := rapid.Uint64().Draw(t, "lo")
		shift := rapid.UintRange(0, 128).Draw(t, "shift")
		b := new(big.Int).Lsh(new(big.Int).SetUint64(hi), 64)
		b.Or(b, new(big.Int).SetUint64(lo))
		b.Rsh(b, shift)
		a, err := avt.FromBig(b)
		if err != nil {
			t.Fatalf("FromBig(%v): %v", b, err)
		}
		return a
	})
}

// refString formats units the long way, with big.Int.
func refString(units *big.Int) string {
	q, r := new(big.Int).QuoRem(units, bigUnitsAVT, new(big.Int))
	frac := strings.TrimRight(fmt.Sprintf("%018s", r.String()), "0")
	if frac == "" {
		return q.String()
	}
	return q.String() + "." + frac
}

func TestProperty_AddAndSubAreExactInverses(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genAmount().Draw(t, "a"), genAmount().Draw(t, "b")
		sum := new(big.Int).Add(a.Big(), b.Big())
		s, ok := a.Add(b)
		if ok != (sum.Cmp(bigMax) <= 0) {
			t.Fatalf("%v + %v: ok = %v, big sum %v", a, b, ok, sum)
		}
		if ok {
			if s.Big().Cmp(sum) != 0 {
				t.Fatalf("%v + %v = %v, want %v units", a, b, s.Big(), sum)
			}
			if d, ok := s.Sub(b); !ok || d != a {
				t.Fatalf("(a+b)-b = %v, %v; want %v", d, ok, a)
			}
			if d, ok := s.Sub(a); !ok || d != b {
				t.Fatalf("(a+b)-a = %v, %v; want %v", d, ok, b)
			}
			if s2, _ := b.Add(a); s2 != s {
				t.Fatal("Add is not commutative")
			}
		} else if !s.IsZero() {
			t.Fatal("failed Add returned a non-zero amount")
		}
		d, ok := a.Sub(b)
		if ok != (a.Cmp(b) >= 0) {
			t.Fatalf("%v - %v: ok = %v", a, b, ok)
		}
		if ok {
			if back, ok := d.Add(b); !ok || back != a {
				t.Fatalf("(a-b)+b = %v, %v; want %v", back, ok, a)
			}
		}
	})
}

func TestProperty_CmpAgreesWithBigIntFixedTextAndEquality(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genAmount().Draw(t, "a"), genAmount().Draw(t, "b")
		c := a.Cmp(b)
		if want := a.Big().Cmp(b.Big()); c != want {
			t.Fatalf("Cmp(%v, %v) = %d, big says %d", a, b, c, want)
		}
		if want := strings.Compare(a.Fixed(), b.Fixed()); c != want {
			t.Fatalf("Cmp(%v, %v) = %d, Fixed text compares %d", a, b, c, want)
		}
		if (c == 0) != (a == b) {
			t.Fatalf("Cmp = %d but == is %v", c, a == b)
		}
		if b.Cmp(a) != -c {
			t.Fatal("Cmp is not antisymmetric")
		}
	})
}

func TestProperty_MulDivEqualsBigFloorArithmetic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := genAmount().Draw(t, "a")
		num := rapid.Uint64().Draw(t, "num")
		den := rapid.Uint64Min(1).Draw(t, "den")
		want := new(big.Int).Mul(a.Big(), new(big.Int).SetUint64(num))
		want.Quo(want, new(big.Int).SetUint64(den))
		got, ok := a.MulDiv(num, den)
		if ok != (want.Cmp(bigMax) <= 0) {
			t.Fatalf("%v.MulDiv(%d, %d): ok = %v, exact %v", a, num, den, ok, want)
		}
		if ok && got.Big().Cmp(want) != 0 {
			t.Fatalf("%v.MulDiv(%d, %d) = %v, want %v", a, num, den, got.Big(), want)
		}
		// The precondition of MulDivFloor (num ≤ den) guarantees no overflow.
		lo, hi := min(num, den), max(num, den)
		want.Mul(a.Big(), new(big.Int).SetUint64(lo)).Quo(want, new(big.Int).SetUint64(hi))
		if got := a.MulDivFloor(lo, hi); got.Big().Cmp(want) != 0 {
			t.Fatalf("%v.MulDivFloor(%d, %d) = %v, want %v", a, lo, hi, got.Big(), want)
		}
	})
}

func TestProperty_TextJSONFixedAndBigRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := genAmount().Draw(t, "a")
		s := a.String()
		if want := refString(a.Big()); s != want {
			t.Fatalf("String() = %q, want %q", s, want)
		}
		if back, err := avt.Parse(s); err != nil || back != a {
			t.Fatalf("Parse(String()) = %v, %v; want %v", back, err, a)
		}
		j, err := json.Marshal(a)
		if err != nil || string(j) != `"`+s+`"` {
			t.Fatalf("json.Marshal = %s, %v", j, err)
		}
		var fromJSON avt.Amount
		if err := json.Unmarshal(j, &fromJSON); err != nil || fromJSON != a {
			t.Fatalf("json round trip = %v, %v; want %v", fromJSON, err, a)
		}
		f := a.Fixed()
		if back, err := avt.ParseFixed(f); err != nil || back != a || len(f) != avt.FixedWidth {
			t.Fatalf("ParseFixed(%s) = %v, %v", f, back, err)
		}
		if back, err := avt.ParseFixed(a.Big().String()); err != nil || back != a {
			t.Fatalf("ParseFixed(unpadded) = %v, %v", back, err)
		}
		if back, err := avt.FromBig(a.Big()); err != nil || back != a {
			t.Fatalf("FromBig(Big()) = %v, %v", back, err)
		}
		u := a.Uint256()
		if back, err := avt.Units(&u); err != nil || back != a {
			t.Fatalf("Units(Uint256()) = %v, %v", back, err)
		}
	})
}
