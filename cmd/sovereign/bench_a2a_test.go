package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	benchA2ALine        = regexp.MustCompile(`^requests/s=(\d+) p50_ms=(\d+\.\d{3}) p99_ms=(\d+\.\d{3}) errors=0$`)
	benchA2AStreamsLine = regexp.MustCompile(`^streams=(\d+) open=(\d+) rss_mib=\d+ goroutines=\d+ completed=(\d+)$`)
)

func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func TestBenchA2A_RoundTrips(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"jsonrpc task", []string{"--requests", "200", "--concurrency", "4"}, "binding JSONRPC, reply task, 200 requests, 4 concurrent, stream=false"},
		{"rest message", []string{"--requests", "100", "--concurrency", "2", "--binding", "rest", "--reply", "message"}, "binding HTTP+JSON, reply message"},
		{"jsonrpc stream", []string{"--requests", "100", "--concurrency", "3", "--stream"}, "stream=true"},
		{"rest stream", []string{"--requests", "50", "--concurrency", "2", "--stream", "--binding", "rest"}, "binding HTTP+JSON, reply task, 50 requests, 2 concurrent, stream=true"},
		{"grpc task", []string{"--requests", "200", "--concurrency", "4", "--binding", "grpc"}, "binding GRPC, reply task, 200 requests, 4 concurrent, stream=false"},
		{"grpc stream", []string{"--requests", "50", "--concurrency", "2", "--stream", "--binding", "grpc"}, "binding GRPC, reply task, 50 requests, 2 concurrent, stream=true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, context.Background(), append([]string{"bench", "a2a"}, c.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, c.want) {
				t.Fatalf("output lacks %q:\n%s", c.want, out)
			}
			m := benchA2ALine.FindStringSubmatch(lastLine(out))
			if m == nil {
				t.Fatalf("last line is not the figures:\n%s", out)
			}
			rate, _ := strconv.ParseFloat(m[1], 64)
			p50, _ := strconv.ParseFloat(m[2], 64)
			p99, _ := strconv.ParseFloat(m[3], 64)
			if rate <= 0 || p50 <= 0 || p99 < p50 {
				t.Fatalf("implausible figures: %s", lastLine(out))
			}
		})
	}
}

func TestBenchA2A_HoldsStreamsOpen(t *testing.T) {
	for _, binding := range []string{"jsonrpc", "rest"} {
		t.Run(binding, func(t *testing.T) {
			out, err := run(t, context.Background(), "bench", "a2a", "--streams", "40", "--binding", binding)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			m := benchA2AStreamsLine.FindStringSubmatch(lastLine(out))
			if m == nil || m[1] != "40" || m[2] != "40" || m[3] != "40" {
				t.Fatalf("last line: %s\n%s", lastLine(out), out)
			}
			if !strings.Contains(out, "server: 40 tasks held") {
				t.Fatalf("the server did not hold every task:\n%s", out)
			}
		})
	}
}

func TestBenchA2A_BadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--requests", "0"},
		{"--concurrency", "0"},
		{"--binding", "soap"},
		{"--binding", "grpc", "--streams", "10"},
		{"--reply", "nothing"},
		{"--streams", "-1"},
		{"extra"},
	} {
		if out, err := run(t, context.Background(), append([]string{"bench", "a2a"}, args...)...); err == nil {
			t.Errorf("%v accepted:\n%s", args, out)
		}
	}
}

func TestBenchA2A_Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if out, err := run(t, ctx, "bench", "a2a", "--requests", "100"); err == nil {
		t.Fatalf("a cancelled run succeeded:\n%s", out)
	}
}
