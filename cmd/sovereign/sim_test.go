package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// sim economy refuses a run too small for its scenario before doing any work.
func TestSimEconomy_TooSmall(t *testing.T) {
	for _, args := range [][]string{{"--agents", "5"}, {"--days", "3"}} {
		_, err := run(t, context.Background(), append([]string{"sim", "economy"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "at least 20 agents and 20 days") {
			t.Fatalf("%v: %v", args, err)
		}
	}
}

// sim economy --json prints the whole result, the scenario's evidence included (a short run on
// a temporary store).
func TestSimEconomy_JSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the economy for 20 simulated days")
	}
	out, err := run(t, context.Background(), "sim", "economy", "--agents", "20", "--days", "20", "--seed", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Transfers, Disputes, Proposals int
		DeniedCode                     string
		Verified, SupplyConserve       bool
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Transfers == 0 || res.Disputes != 1 || res.Proposals != 3 || res.DeniedCode != "TRANSFER_LIMIT_EXCEEDED" || !res.Verified || !res.SupplyConserve {
		t.Fatalf("%+v", res)
	}
}
