package fee_test

import (
	"encoding/json"
	"math"
	"math/big"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg/fee"
)

func TestDefault_IsTheDesignSchedule(t *testing.T) {
	s := fee.Default()
	if err := s.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	want := fee.Schedule{
		RateBps: 10, Min: avt.MustParse("0.001"), Max: avt.AVT(10),
		TreasuryBps: 4000, ValidatorsBps: 3000, StakersBps: 2000, BurnBps: 1000,
	}
	if s != want {
		t.Fatalf("Default() = %+v, want %+v", s, want)
	}
}

func TestCompute_ClampsTenBasisPointsToMinAndMax(t *testing.T) {
	tests := []struct {
		name, amount, fee string
	}{
		{"zero pays the minimum", "0", "0.001"},
		{"one unit pays the minimum", "0.000000000000000001", "0.001"},
		{"half an AVT pays the minimum", "0.5", "0.001"},
		{"1 AVT is exactly the minimum", "1", "0.001"},
		{"just above 1 AVT is the rate", "1.000000000000001", "0.001000000000000001"},
		{"100 AVT pays 0.1", "100", "0.1"},
		{"rate floors to the unit", "123.456789012345678901", "0.123456789012345678"},
		{"9,999.99 AVT pays the rate", "9999.99", "9.99999"},
		{"10,000 AVT is exactly the maximum", "10000", "10"},
		{"just above 10,000 AVT pays the maximum", "10000.000000000000000001", "10"},
		{"1,000,000 AVT pays the maximum", "1000000", "10"},
		{"the largest amount pays the maximum", avt.Max.String(), "10"},
	}
	s := fee.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Compute(avt.MustParse(tt.amount))
			if got != avt.MustParse(tt.fee) {
				t.Fatalf("Compute(%s) = %s, want %s", tt.amount, got, tt.fee)
			}
		})
	}
}

func TestCompute_NeverPanicsOnAnInvalidRate(t *testing.T) {
	s := fee.Default()
	s.RateBps = math.MaxUint64
	if got := s.Compute(avt.Max); got != s.Max {
		t.Fatalf("Compute with an overflowing rate = %s, want Max %s", got, s.Max)
	}
	s.RateBps = 0
	if got := s.Compute(avt.AVT(1_000_000)); got != s.Min {
		t.Fatalf("Compute with rate 0 = %s, want Min", got)
	}
}

func TestSplit_DividesExactlyWithRemainderToTreasury(t *testing.T) {
	tests := []struct {
		name                                string
		fee                                 avt.Amount
		treasury, validators, stakers, burn avt.Amount
	}{
		{"0.1 AVT splits 40/30/20/10", avt.MustParse("0.1"),
			avt.MustParse("0.04"), avt.MustParse("0.03"), avt.MustParse("0.02"), avt.MustParse("0.01")},
		{"10 AVT splits 40/30/20/10", avt.AVT(10), avt.AVT(4), avt.AVT(3), avt.AVT(2), avt.AVT(1)},
		{"the minimum fee splits evenly", avt.MustParse("0.001"),
			avt.MustParse("0.0004"), avt.MustParse("0.0003"), avt.MustParse("0.0002"), avt.MustParse("0.0001")},
		{"zero splits to zeros", avt.Amount{}, avt.Amount{}, avt.Amount{}, avt.Amount{}, avt.Amount{}},
		{"one unit goes to the treasury", avt.FromUnits(1),
			avt.FromUnits(1), avt.Amount{}, avt.Amount{}, avt.Amount{}},
		{"nine units leave the largest remainder, 3", avt.FromUnits(9), // floors 3+2+1+0 = 6
			avt.FromUnits(6), avt.FromUnits(2), avt.FromUnits(1), avt.Amount{}},
		{"eleven units", avt.FromUnits(11),
			avt.FromUnits(5), avt.FromUnits(3), avt.FromUnits(2), avt.FromUnits(1)},
	}
	s := fee.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := s.Split(tt.fee)
			want := fee.Split{Treasury: tt.treasury, Validators: tt.validators, Stakers: tt.stakers, Burn: tt.burn}
			if sp != want {
				t.Fatalf("Split(%s) = %+v, want %+v", tt.fee, sp, want)
			}
			if sp.Total() != tt.fee {
				t.Fatalf("Split(%s).Total() = %s", tt.fee, sp.Total())
			}
		})
	}
}

