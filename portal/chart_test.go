package portal

import (
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/reputation"
)

func TestFactorChart_NegativeBarsGoLeftAndTextIsEscaped(t *testing.T) {
	c := factorChart([]reputation.Factor{{Name: "base", Points: 100}, {Name: "disputes_lost", Points: -50}, {Name: "<script>x</script>", Points: 0.01}})
	svg := string(c.SVG())
	for _, want := range []string{`role="img"`, `<title id="chart-title">`, `fill="#b42318"`, `fill="#1d4ed8"`, "&lt;script&gt;", ">-50.0<", ">0<", "disputes lost"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "style=") {
		t.Errorf("markup or inline style in the chart:\n%s", svg)
	}
	if empty := string((&barChart{Title: "t"}).SVG()); !strings.HasSuffix(empty, "</svg>") {
		t.Errorf("an empty chart: %s", empty)
	}
}
