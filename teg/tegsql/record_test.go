package tegsql

import (
	"reflect"
	"testing"
	"time"

	"github.com/holiman/uint256"
	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

func drawAmount(t *rapid.T, label string) avt.Amount {
	lo := rapid.Uint64().Draw(t, label+"_lo")
	hi := rapid.Uint64Range(0, 1<<20).Draw(t, label+"_hi")
	a, err := avt.Units(&uint256.Int{lo, hi, 0, 0})
	if err != nil {
		return avt.FromUnits(lo)
	}
	return a
}

func drawAccount(t *rapid.T, label string) teg.AccountID {
	if rapid.Bool().Draw(t, label+"_system") {
		return rapid.SampledFrom(teg.SystemAccounts).Draw(t, label)
	}
	return teg.AccountID(rapid.StringMatching(`agt_[a-z0-9]{0,20}`).Draw(t, label))
}

// TestRecord_RoundTrips encodes random events with their transfers and decodes them back.
func TestRecord_RoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		now := time.UnixMicro(rapid.Int64Range(0, 1<<52).Draw(t, "time")).UTC()
		tr := teg.Transfer{
			ID:          rapid.StringMatching(`[!-~]{1,40}`).Draw(t, "id"),
			Kind:        rapid.SampledFrom(kindCodes[1:]).Draw(t, "kind"),
			From:        drawAccount(t, "from"),
			To:          drawAccount(t, "to"),
			Amount:      drawAmount(t, "amount"),
			Fee:         drawAmount(t, "fee"),
			Held:        drawAmount(t, "held"),
			Message:     rapid.String().Draw(t, "message"),
			PendingID:   rapid.StringMatching(`[!-~]{0,20}`).Draw(t, "pending"),
			Fingerprint: rapid.StringMatching(`[0-9a-f]{32}`).Draw(t, "fp"),
			Seq:         rapid.Uint64Range(1, 1<<40).Draw(t, "seq"),
			CreatedAt:   now,
		}
		if rapid.Bool().Draw(t, "expires") {
			exp := now.Add(time.Duration(rapid.Int64Range(1, 1<<40).Draw(t, "timeout")) * time.Microsecond)
			tr.ExpiresAt = &exp
		}
		e := teg.Event{Seq: tr.Seq, Time: now, Kind: tr.Kind, TransferID: tr.ID, Hash: rapid.StringMatching(`[0-9a-f]{64}`).Draw(t, "hash")}
		for i := range rapid.IntRange(0, 8).Draw(t, "postings") {
			_ = i
			var acct teg.AccountID
			switch rapid.IntRange(0, 2).Draw(t, "ref") {
			case 0:
				acct = tr.From
			case 1:
				acct = tr.To
			default:
				acct = drawAccount(t, "posting_account")
			}
			e.Postings = append(e.Postings, teg.Posting{Account: acct, Part: rapid.SampledFrom(partCodes).Draw(t, "part"),
				Amount: drawAmount(t, "posting_amount"), Debit: rapid.Bool().Draw(t, "debit")})
		}
		if rapid.Bool().Draw(t, "data") {
			e.Data = rapid.MapOfN(rapid.String(), rapid.String(), 1, 4).Draw(t, "data")
		}
		l := links{from: rapid.Uint64().Draw(t, "link_from"), to: rapid.Uint64().Draw(t, "link_to")}
		body := appendRecord(nil, &e, &tr, l)
		ge, gt, gl, err := decodeRecord(e.Seq, e.TransferID, e.Hash, body)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(ge, e) {
			t.Fatalf("event:\n got  %+v\n want %+v", ge, e)
		}
		if !reflect.DeepEqual(gt, tr) {
			t.Fatalf("transfer:\n got  %+v\n want %+v", gt, tr)
		}
		if gl != l {
			t.Fatalf("links: got %+v, want %+v", gl, l)
		}
	})
}

// FuzzDecodeRecord feeds arbitrary bytes to the record decoder: it must return an error or a
// record that encodes back to the same bytes, and never panic.
func FuzzDecodeRecord(f *testing.F) {
	exp := time.UnixMicro(1_800_000_000_000_000).UTC()
	tr := teg.Transfer{ID: "t1", Kind: teg.KindPending, From: "agt_a", To: "agt_b", Amount: avt.AVT(5), Fee: avt.FromUnits(7),
		Held: avt.AVT(6), Message: "hi", Fingerprint: "00112233445566778899aabbccddeeff", ExpiresAt: &exp, Seq: 3}
	e := teg.Event{Seq: 3, Kind: teg.KindPending, TransferID: "t1", Postings: []teg.Posting{
		{Account: "agt_a", Part: teg.Liquid, Amount: avt.AVT(6), Debit: true}, {Account: "agt_a", Part: teg.Locked, Amount: avt.AVT(6)},
		{Account: teg.Treasury, Part: teg.Liquid, Amount: avt.FromUnits(1)}, {Account: "agt_c", Part: teg.Staked, Amount: avt.FromUnits(1)}},
		Data: map[string]string{"k": "v"}}
	f.Add(appendRecord(nil, &e, &tr, links{from: 2, to: 1}))
	f.Add([]byte{recordVersion, 1, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		e, tr, l, err := decodeRecord(1, "id", "", body)
		if err != nil {
			return
		}
		again := appendRecord(nil, &e, &tr, l)
		e2, tr2, l2, err := decodeRecord(1, "id", "", again)
		if err != nil || !reflect.DeepEqual(e, e2) || !reflect.DeepEqual(tr, tr2) || l != l2 {
			t.Fatalf("a decoded record does not survive encode/decode: %v", err)
		}
	})
}
