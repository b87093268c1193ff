package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
)

func TestAPIErrorsReadAsSentences(t *testing.T) {
	for _, c := range []struct {
		err  apiError
		want []string
	}{
		{apiError{Code: "INVALID_FIELD", Message: `field "limit": expected number <= 500`,
			Details: map[string]any{"field": "limit", "in": "query", "errors": []any{map[string]any{"field": "limit", "reason": "expected number <= 500"}}}},
			[]string{"limit: expected number <= 500 [INVALID_FIELD]"}},
		{apiError{Code: "PASSWORD_TOO_SHORT", Message: "password must be at least 12 characters", Details: map[string]any{"field": "password", "min_length": 12.0}},
			[]string{"password must be at least 12 characters (min_length=12) [PASSWORD_TOO_SHORT]"}},
		{apiError{Code: "FORBIDDEN", Message: "agent_card.create requires a verified email address", Details: map[string]any{"decision_id": "dec_1"}},
			[]string{"[FORBIDDEN]", "next: verify your email", "sovereign developer verify"}},
		{apiError{Code: "FORBIDDEN", Message: "not permitted to agent.read", Details: map[string]any{"decision_id": "dec_1"}},
			[]string{"not permitted to agent.read [FORBIDDEN]", "decision dec_1"}},
		{apiError{Code: "INVALID_BOOTSTRAP_TOKEN", Message: "the bootstrap token is invalid"}, []string{"sovereign bootstrap-token create"}},
		{apiError{Code: "AGENT_NOT_FOUND", Message: "no agent with this id"}, []string{"no agent with this id [AGENT_NOT_FOUND]", "sovereign agent list"}},
	} {
		got := c.err.Error()
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.err.Code, got, w)
			}
		}
		if strings.Contains(got, "{") {
			t.Errorf("%s: a JSON dump in %q", c.err.Code, got)
		}
	}
}

func TestUnreachableRegistrySaysWhatToDo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	t.Setenv("SOVEREIGN_TOKEN", "avreg_x")
	_, err = run(t, context.Background(), "whoami", "--registry", "http://"+addr)
	if err == nil || !strings.Contains(err.Error(), "cannot reach the registry at http://"+addr) || !strings.Contains(err.Error(), "is `sovereign up` running?") {
		t.Fatalf("whoami against nothing: %v", err)
	}
	_, err = run(t, context.Background(), "discover", "x", "--registry", "http://"+addr)
	if err == nil || !strings.Contains(explain(err), "sovereign up") {
		t.Fatalf("discover against nothing: %v", err)
	}
	// An error from deeper down gets the next step too, once.
	deep := fmt.Errorf("agentvault: heartbeat: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED})
	if got := explain(deep); strings.Count(got, "sovereign up") != 1 {
		t.Fatalf("explain: %q", got)
	}
	if got := explain(errors.New("plain")); got != "plain" {
		t.Fatalf("explain of a plain error: %q", got)
	}
}
