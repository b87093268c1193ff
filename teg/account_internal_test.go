package teg

import "testing"

func TestSystemIndex_MatchesSystemAccounts(t *testing.T) {
	if len(SystemAccounts) != numSystem {
		t.Fatalf("numSystem %d, %d system accounts", numSystem, len(SystemAccounts))
	}
	for i, id := range SystemAccounts {
		if id.SystemIndex() != i {
			t.Fatalf("%s: SystemIndex %d, want %d", id, id.SystemIndex(), i)
		}
	}
	if AccountID("agt_x").SystemIndex() != -1 || AccountID("sys:other").SystemIndex() != -1 {
		t.Fatal("a non-system account has a system index")
	}
}
