package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var benchPolicyLine = regexp.MustCompile(`(?m)^decisions/s=(\d+) p50_us=(\d+\.\d\d) p99_us=(\d+\.\d\d)$`)

func TestBenchPolicy(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"cached mixed", []string{"--decisions", "500", "--concurrency", "3"}, "decision cache on (8192 entries), input mixed, 500 decisions, 3 goroutines"},
		{"uncached developer", []string{"--decisions", "300", "--cache=false", "--input", "developer"}, "decision cache off, input developer, 300 decisions, 1 goroutines"},
		{"uncached transfer", []string{"--decisions", "300", "--cache=false", "--input", "transfer", "--concurrency", "2"}, "decision cache off, input transfer"},
		{"cached transfer", []string{"--decisions", "1", "--input", "transfer"}, "decision cache on (8192 entries), input transfer, 1 decisions"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, context.Background(), append([]string{"bench", "policy"}, c.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, c.want) {
				t.Fatalf("output lacks %q:\n%s", c.want, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			m := benchPolicyLine.FindStringSubmatch(lines[len(lines)-1])
			if m == nil {
				t.Fatalf("last line is not the figures:\n%s", out)
			}
			rate, _ := strconv.ParseFloat(m[1], 64)
			p50, _ := strconv.ParseFloat(m[2], 64)
			p99, _ := strconv.ParseFloat(m[3], 64)
			if rate <= 0 || p50 <= 0 || p99 < p50 {
				t.Fatalf("implausible figures: %s", lines[len(lines)-1])
			}
		})
	}
}

func TestBenchPolicy_BadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--decisions", "0"},
		{"--concurrency", "0"},
		{"--input", "admin"},
		{"extra"},
	} {
		if out, err := run(t, context.Background(), append([]string{"bench", "policy"}, args...)...); err == nil {
			t.Errorf("%v accepted:\n%s", args, out)
		}
	}
}

func TestBenchPolicy_Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if out, err := run(t, ctx, "bench", "policy", "--decisions", "100"); err == nil {
		t.Fatalf("a cancelled run succeeded:\n%s", out)
	}
}
