// Package avt is the AVT token amount: an exact, non-negative integer of base units
// (1 AVT = 10^18 units) no larger than 2^128−1 units.
//
// An Amount is never a float. Its text form is a plain decimal string of AVT ("100.5",
// "0.000000000000000001"), parsed strictly by Parse and written canonically by String; JSON carries
// that text as a string. Its storage form is Fixed: the base units as a 39-digit zero-padded decimal,
// which has a fixed width and so sorts and compares exactly as text (SQLite TEXT), and which
// PostgreSQL reads directly into NUMERIC(78,0).
//
// Amount is a small value type (comparable with ==, zero value 0 AVT). Arithmetic is checked:
// Add and Sub report overflow and underflow instead of wrapping.
package avt

import (
	"math/big"
	"math/bits"
	"strconv"

	"github.com/holiman/uint256"

	"github.com/sovereign-stack/sovereign/apperr"
)

// Decimals is the number of decimal places of AVT: 1 AVT = 10^Decimals base units.
const Decimals = 18

// Limits of the text forms.
const (
	// MaxIntegerDigits is the most digits the whole-AVT part of an amount can have: the largest
	// amount, 2^128−1 units, is 340282366920938463463.374607431768211455 AVT.
	MaxIntegerDigits = 21
	// MaxTextLen is the length of the longest string Parse accepts (21 + 1 + 18 bytes); callers can
	// use it to bound amount fields before parsing.
	MaxTextLen = MaxIntegerDigits + 1 + Decimals
	// FixedWidth is the length of every Fixed string: the digits of 2^128−1.
	FixedWidth = 39
)

// Error codes of the errors this package returns for bad input.
const (
	CodeInvalidAmount    = "INVALID_AMOUNT"
	CodeAmountTooPrecise = "AMOUNT_TOO_PRECISE"
	CodeAmountOutOfRange = "AMOUNT_OUT_OF_RANGE"
)

// FieldDetail is the detail key naming the offending input field; errors from this package set it to
// "amount", and callers may override it with (*apperr.Error).With.
const FieldDetail = "field"

// Sentinel errors, for errors.Is (apperr errors compare by code). Returned errors are copies of these
// with the detail "field" set to "amount" (and "max_fraction_digits" or "max" where relevant).
var (
	// ErrInvalidAmount reports text that is not a plain decimal number: empty, signed, with an
	// exponent, spaces, letters, a leading or trailing point, or a leading zero ("007", "00.5").
	ErrInvalidAmount = apperr.New(apperr.Invalid, CodeInvalidAmount,
		`amount must be a decimal string of AVT such as "100.5": digits, optionally a point and 1 to 18 more digits; no sign, exponent, spaces or leading zeros`)
	// ErrAmountTooPrecise reports more than 18 fractional digits. It is returned even when the extra
	// digits are zeros ("1.0000000000000000000"): the text is not an AVT amount as written, and
	// accepting it would let two spellings of different precision mean one value by accident.
	ErrAmountTooPrecise = apperr.New(apperr.Invalid, CodeAmountTooPrecise,
		"amount has more than 18 fractional digits; AVT has 18 decimals")
	// ErrAmountOutOfRange reports an amount above Max (2^128−1 base units), or a negative one where
	// a signed number is converted.
	ErrAmountOutOfRange = apperr.New(apperr.Invalid, CodeAmountOutOfRange,
		"amount is out of range: it must be between 0 and 340282366920938463463.374607431768211455 AVT")
)

func invalidAmount() error { return ErrInvalidAmount.With(FieldDetail, "amount") }

func tooPrecise() error {
	return ErrAmountTooPrecise.With(FieldDetail, "amount").With("max_fraction_digits", Decimals)
}

func outOfRange() error {
	return ErrAmountOutOfRange.With(FieldDetail, "amount").With("max", maxText)
}

// maxText is Max.String(), spelled out so the error above needs no initialisation order.
const maxText = "340282366920938463463.374607431768211455"

// Amount is a non-negative quantity of AVT held exactly as base units (1 AVT = 10^18 units), at most
// Max. The zero value is 0 AVT. Amounts are comparable with == (equal values are equal structs).
//
// The units are held as two 64-bit words — the low half of a uint256, whose upper half the range
// never needs — so an Amount is 16 bytes, passed in registers, and its arithmetic compiles to a few
// instructions (math/bits). Units and Uint256 convert from and to uint256.Int.
type Amount struct {
	lo, hi uint64 // units = hi × 2^64 + lo
}

