package portal

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/teg"
)

// The pictures are drawn here as numbers (coordinates, labels) and rendered as inline SVG by
// the "chart" and "graph" templates: presentation attributes only (no style, no script), a
// title and a description for screen readers, and a text summary (Summary) that says what the
// picture shows.

// chart is a line or bar chart in a view box 600 wide and Height high.
type chart struct {
	ID      string
	Title   string
	Summary string
	Height  float64
	// Line is a polyline's points ("x,y x,y …"); Bars are the bars of a bar chart.
	Line   string
	Dots   []point
	Bars   []bar
	Labels []label
}

type point struct{ X, Y float64 }

type bar struct {
	X, Y, W, H float64
	Fill       string
	Label      string
}

type label struct {
	X, Y   float64
	Text   string
	Anchor string
}

// chartW, chartH are the charts' view box; pad leaves room for the axis labels.
const (
	chartW, chartH = 600.0, 200.0
	pad            = 30.0
)

func amountFloat(a avt.Amount) float64 {
	f, _ := strconv.ParseFloat(a.String(), 64)
	return f
}

// balanceChart draws agent's total balance after each event of history (newest first), from
// the balance now backwards. Events that only move AVT between the wallet's own buckets
// (staking, holds) leave the total as it was.
func balanceChart(agent teg.AccountID, now avt.Amount, history []teg.Transfer) *chart {
	c := &chart{ID: "balance-chart", Title: "Balance over time", Height: chartH}
	if len(history) == 0 {
		return nil
	}
	// values[i] is the balance after event i, oldest first.
	values := make([]float64, len(history)+1)
	bal := amountFloat(now)
	values[len(history)] = bal
	for i, t := range history { // newest first: undo each
		amt, in, out := delta(agent, t)
		switch {
		case in:
			bal -= amountFloat(amt)
		case out:
			bal += amountFloat(amt)
		}
		values[len(history)-1-i] = bal
	}
	lo, hi := slices.Min(values), slices.Max(values)
	lo = math.Min(lo, 0)
	if hi == lo {
		hi = lo + 1
	}
	n := len(values)
	var pts []string
	for i, val := range values {
		x := pad + (chartW-2*pad)*float64(i)/float64(max(n-1, 1))
		y := chartH - pad - (chartH-2*pad)*(val-lo)/(hi-lo)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		c.Dots = append(c.Dots, point{X: x, Y: y})
	}
	c.Line = strings.Join(pts, " ")
	c.Labels = []label{
		{X: pad - 4, Y: pad + 4, Text: trimAmount(hi), Anchor: "end"},
		{X: pad - 4, Y: chartH - pad + 4, Text: trimAmount(lo), Anchor: "end"},
		{X: pad, Y: chartH - 8, Text: fmtTime(history[len(history)-1].CreatedAt), Anchor: "start"},
		{X: chartW - pad, Y: chartH - 8, Text: fmtTime(history[0].CreatedAt), Anchor: "end"},
	}
	first := values[0]
	c.Summary = fmt.Sprintf("Over the last %d ledger events the balance went from %s to %s AVT (lowest %s, highest %s).",
		len(history), trimAmount(first), now.String(), trimAmount(slices.Min(values)), trimAmount(slices.Max(values)))
	return c
}

