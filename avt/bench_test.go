package avt_test

import (
	"encoding/json"
	"testing"

	"github.com/sovereign-stack/sovereign/avt"
)

var benchInputs = []struct{ name, text string }{
	{"small", "100.5"},
	{"tiny", "0.000000000000000001"},
	{"max", "340282366920938463463.374607431768211455"},
}

var (
	sinkAmount avt.Amount
	sinkString string
	sinkBool   bool
)

func BenchmarkParse(b *testing.B) {
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a, err := avt.Parse(in.text)
				if err != nil {
					b.Fatal(err)
				}
				sinkAmount = a
			}
		})
	}
}

func BenchmarkString(b *testing.B) {
	for _, in := range benchInputs {
		a := avt.MustParse(in.text)
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkString = a.String()
			}
		})
	}
}

// BenchmarkAdd measures checked addition as a ledger uses it, summing a batch of amounts; the figure
// to read is ns/add. (A call straight inside b.Loop is not inlined, which would measure the call.)
func BenchmarkAdd(b *testing.B) {
	batch := make([]avt.Amount, 1024)
	for i := range batch {
		batch[i] = avt.MustParse("18.446744073709551615")
		batch[i], _ = batch[i].Add(avt.FromUnits(uint64(i) * 1_000_003))
	}
	b.ReportAllocs()
	for b.Loop() {
		sinkAmount, sinkBool = sum(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/add")
}

func sum(batch []avt.Amount) (avt.Amount, bool) {
	var total avt.Amount
	for _, a := range batch {
		var ok bool
		if total, ok = total.Add(a); !ok {
			return avt.Amount{}, false
		}
	}
	return total, true
}

func BenchmarkFixed(b *testing.B) {
	a := avt.Max
	b.ReportAllocs()
	for b.Loop() {
		sinkString = a.Fixed()
	}
}

func BenchmarkMulDivFloor(b *testing.B) {
	a := avt.MustParse("123456.789")
	b.ReportAllocs()
	for b.Loop() {
		sinkAmount = a.MulDivFloor(3000, 10_000)
	}
}

func BenchmarkUnmarshalJSON(b *testing.B) {
	data := []byte(`"100.5"`)
	b.ReportAllocs()
	for b.Loop() {
		if err := json.Unmarshal(data, &sinkAmount); err != nil {
			b.Fatal(err)
		}
	}
}