// Max is the largest Amount, 2^128−1 base units (about 3.4 × 10^20 AVT). Changing it changes
// nothing: the limit is enforced independently of this variable.
var Max = Amount{lo: ^uint64(0), hi: ^uint64(0)}

// unitsPerAVT is 10^Decimals.
const unitsPerAVT = 1_000_000_000_000_000_000

// e19 is 10^19, the largest power of ten below 2^64.
const e19 = 10_000_000_000_000_000_000

// pow10 holds 10^0 … 10^19.
var pow10 = [20]uint64{
	1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
	10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000,
	100_000_000_000_000, 1_000_000_000_000_000, 10_000_000_000_000_000,
	100_000_000_000_000_000, 1_000_000_000_000_000_000, e19,
}

func words(hi, lo uint64) Amount { return Amount{lo: lo, hi: hi} }

// FromUnits returns the Amount of u base units.
func FromUnits(u uint64) Amount { return words(0, u) }

// AVT returns the Amount of n whole AVT (n × 10^18 units); every uint64 n fits.
func AVT(n uint64) Amount {
	hi, lo := bits.Mul64(n, unitsPerAVT)
	return words(hi, lo)
}

// FromBig returns the Amount of b base units. A nil b is an INVALID_AMOUNT error; a negative b or one
// above Max is AMOUNT_OUT_OF_RANGE.
func FromBig(b *big.Int) (Amount, error) {
	if b == nil {
		return Amount{}, invalidAmount()
	}
	if b.Sign() < 0 || b.BitLen() > 128 {
		return Amount{}, outOfRange()
	}
	var u uint256.Int
	u.SetFromBig(b)
	return words(u[1], u[0]), nil
}

// Big returns the base units of a as a new big.Int.
func (a Amount) Big() *big.Int {
	u := a.Uint256()
	return u.ToBig()
}

// Units returns the Amount of u base units. A nil u is an INVALID_AMOUNT error; u above Max is
// AMOUNT_OUT_OF_RANGE.
func Units(u *uint256.Int) (Amount, error) {
	if u == nil {
		return Amount{}, invalidAmount()
	}
	if u[2]|u[3] != 0 {
		return Amount{}, outOfRange()
	}
	return words(u[1], u[0]), nil
}

// Uint256 returns the base units of a as a new uint256.Int value.
func (a Amount) Uint256() uint256.Int { return uint256.Int{a.lo, a.hi, 0, 0} }

// IsZero reports whether a is 0 AVT.
func (a Amount) IsZero() bool { return a.lo|a.hi == 0 }

// Cmp returns -1, 0 or +1 as a is less than, equal to or greater than b.
func (a Amount) Cmp(b Amount) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// Add returns a + b and true, or the zero Amount and false when the sum would exceed Max.
func (a Amount) Add(b Amount) (Amount, bool) {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, c := bits.Add64(a.hi, b.hi, c)
	if c != 0 {
		return Amount{}, false
	}
	return words(hi, lo), true
}

// Sub returns a − b and true, or the zero Amount and false when b > a (amounts are never negative).
func (a Amount) Sub(b Amount) (Amount, bool) {
	lo, c := bits.Sub64(a.lo, b.lo, 0)
	hi, c := bits.Sub64(a.hi, b.hi, c)
	if c != 0 {
		return Amount{}, false
	}
	return words(hi, lo), true
}

// MulDiv returns floor(a × num / den) and true, computed exactly (the product is held in full,
// 192 bits); it returns the zero Amount and false when den is 0 or the result would exceed Max
// (possible only when num > den).
func (a Amount) MulDiv(num, den uint64) (Amount, bool) {
	if den == 0 {
		return Amount{}, false
	}
	// p = a × num = p2·2^128 + p1·2^64 + p0
	c0, p0 := bits.Mul64(a.lo, num)
	p2, h := bits.Mul64(a.hi, num)
	p1, c := bits.Add64(h, c0, 0)
	p2 += c
	if p2 >= den { // then p / den ≥ 2^128
		return Amount{}, false
	}
	q1, r := bits.Div64(p2, p1, den)
	q0, _ := bits.Div64(r, p0, den)
	return words(q1, q0), true
}

// MulDivFloor returns floor(a × num / den), exactly. It is MulDiv for callers whose arguments meet
// its precondition by construction: den > 0 and num ≤ den (a fraction of a, such as a rate or share
// in basis points), which can never overflow. Like math/bits.Div64, it panics when den is 0 or the
// quotient overflows (here: exceeds Max), as that is a programming error; use MulDiv where the
// arguments come from input.
func (a Amount) MulDivFloor(num, den uint64) Amount {
	r, ok := a.MulDiv(num, den)
	if !ok {
		panic("avt: MulDivFloor(" + strconv.FormatUint(num, 10) + ", " + strconv.FormatUint(den, 10) +
			") of " + a.String() + ": division by zero or result above Max")
	}
	return r
}

