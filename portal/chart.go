package portal

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/sovereign-stack/sovereign/reputation"
)

// barChart is a horizontal bar chart drawn on the server as SVG: one bar a row, positive to the
// right of the zero line and negative to its left. Its text alternative is Rows (the page shows
// them as a table, and the SVG carries a title and a description).
type barChart struct {
	Title, Desc string
	Rows        []barRow
}

// barRow is one bar: its label, value and the text shown for it.
type barRow struct {
	Label string
	Value float64
	Text  string
}

// Limits and layout of the chart (SVG user units).
const (
	chartWidth  = 480
	chartLabelW = 150
	chartValueW = 64
	chartRowH   = 30
	chartMaxBar = 40 // rows drawn at most
)

// factorChart is the chart of a score's factors: the points each adds (or takes away).
func factorChart(fs []reputation.Factor) *barChart {
	c := &barChart{Title: "Reputation factors", Desc: "Points each factor adds to the score (bars to the left take points away)."}
	for _, f := range fs {
		text := fmt.Sprintf("%+.1f", f.Points)
		if math.Abs(f.Points) < 0.05 {
			text = "0"
		}
		c.Rows = append(c.Rows, barRow{Label: strings.ReplaceAll(f.Name, "_", " "), Value: f.Points, Text: text})
	}
	return c
}

// SVG draws the chart. Every text in it is escaped; it has no script and no style attribute
// (the Content-Security-Policy allows neither).
func (c *barChart) SVG() template.HTML {
	rows := c.Rows
	if len(rows) > chartMaxBar {
		rows = rows[:chartMaxBar]
	}
	var lo, hi float64
	for _, r := range rows {
		lo, hi = math.Min(lo, r.Value), math.Max(hi, r.Value)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	plot := float64(chartWidth - chartLabelW - chartValueW)
	zero := float64(chartLabelW) + plot*(-lo)/span
	h := len(rows)*chartRowH + 10
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">`, chartWidth, h)
	fmt.Fprintf(&b, `<title id="chart-title">%s</title><desc id="chart-desc">%s</desc>`, esc(c.Title), esc(c.Desc))
	for i, r := range rows {
		y := 5 + i*chartRowH
		w := plot * math.Abs(r.Value) / span
		x, fill := zero, "#1d4ed8"
		if r.Value < 0 {
			x, fill = zero-w, "#b42318"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="16" fill="#1d2330">%s</text>`, 0, y+20, esc(r.Label))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`, x, y+4, math.Max(w, 1), chartRowH-8, fill)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="16" fill="#1d2330" text-anchor="end">%s</text>`, chartWidth, y+20, esc(r.Text))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="0" x2="%.1f" y2="%d" stroke="#4f586b"/>`, zero, zero, h)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built above from escaped text and numbers
}
