package teg_test

import (
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

// TestStaking_NeedsKeyedState: a store without keyed state refuses staking commands with an
// internal error, not a panic or a silent success.
func TestStaking_NeedsKeyedState(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a")
	_, res, err := h.l.Apply(t.Context(), h.m, h.m.head, []teg.Command{{Kind: teg.KindStake, ID: "s", From: "agt_a", Amount: avt.AVT(20), Staking: &teg.StakingArgs{}}}, false)
	if err == nil && (len(res) == 0 || res[0].Err == nil) {
		t.Fatal("a stake on a store without keyed state succeeded")
	}
	if err == nil {
		err = res[0].Err
	}
	if apperr.KindOf(err) != apperr.Internal {
		t.Fatalf("got %v, want an internal error", err)
	}
}

// TestStaking_ValidatesShape: malformed staking commands are refused before any state is read.
func TestStaking_ValidatesShape(t *testing.T) {
	h := newHarness(t)
	bad := map[string]teg.Command{
		"INVALID_AMOUNT":      {Kind: teg.KindStake, ID: "a", From: "agt_a", Staking: &teg.StakingArgs{}},
		"SYSTEM_ACCOUNT":      {Kind: teg.KindStake, ID: "b", From: "sys:treasury", Amount: avt.AVT(20)},
		"VALIDATOR_NOT_FOUND": {Kind: teg.KindStake, ID: "c", From: "agt_a", Amount: avt.AVT(20), Staking: &teg.StakingArgs{Validator: "sys:bonded"}},
		"SAME_VALIDATOR":      {Kind: teg.KindRedelegate, ID: "d", From: "agt_a", Amount: avt.AVT(20), Staking: &teg.StakingArgs{Validator: "agt_v", To: "agt_v"}},
		"INVALID_COMMISSION":  {Kind: teg.KindValidatorEdit, ID: "e", From: "agt_a", Staking: &teg.StakingArgs{CommissionBps: ptr(uint64(10001))}},
		"INVALID_FRACTION":    {Kind: teg.KindSlash, ID: "f", Staking: &teg.StakingArgs{Validator: "agt_v", FractionBps: 0}},
		"EPOCH_OUT_OF_ORDER":  {Kind: teg.KindEpoch, ID: "g", Staking: &teg.StakingArgs{}},
		"UNBONDING_NOT_FOUND": {Kind: teg.KindRelease, ID: "h", Staking: &teg.StakingArgs{Entry: "no-slash"}},
		"INVALID_TRANSFER_ID": {Kind: teg.KindStake, ID: "", From: "agt_a", Amount: avt.AVT(20)},
	}
	for code, c := range bad {
		_, res, err := h.l.Apply(t.Context(), h.m, h.m.head, []teg.Command{c}, false)
		if err == nil {
			err = res[0].Err
		}
		if apperr.CodeOf(err) != code {
			t.Errorf("%s: got %v", code, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