func TestSplit_AddsUpEvenForAnInvalidSchedule(t *testing.T) {
	for _, s := range []fee.Schedule{
		{ValidatorsBps: 9000, StakersBps: 9000, BurnBps: 9000},
		{ValidatorsBps: math.MaxUint64, StakersBps: math.MaxUint64, BurnBps: math.MaxUint64},
		{},
	} {
		for _, f := range []avt.Amount{{}, avt.FromUnits(1), avt.FromUnits(9), avt.AVT(10), avt.Max} {
			if got := s.Split(f).Total(); got != f {
				t.Errorf("%+v.Split(%s).Total() = %s", s, f, got)
			}
		}
	}
}

func TestSplit_TotalSaturatesAtMax(t *testing.T) {
	sp := fee.Split{Treasury: avt.Max, Burn: avt.FromUnits(1)}
	if sp.Total() != avt.Max {
		t.Fatalf("Total of an overflowing split = %s", sp.Total())
	}
}

// floorShare is floor(f × bps / 10000), the long way.
func floorShare(f avt.Amount, bps uint64) *big.Int {
	x := new(big.Int).Mul(f.Big(), new(big.Int).SetUint64(bps))
	return x.Quo(x, big.NewInt(fee.BasisPoints))
}

// genFee draws fees of every magnitude up to avt.Max.
func genFee() *rapid.Generator[avt.Amount] {
	return rapid.Custom(func(t *rapid.T) avt.Amount {
		x := new(big.Int).Lsh(new(big.Int).SetUint64(rapid.Uint64().Draw(t, "hi")), 64)
		x.Or(x, new(big.Int).SetUint64(rapid.Uint64().Draw(t, "lo")))
		x.Rsh(x, rapid.UintRange(0, 128).Draw(t, "shift"))
		a, err := avt.FromBig(x)
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
}

// genSchedule draws valid schedules: any rate, min ≤ max, and four shares that add up to 10000.
func genSchedule() *rapid.Generator[fee.Schedule] {
	return rapid.Custom(func(t *rapid.T) fee.Schedule {
		cuts := []uint64{
			rapid.Uint64Range(0, fee.BasisPoints).Draw(t, "cut1"),
			rapid.Uint64Range(0, fee.BasisPoints).Draw(t, "cut2"),
			rapid.Uint64Range(0, fee.BasisPoints).Draw(t, "cut3"),
		}
		slices.Sort(cuts)
		lo, hi := genFee().Draw(t, "min"), genFee().Draw(t, "max")
		if lo.Cmp(hi) > 0 {
			lo, hi = hi, lo
		}
		return fee.Schedule{
			RateBps: rapid.Uint64Range(0, fee.BasisPoints).Draw(t, "rate"),
			Min:     lo, Max: hi,
			ValidatorsBps: cuts[0], StakersBps: cuts[1] - cuts[0], BurnBps: cuts[2] - cuts[1],
			TreasuryBps: fee.BasisPoints - cuts[2],
		}
	})
}

func checkSplit(t *rapid.T, s fee.Schedule, f avt.Amount) {
	sp := s.Split(f)
	if sp.Total() != f {
		t.Fatalf("Split(%s) = %+v adds up to %s", f, sp, sp.Total())
	}
	for _, share := range []struct {
		name string
		got  avt.Amount
		bps  uint64
	}{{"validators", sp.Validators, s.ValidatorsBps}, {"stakers", sp.Stakers, s.StakersBps}, {"burn", sp.Burn, s.BurnBps}} {
		if want := floorShare(f, share.bps); share.got.Big().Cmp(want) != 0 {
			t.Fatalf("Split(%s).%s = %s units, want floor %s", f, share.name, share.got.Big(), want)
		}
	}
	// The treasury gets its floor share plus the remainder: the fractional parts of four floors
	// add up to an integer below 4, so at most 3 units.
	floorT := floorShare(f, s.TreasuryBps)
	extra := new(big.Int).Sub(sp.Treasury.Big(), floorT)
	if extra.Sign() < 0 || extra.Cmp(big.NewInt(3)) > 0 {
		t.Fatalf("Split(%s).Treasury = %s units, floor share %s: remainder %s not in [0, 3]", f, sp.Treasury.Big(), floorT, extra)
	}
}

func TestProperty_DefaultSplitIsExact(t *testing.T) {
	s := fee.Default()
	rapid.Check(t, func(t *rapid.T) { checkSplit(t, s, genFee().Draw(t, "fee")) })
}

func TestProperty_AnyValidScheduleSplitsExactlyAndComputesWithinBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := genSchedule().Draw(t, "schedule")
		if err := s.Validate(); err != nil {
			t.Fatalf("generated schedule invalid: %v", err)
		}
		amount := genFee().Draw(t, "amount")
		f := s.Compute(amount)
		raw := floorShare(amount, s.RateBps)
		want := raw
		if raw.Cmp(s.Min.Big()) < 0 {
			want = s.Min.Big()
		} else if raw.Cmp(s.Max.Big()) > 0 {
			want = s.Max.Big()
		}
		if f.Big().Cmp(want) != 0 {
			t.Fatalf("Compute(%s) = %s units, want %s", amount, f.Big(), want)
		}
		checkSplit(t, s, f)
		checkSplit(t, s, amount)
	})
}

