package portal

import (
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/fee"
)

func TestBalanceChart_WorksBackFromTheBalanceNow(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	const me = teg.AccountID("agt_me")
	history := []teg.Transfer{ // newest first
		{Kind: teg.KindTransfer, From: me, To: "agt_b", Amount: avt.AVT(10), Fee: avt.MustParse("0.01"), CreatedAt: at.Add(3 * time.Minute)},
		{Kind: teg.KindTransfer, From: "agt_c", To: me, Amount: avt.AVT(5), CreatedAt: at.Add(2 * time.Minute)},
		{Kind: teg.KindStake, From: me, Amount: avt.AVT(50), CreatedAt: at.Add(time.Minute)}, // inside the wallet
		{Kind: teg.KindGrant, From: "sys:treasury", To: me, Amount: avt.AVT(100), CreatedAt: at},
	}
	c := balanceChart(me, avt.MustParse("94.99"), history)
	if c == nil || len(c.Dots) != 5 {
		t.Fatalf("chart %+v", c)
	}
	if !strings.Contains(c.Summary, "from 0 to 94.99 AVT") || !strings.Contains(c.Summary, "highest 105") {
		t.Fatalf("summary %q", c.Summary)
	}
	for _, d := range c.Dots {
		if d.X < pad || d.X > chartW-pad || d.Y < pad || d.Y > chartH-pad {
			t.Fatalf("a point outside the plot: %+v", d)
		}
	}
	if balanceChart(me, avt.AVT(1), nil) != nil {
		t.Fatal("a chart without events")
	}
}

func TestFeeChart_SharesAddUpAndAreNamed(t *testing.T) {
	q := teg.FeeQuote{Amount: avt.AVT(100), Fee: avt.MustParse("0.1"), Total: avt.MustParse("100.1"),
		Split: fee.Split{Treasury: avt.MustParse("0.04"), Validators: avt.MustParse("0.03"), Stakers: avt.MustParse("0.02"), Burn: avt.MustParse("0.01")}}
	c := feeChart(q)
	if len(c.Bars) != 4 || c.Bars[0].W <= c.Bars[3].W || c.Bars[0].W > chartW-200+0.001 {
		t.Fatalf("bars %+v", c.Bars)
	}
	for _, want := range []string{"fee of 0.1 AVT", "treasury 0.04", "burned 0.01"} {
		if !strings.Contains(c.Summary, want) {
			t.Fatalf("summary %q lacks %q", c.Summary, want)
		}
	}
	if z := feeChart(teg.FeeQuote{}); z.Bars[0].W != 0 {
		t.Fatal("a zero fee drew a bar")
	}
}

func TestCounterpartyGraph_BusiestFirstAndBounded(t *testing.T) {
	var h []teg.Transfer
	for i := range 12 {
		other := teg.AccountID("agt_" + string(rune('a'+i)))
		for range i + 1 {
			h = append(h, teg.Transfer{Kind: teg.KindTransfer, From: "agt_me", To: other, Amount: avt.AVT(1)})
		}
	}
	g := counterpartyGraph("agt_me", h)
	if len(g.Nodes) != maxGraphNodes || g.Nodes[0].Label != "agt_l" || g.Nodes[0].Count != 12 {
		t.Fatalf("nodes %+v", g.Nodes)
	}
	if !strings.Contains(g.Summary, "12 counterparties") {
		t.Fatalf("summary %q", g.Summary)
	}
	if counterpartyGraph("agt_me", nil) != nil {
		t.Fatal("a graph without counterparties")
	}
}
