package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentvault"
)

func TestAgentServe_RunsATemplatesAgent(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on the PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	url := fmt.Sprintf("http://127.0.0.1:%d/a2a", port)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := run(t, ctx, "agent", "serve", "--template", "echo-agent", "--param", "url="+url, "--param", "name=Served Echo")
		done <- err
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/.well-known/agent-card.json", port))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the agent did not come up: %v (%v)", err, <-done)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, err := a2a.NewClient(url, a2a.BindingJSONRPC)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: agentvault.UserMessage("hello from the test")})
	if err != nil {
		t.Fatal(err)
	}
	if got := agentvault.AnswerText(resp); !strings.Contains(got, "hello from the test") {
		t.Fatalf("echo answered %q", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after interrupt: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := run(t, context.Background(), "agent", "serve"); err == nil {
		t.Fatal("serve without --template succeeded")
	}
}
