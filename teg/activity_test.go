package teg_test

import (
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

func TestActivityOf_CountsTransfersFeesRewardsAndDisputes(t *testing.T) {
	filed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ch := &teg.Changes{
		Transfers: []teg.Transfer{
			{Kind: teg.KindTransfer, Amount: avt.AVT(10), Fee: avt.AVT(1)},
			{Kind: teg.KindPost, Amount: avt.AVT(5), Fee: avt.AVT(1)},
			{Kind: teg.KindPending, Amount: avt.AVT(100), Fee: avt.AVT(9)}, // moves nothing yet
			{Kind: teg.KindGrant, Amount: avt.AVT(100)},
		},
		Events: []teg.Event{
			{Kind: teg.KindClaim, Postings: []teg.Posting{{Account: teg.Rewards, Amount: avt.AVT(3), Debit: true}, {Account: "agt_a", Amount: avt.AVT(3)}}},
			{Kind: teg.KindDisputeFile, Data: map[string]string{"dispute": "dsp_1", "state": "OPEN"}},
			{Kind: teg.KindDisputeEvidence, Data: map[string]string{"dispute": "dsp_1", "state": "EVIDENCE"}},
			{Kind: teg.KindDisputeWithdraw, Time: filed.Add(time.Hour), Data: map[string]string{"dispute": "dsp_2", "state": "WITHDRAWN",
				"s/" + teg.DisputeKey("dsp_2"): `{"id":"dsp_2","filed_at":"2026-01-01T00:00:00Z"}`}},
		},
	}
	a := teg.ActivityOf(ch)
	if a.Transfers != 2 || a.Volume != avt.AVT(15) || a.Fees != avt.AVT(2) || a.RewardsPaid != avt.AVT(3) || a.DisputesOpened != 1 {
		t.Fatalf("activity = %+v", a)
	}
	if len(a.Resolutions) != 1 || a.Resolutions[0] != time.Hour {
		t.Fatalf("resolutions = %v", a.Resolutions)
	}
	if (&teg.Activity{}).Empty() != true || a.Empty() {
		t.Fatal("Empty")
	}
}

// BenchmarkActivityOf tallies a full batch of plain transfers, what the ledger's writer does
// after each commit when metrics observe it.
func BenchmarkActivityOf(b *testing.B) {
	ch := &teg.Changes{}
	for i := range teg.MaxBatch {
		ch.Transfers = append(ch.Transfers, teg.Transfer{Kind: teg.KindTransfer, Amount: avt.AVT(uint64(i + 1)), Fee: avt.AVT(1)})
		ch.Events = append(ch.Events, teg.Event{Kind: teg.KindTransfer})
	}
	b.ReportAllocs()
	for b.Loop() {
		if a := teg.ActivityOf(ch); a.Transfers != teg.MaxBatch {
			b.Fatal(a.Transfers)
		}
	}
}