func TestValidate_RejectsBadSchedules(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*fee.Schedule)
		details []string // detail keys that must be present
	}{
		{"rate above 100%", func(s *fee.Schedule) { s.RateBps = 10001 }, []string{"rate_bps"}},
		{"min above max", func(s *fee.Schedule) { s.Min = avt.AVT(11) }, []string{"min", "max"}},
		{"shares below 10000", func(s *fee.Schedule) { s.BurnBps = 999 }, []string{"shares_bps"}},
		{"shares above 10000", func(s *fee.Schedule) { s.TreasuryBps = 4001 }, []string{"shares_bps"}},
		{"shares that wrap around to 10000", func(s *fee.Schedule) {
			s.TreasuryBps = math.MaxUint64 - 5999 // + 3000 + 2000 + 1000 wraps to 10000 in uint64
		}, []string{"shares_bps"}},
		{"everything wrong at once", func(s *fee.Schedule) {
			s.RateBps, s.Min, s.Max, s.StakersBps = math.MaxUint64, avt.Max, avt.Amount{}, 0
		}, []string{"rate_bps", "min", "max", "shares_bps"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fee.Default()
			tt.edit(&s)
			err := s.Validate()
			e, ok := apperr.As(err)
			if !ok || e.Code != fee.CodeInvalidSchedule || e.Kind != apperr.Invalid {
				t.Fatalf("Validate() = %v, want an Invalid %s error", err, fee.CodeInvalidSchedule)
			}
			problems, _ := e.Details["problems"].([]string)
			if len(problems) == 0 {
				t.Errorf("details %v lack problems", e.Details)
			}
			for _, k := range tt.details {
				if _, ok := e.Details[k]; !ok {
					t.Errorf("details %v lack %q", e.Details, k)
				}
			}
		})
	}
}

func TestValidate_AcceptsEdgeSchedules(t *testing.T) {
	for _, s := range []fee.Schedule{
		{RateBps: fee.BasisPoints, TreasuryBps: fee.BasisPoints}, // 100 % rate, all to treasury
		{BurnBps: fee.BasisPoints},                               // no fee at all, burn everything
		{Min: avt.AVT(1), Max: avt.AVT(1), TreasuryBps: 2500, ValidatorsBps: 2500, StakersBps: 2500, BurnBps: 2500}, // flat fee
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", s, err)
		}
	}
}

func TestSchedule_JSONCarriesAmountsAsStrings(t *testing.T) {
	b, err := json.Marshal(fee.Default())
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"rate_bps":10,"min":"0.001","max":"10","treasury_bps":4000,"validators_bps":3000,"stakers_bps":2000,"burn_bps":1000}`
	if string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	var back fee.Schedule
	if err := json.Unmarshal(b, &back); err != nil || back != fee.Default() {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
}

func BenchmarkComputeSplit(b *testing.B) {
	s := fee.Default()
	amounts := []avt.Amount{avt.MustParse("0.5"), avt.MustParse("100"), avt.MustParse("1234.56789"), avt.AVT(1_000_000)}
	var sink fee.Split
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink = s.Split(s.Compute(amounts[i%len(amounts)]))
	}
	_ = sink
}
