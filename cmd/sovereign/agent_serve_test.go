package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

func TestAgentServe_HeartbeatsAsARegisteredAgent(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on the PATH")
	}
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	t.Setenv("SOVEREIGN_CREDENTIALS", filepath.Join(t.TempDir(), "credentials.json"))
	t.Setenv("AGENTVAULT_KEYS_FILE", filepath.Join(t.TempDir(), "keys.json"))
	srv, hs := startStack(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	url := fmt.Sprintf("http://127.0.0.1:%d/a2a", port)
	card := filepath.Join(t.TempDir(), "card.json")
	if err := os.WriteFile(card, []byte(`{"name":"Served Echo","description":"An echo","version":"1.0.0",
		"supportedInterfaces":[{"url":"`+url+`","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
		"capabilities":{},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
		"skills":[{"id":"echo","name":"Echo","description":"echo","tags":["echo"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := run(t, ctx, "agent", "register", "--card", card, "--token", srv.AdminKey, "--registry", hs.URL)
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`agt_\w+`).FindString(out)
	if _, err := run(t, ctx, "agent", "serve", "--template", "echo-agent", "--agent", "agt_unknown", "--agent-registry", hs.URL); err == nil {
		t.Fatal("serve --agent of an unknown agent succeeded")
	}
	admin := agentvault.NewRegistry(hs.URL, agentvault.BearerToken(srv.AdminKey))
	if c, err := admin.GetCard(ctx, id); err != nil || c.LastHeartbeatAt != nil {
		t.Fatalf("a heartbeat before serve: %+v %v", c, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := run(t, ctx, "agent", "serve", "--template", "echo-agent", "--param", "url="+url, "--agent", id, "--agent-registry", hs.URL)
		done <- err
	}()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c, err := admin.GetCard(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.LastHeartbeatAt != nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no heartbeat from agent serve --agent (%v)", <-done)
		}
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
}
