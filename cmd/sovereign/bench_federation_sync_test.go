package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestBenchFederationSync_ColdSyncBetweenTwoRegistries(t *testing.T) {
	out, err := run(t, context.Background(), "bench", "federation", "--sync", "--cards", "120")
	if err != nil || !regexp.MustCompile(`(?m)^cards/s=\d+ cards=120 seconds=[\d.]+\n$`).MatchString(out) {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := run(t, context.Background(), "bench", "federation", "--sync", "--cards", "0"); err == nil || !strings.Contains(err.Error(), "--cards") {
		t.Fatalf("no cards: %v", err)
	}
}
