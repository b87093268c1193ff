package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/examples/input-agent/asker"
)

// TestServe_TwoTurnsOnEveryBinding runs the example and has the conversation (a distance,
// INPUT_REQUIRED, the unit, COMPLETED) over each HTTP binding its card lists, with clients
// built from the card it serves.
func TestServe_TwoTurnsOnEveryBinding(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, "", "") }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	vault := agentvault.NewClient(agentvault.WithKeyStore(agentvault.EnvStore{Environ: func() []string { return nil }}))
	defer vault.Close()
	var target *agentvault.Target
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if target, err = vault.Target(ctx, base); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range target.Card.GetSupportedInterfaces() {
		t.Run(in.GetProtocolBinding(), func(t *testing.T) {
			c, err := a2a.NewClient(in.GetUrl(), in.GetProtocolBinding())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			res, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: a2a.NewUserMessage(a2a.TextPart("42 km"))})
			task := res.GetTask()
			if err != nil || task.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED ||
				a2a.MessageText(task.GetStatus().GetMessage()) != asker.Question {
				t.Fatalf("first turn = %v, %v", res, err)
			}
			answer := a2a.NewUserMessage(a2a.TextPart("miles"))
			answer.TaskId, answer.ContextId = task.GetId(), task.GetContextId()
			res, err = c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: answer})
			if err != nil || res.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED ||
				a2a.MessageText(res.GetTask().GetStatus().GetMessage()) != "42 km = 26.10 miles" {
				t.Fatalf("second turn = %v, %v", res, err)
			}
		})
	}
}
