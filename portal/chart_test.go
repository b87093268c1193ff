package portal

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/reputation"
)

func TestFactorChart_NegativeBarsGoLeftAndTextIsEscaped(t *testing.T) {
	c, points := factorChart([]reputation.Factor{{Name: "base", Points: 100}, {Name: "disputes_lost", Points: -50}, {Name: "<script>x</script>", Points: 0.01}})
	if strings.Join(points, " ") != "+100.0 -50.0 0" {
		t.Fatalf("points = %v", points)
	}
	var b bytes.Buffer
	if err := parsePages()["reputation.html"].ExecuteTemplate(&b, "chart", c); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	for _, want := range []string{`role="img"`, `aria-label="Reputation factors"`, `<title id="factor-chart-title">`, `fill="#b42318"`, `fill="#1d4ed8"`, "&lt;script&gt;", ">-50.0<", ">0<", "disputes lost"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "style=") {
		t.Errorf("markup or inline style in the chart:\n%s", svg)
	}
	// The negative bar lies left of the zero line, the positive one right of it.
	neg, pos, zero := c.Bars[1], c.Bars[0], c.Bars[len(c.Bars)-1]
	if neg.X+neg.W > zero.X+0.01 || pos.X < zero.X-0.01 {
		t.Errorf("bars: negative %+v, positive %+v, zero line at %v", neg, pos, zero.X)
	}
}