func trimAmount(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// factorRowH is the height of one factor's bar in factorChart; factorMaxRows bounds the rows.
const (
	factorRowH    = 30.0
	factorMaxRows = 40
)

// factorChart draws the points each factor of a reputation score adds (a bar to the right of the
// zero line) or takes away (to its left), and returns the text of each factor's points as well
// (the page's table shows the same figures).
func factorChart(fs []reputation.Factor) (*chart, []string) {
	c := &chart{ID: "factor-chart", Title: "Reputation factors"}
	texts := make([]string, len(fs))
	var lo, hi float64
	for i, f := range fs {
		texts[i] = fmt.Sprintf("%+.1f", f.Points)
		if math.Abs(f.Points) < 0.05 {
			texts[i] = "0"
		}
		lo, hi = math.Min(lo, f.Points), math.Max(hi, f.Points)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	const labelW, valueW = 170.0, 64.0
	plot := chartW - labelW - valueW
	zero := labelW + plot*(-lo)/span
	rows := fs[:min(len(fs), factorMaxRows)]
	c.Height = float64(len(rows))*factorRowH + 10
	var parts []string
	for i, f := range rows {
		y := 5 + float64(i)*factorRowH
		w := math.Max(plot*math.Abs(f.Points)/span, 1)
		x, fill := zero, "#1d4ed8"
		if f.Points < 0 {
			x, fill = zero-w, "#b42318"
		}
		name := strings.ReplaceAll(f.Name, "_", " ")
		c.Bars = append(c.Bars, bar{X: x, Y: y + 4, W: w, H: factorRowH - 8, Fill: fill, Label: name})
		c.Labels = append(c.Labels, label{X: labelW - 6, Y: y + 20, Text: name, Anchor: "end"},
			label{X: chartW, Y: y + 20, Text: texts[i], Anchor: "end"})
		parts = append(parts, name+" "+texts[i])
	}
	c.Bars = append(c.Bars, bar{X: zero, Y: 0, W: 1, H: c.Height, Fill: "#4f586b", Label: "zero"})
	c.Summary = "Points each factor adds to the score (bars to the left take points away): " + strings.Join(parts, ", ") + "."
	return c, texts
}

// feeChart draws how the fee of q splits: one horizontal bar per share.
func feeChart(q teg.FeeQuote) *chart {
	c := &chart{ID: "fee-chart", Title: "How the fee splits", Height: chartH}
	shares := []struct {
		name string
		a    avt.Amount
		fill string
	}{
		{"treasury", q.Split.Treasury, "#1d4ed8"},
		{"validators", q.Split.Validators, "#17663a"},
		{"stakers", q.Split.Stakers, "#92400e"},
		{"burned", q.Split.Burn, "#b42318"},
	}
	total := amountFloat(q.Fee)
	var parts []string
	for i, s := range shares {
		w := 0.0
		if total > 0 {
			w = (chartW - 200) * amountFloat(s.a) / total
		}
		y := 15 + float64(i)*45
		c.Bars = append(c.Bars, bar{X: 110, Y: y, W: w, H: 28, Fill: s.fill, Label: s.name})
		c.Labels = append(c.Labels, label{X: 104, Y: y + 19, Text: s.name, Anchor: "end"},
			label{X: 116 + w, Y: y + 19, Text: s.a.String() + " AVT", Anchor: "start"})
		parts = append(parts, s.name+" "+s.a.String())
	}
	c.Summary = "A transfer of " + q.Amount.String() + " AVT pays a fee of " + q.Fee.String() + " AVT (" + q.Total.String() +
		" AVT in all). The fee goes to: " + strings.Join(parts, ", ") + " AVT."
	return c
}

// graph is an agent and its counterparties, drawn around it.
type graph struct {
	ID      string
	Title   string
	Summary string
	Center  node
	Nodes   []node
}

type node struct {
	X, Y   float64
	Label  string
	Weight float64 // the line's width
	Count  int
}

// maxGraphNodes bounds the counterparties drawn.
const maxGraphNodes = 8

// counterpartyGraph draws the agent's counterparties in history, the busiest first, each
// joined to the agent by a line as thick as the number of events with it.
func counterpartyGraph(agent string, history []teg.Transfer) *graph {
	counts := map[string]int{}
	for _, t := range history {
		other := ""
		switch {
		case string(t.From) == agent && t.To != "":
			other = string(t.To)
		case string(t.To) == agent && t.From != "":
			other = string(t.From)
		}
		if other != "" && other != agent {
			counts[other]++
		}
	}
	if len(counts) == 0 {
		return nil
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return strings.Compare(a, b)
	})
	if len(names) > maxGraphNodes {
		names = names[:maxGraphNodes]
	}
	g := &graph{ID: "counterparty-graph", Title: "Counterparties", Center: node{X: 300, Y: 150, Label: short(agent)}}
	var parts []string
	for i, n := range names {
		a := 2 * math.Pi * float64(i) / float64(len(names))
		g.Nodes = append(g.Nodes, node{X: 300 + 220*math.Cos(a), Y: 150 + 105*math.Sin(a), Label: short(n),
			Weight: math.Min(1+float64(counts[n]), 8), Count: counts[n]})
		parts = append(parts, fmt.Sprintf("%s (%d)", n, counts[n]))
	}
	g.Summary = fmt.Sprintf("%d counterparties in the events shown: %s.", len(counts), strings.Join(parts, ", "))
	return g
}

// short shortens a long id for a picture's label (the text summary has it whole).
func short(id string) string {
	if len(id) <= 16 {
		return id
	}
	return id[:8] + "…" + id[len(id)-5:]
}