// Parse returns the Amount written in s as a decimal number of AVT, such as "100", "100.5" or
// "0.000000000000000001". The grammar is strict: ( "0" | [1-9][0-9]* ) ( "." [0-9]{1,18} )?, so
// there is no sign, exponent, space, grouping, leading zero, or leading or trailing point.
//
// Errors are *apperr.Error values of kind apperr.Invalid with detail "field" = "amount":
// INVALID_AMOUNT for text outside the grammar, AMOUNT_TOO_PRECISE for more than 18 fractional digits
// (even if they are zeros), AMOUNT_OUT_OF_RANGE above Max. Syntax is judged first, then precision,
// then range.
func Parse(s string) (Amount, error) { return parse(s) }

// MustParse is Parse for constants and tests: it panics if s is not a valid amount.
func MustParse(s string) Amount {
	a, err := Parse(s)
	if err != nil {
		panic("avt: MustParse(" + strconv.Quote(s) + "): " + err.Error())
	}
	return a
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parse implements Parse for both strings and byte slices, so decoding JSON and text needs no copy.
func parse[T string | []byte](s T) (Amount, error) {
	n := len(s)
	i := 0
	for i < n && isDigit(s[i]) {
		i++
	}
	intEnd := i
	if intEnd == 0 || (intEnd > 1 && s[0] == '0') {
		return Amount{}, invalidAmount()
	}
	fracStart, fracLen := n, 0
	if i < n {
		if s[i] != '.' {
			return Amount{}, invalidAmount()
		}
		i++
		fracStart = i
		for i < n && isDigit(s[i]) {
			i++
		}
		fracLen = i - fracStart
		if fracLen == 0 || i < n {
			return Amount{}, invalidAmount()
		}
	}
	if fracLen > Decimals {
		return Amount{}, tooPrecise()
	}
	if intEnd > MaxIntegerDigits {
		return Amount{}, outOfRange()
	}
	// units = integer digits followed by the fraction digits, scaled by 10^(18 − fracLen):
	// at most 21 + 18 = 39 digits, accumulated in chunks that fit a uint64.
	var hi, lo uint64
	var ok bool
	if hi, lo, ok = accumulate(hi, lo, s[:intEnd]); !ok {
		return Amount{}, outOfRange()
	}
	if hi, lo, ok = accumulate(hi, lo, s[fracStart:fracStart+fracLen]); !ok {
		return Amount{}, outOfRange()
	}
	if hi, lo, ok = mulAdd(hi, lo, pow10[Decimals-fracLen], 0); !ok {
		return Amount{}, outOfRange()
	}
	return words(hi, lo), nil
}

// accumulate returns (hi:lo) × 10^len(digits) + digits, or false if that exceeds 128 bits. digits
// must be ASCII digits only.
func accumulate[T string | []byte](hi, lo uint64, digits T) (uint64, uint64, bool) {
	for len(digits) > 0 {
		k := min(len(digits), 19)
		var chunk uint64
		for j := 0; j < k; j++ {
			chunk = chunk*10 + uint64(digits[j]-'0')
		}
		var ok bool
		if hi, lo, ok = mulAdd(hi, lo, pow10[k], chunk); !ok {
			return 0, 0, false
		}
		digits = digits[k:]
	}
	return hi, lo, true
}

// mulAdd returns (hi:lo) × m + add, or false if that exceeds 128 bits.
func mulAdd(hi, lo, m, add uint64) (uint64, uint64, bool) {
	c0, l := bits.Mul64(lo, m)
	l, c := bits.Add64(l, add, 0)
	over, h := bits.Mul64(hi, m)
	h, c1 := bits.Add64(h, c0, c)
	return h, l, over|c1 == 0
}

// digits returns the base units of a as exactly FixedWidth decimal digits, zero-padded.
func (a Amount) digits() [FixedWidth]byte {
	// a = top × 10^38 + mid × 10^19 + low, with top ≤ 3.
	var top, mid, low uint64
	if a.hi == 0 { // below 2^64 units: division by constants, no 128-bit divide
		mid, low = a.lo/e19, a.lo%e19
	} else {
		q1, r1 := a.hi/e19, a.hi%e19
		var q0 uint64
		q0, low = bits.Div64(r1, a.lo, e19)
		top, mid = bits.Div64(q1, q0, e19)
	}
	var d [FixedWidth]byte
	d[0] = byte('0' + top)
	put19(d[1:20], mid)
	put19(d[20:39], low)
	return d
}

// pairs holds the two-digit decimal strings "00" … "99".
const pairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" + "90919293949596979899"

// put19 writes v < 10^19 into dst[:19] as 19 zero-padded digits, two at a time.
func put19(dst []byte, v uint64) {
	_ = dst[18]
	for i := 17; i >= 1; i -= 2 {
		p := v % 100 * 2
		v /= 100
		dst[i], dst[i+1] = pairs[p], pairs[p+1]
	}
	dst[0] = byte('0' + v)
}

// String returns a in canonical form: the whole AVT, then — only if the fraction is non-zero — a
// point and the fractional digits without trailing zeros. It never uses an exponent or a sign:
// "0", "100.5", "0.000000000000000001". Parse(a.String()) == a for every Amount.
func (a Amount) String() string {
	var buf [MaxTextLen]byte
	return string(a.appendCanonical(buf[:0]))
}

func (a Amount) appendCanonical(b []byte) []byte {
	// Split into whole AVT and a fraction of 18 digits; the whole part fits a uint64 below
	// 2^64 AVT, which is every amount but the very largest.
	var whole, frac uint64
	if a.hi == 0 {
		whole, frac = a.lo/unitsPerAVT, a.lo%unitsPerAVT
	} else if a.hi < unitsPerAVT {
		whole, frac = bits.Div64(a.hi, a.lo, unitsPerAVT)
	} else {
		return a.appendCanonicalSlow(b)
	}
	b = strconv.AppendUint(b, whole, 10)
	if frac == 0 {
		return b
	}
	// Drop the trailing zeros (at most 17, as frac ≠ 0) in steps of 16, 8, 4, 2 and 1 digits.
	n := Decimals
	if frac%1e16 == 0 {
		frac, n = frac/1e16, n-16
	}
	if frac%1e8 == 0 {
		frac, n = frac/1e8, n-8
	}
	if frac%1e4 == 0 {
		frac, n = frac/1e4, n-4
	}
	if frac%100 == 0 {
		frac, n = frac/100, n-2
	}
	if frac%10 == 0 {
		frac, n = frac/10, n-1
	}
	var buf [Decimals]byte
	for i := n - 1; i >= 0; i-- {
		buf[i] = byte('0' + frac%10)
		frac /= 10
	}
	b = append(b, '.')
	return append(b, buf[:n]...)
}

// appendCanonicalSlow is appendCanonical for any amount, by way of the fixed-width digits.
func (a Amount) appendCanonicalSlow(b []byte) []byte {
	d := a.digits()
	whole, frac := d[:MaxIntegerDigits], d[MaxIntegerDigits:]
	i := 0
	for i < len(whole)-1 && whole[i] == '0' {
		i++
	}
	b = append(b, whole[i:]...)
	j := len(frac)
	for j > 0 && frac[j-1] == '0' {
		j--
	}
	if j > 0 {
		b = append(b, '.')
		b = append(b, frac[:j]...)
	}
	return b
}

// Fixed returns the base units of a as a FixedWidth (39) digit decimal, zero-padded on the left, so
// that for any two amounts the text comparison of their Fixed forms equals Cmp. It is the storage
// form: in SQLite, keep it in a column of TEXT affinity (a NUMERIC or INTEGER column would convert it
// to a lossy number), e.g. "amount TEXT NOT NULL CHECK (length(amount) = 39)"; PostgreSQL reads it
// into NUMERIC(78,0) as is.
func (a Amount) Fixed() string {
	d := a.digits()
	return string(d[:])
}

// ParseFixed returns the Amount whose base units are written in s: the Fixed form, or any unsigned
// decimal integer of units (leading zeros allowed), as PostgreSQL prints NUMERIC(78,0). Errors are
// INVALID_AMOUNT for anything but digits and AMOUNT_OUT_OF_RANGE above Max.
func ParseFixed(s string) (Amount, error) { return parseFixed(s) }

func parseFixed[T string | []byte](s T) (Amount, error) {
	if len(s) == 0 {
		return Amount{}, invalidAmount()
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return Amount{}, invalidAmount()
		}
	}
	i := 0
	for i < len(s)-1 && s[i] == '0' {
		i++
	}
	if len(s)-i > FixedWidth {
		return Amount{}, outOfRange()
	}
	hi, lo, ok := accumulate(0, 0, s[i:])
	if !ok {
		return Amount{}, outOfRange()
	}
	return words(hi, lo), nil
}
