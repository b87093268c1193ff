package teg_test

import (
	"testing"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

// nextParams is the default set as version v with a fee rate of rate bps.
func nextParams(v int, rate uint64) *teg.Params {
	p := teg.DefaultParams()
	p.Version, p.Fee.RateBps = v, rate
	return &p
}

func TestParams_ChangeIsAnEventAndTheFeesFollowIt(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a", "agt_b")
	before := h.must(teg.Command{Kind: teg.KindTransfer, ID: h.id(), From: "agt_a", To: "agt_b", Amount: avt.AVT(100)})
	if before.Fee != avt.MustParse("0.1") {
		t.Fatalf("fee at 10 bps = %s", before.Fee)
	}
	// A change and a transfer in one batch: the transfer after it pays the new rate.
	res, err := h.run(false,
		teg.Command{Kind: teg.KindParams, ID: "params-2", Params: nextParams(2, 100)},
		teg.Command{Kind: teg.KindTransfer, ID: h.id(), From: "agt_a", To: "agt_b", Amount: avt.AVT(100)})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("%v %+v", err, res)
	}
	if res[1].Transfer.Fee != avt.AVT(1) {
		t.Fatalf("fee at 100 bps = %s", res[1].Transfer.Fee)
	}
	if h.m.head.Params == "" {
		t.Fatal("the head does not carry the set in force")
	}
	in, err := h.l.InForce(h.m.head)
	if err != nil || in.Version != 2 || in.Fee.RateBps != 100 {
		t.Fatalf("in force: %+v %v", in, err)
	}
	ev := h.m.events[len(h.m.events)-2]
	if ev.Kind != teg.KindParams || ev.Data["version"] != "2" || ev.Data["params"] != h.m.head.Params || len(ev.Postings) != 0 {
		t.Fatalf("params event: %+v", ev)
	}
	// The same change again is a replay; the same id with other content is refused.
	if r := h.one(teg.Command{Kind: teg.KindParams, ID: "params-2", Params: nextParams(2, 100)}); r.Err != nil || !r.Replayed {
		t.Fatalf("replay: %+v", r)
	}
	if r := h.one(teg.Command{Kind: teg.KindParams, ID: "params-2", Params: nextParams(2, 50)}); code(r.Err) != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("reuse: %v", r.Err)
	}
	if rep := h.verify(); rep.ParamsVersion != 2 {
		t.Fatalf("verify: params version %d", rep.ParamsVersion)
	}
}

func TestParams_BadChangesAreRefusedAndChangeNothing(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a")
	badFee := nextParams(2, 10)
	badFee.Fee.BurnBps = 0
	noTiers := nextParams(2, 10)
	noTiers.Tiers = nil
	lowSupply := nextParams(2, 10)
	lowSupply.MaxSupply = avt.AVT(10)
	badStake := nextParams(2, 10)
	badStake.Staking.DefaultCommissionBps, badStake.Staking.UnbondingSeconds = 10001, 0
	for _, tc := range []struct {
		name string
		p    *teg.Params
		code string
	}{
		{"no set", nil, "INVALID_PARAMS"},
		{"stale version", nextParams(1, 10), "PARAMS_VERSION_CONFLICT"},
		{"skipped version", nextParams(3, 10), "PARAMS_VERSION_CONFLICT"},
		{"fee shares off", badFee, "INVALID_FEE_SCHEDULE"},
		{"no tiers", noTiers, "INVALID_PARAMS"},
		{"supply below minted", lowSupply, "INVALID_PARAMS"},
		{"staking out of range", badStake, "INVALID_PARAMS"},
	} {
		head := h.m.head
		if r := h.one(teg.Command{Kind: teg.KindParams, ID: h.id(), Params: tc.p}); code(r.Err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, r.Err, tc.code)
		}
		if h.m.head != head {
			t.Errorf("%s: the head moved", tc.name)
		}
	}
	h.verify()
}

func TestVerify_CatchesAForgedParamsEvent(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a")
	h.must(teg.Command{Kind: teg.KindParams, ID: h.id(), Params: nextParams(2, 20)})
	// An event whose set skips a version, re-hashed so that only the params rule can catch it.
	e := h.m.events[len(h.m.events)-1]
	forged := nextParams(3, 20)
	e.Data = map[string]string{"version": "3", "params": forged.Encode()}
	e.Hash = e.ComputeHash()
	v := teg.NewVerifier()
	for _, x := range h.m.events[:len(h.m.events)-1] {
		if err := v.Add(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Add(e); err == nil {
		t.Fatal("a params event that skips a version verified")
	}
	// The head must carry the set the log put in force.
	v = teg.NewVerifier()
	for _, x := range h.m.events {
		if err := v.Add(x); err != nil {
			t.Fatal(err)
		}
	}
	head := h.m.head
	head.Params = ""
	if _, err := v.Check(stored(h), head); err == nil {
		t.Fatal("a head without the set in force verified")
	}
}

func stored(h *harness) []teg.Account {
	var out []teg.Account
	for _, a := range h.m.accounts {
		out = append(out, a)
	}
	return out
}

// FuzzParseParams: any text either fails to parse with INVALID_PARAMS or gives a set whose
// canonical text parses back to the same set; validating it never panics.
func FuzzParseParams(f *testing.F) {
	d := teg.DefaultParams()
	f.Add(d.Encode())
	f.Add(`{"version":2}`)
	f.Add(`{"version":2,"fee":{"rate_bps":10,"min":"1e3"}}`)
	f.Add(`{"tiers":[{"name":"x","per_transfer":"-1"}]}`)
	f.Add(`{"unknown":1}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := teg.ParseParams(s)
		if err != nil {
			if code(err) != "INVALID_PARAMS" {
				t.Fatalf("error code %q", code(err))
			}
			return
		}
		_ = p.Validate()
		again, err := teg.ParseParams(p.Encode())
		if err != nil || again.Encode() != p.Encode() {
			t.Fatalf("round trip: %v\n%s\n%s", err, p.Encode(), again.Encode())
		}
	})
}
