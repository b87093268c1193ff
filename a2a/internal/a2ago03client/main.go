// Command a2ago03client drives the a2a-go v0.3.3 client (its JSON-RPC transport, with the card
// fetched by its default resolver from /.well-known/agent-card.json, the v0.3.0 location that
// v1.0 keeps: the dual-version card) against an A2A agent and prints what it
// saw as one JSON object. The interop test of package a2a runs it against NewJSONRPCHandler; it
// is a separate program because a2a-go's generated protos register the same file name
// ("a2a.proto") as ours and cannot be linked into one binary with them.
//
// Usage: a2ago03client BASE_URL
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2aclient"
	"github.com/a2aproject/a2a-go/a2aclient/agentcard"
)

// report is what the program prints.
type report struct {
	CardURL     string   `json:"cardUrl"`
	SendKind    string   `json:"sendKind"`
	SendState   string   `json:"sendState"`
	SendText    string   `json:"sendText"`
	Stream      []string `json:"stream"`
	GetState    string   `json:"getState"`
	GetID       string   `json:"getId"`
	CancelState string   `json:"cancelState"`
	NotFound    bool     `json:"notFound"`
	NotCancel   bool     `json:"notCancelable"`
	Errors      []string `json:"errors"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: a2ago03client BASE_URL")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := run(ctx, os.Args[1])
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		os.Exit(1)
	}
}

func run(ctx context.Context, base string) *report {
	r := &report{}
	fail := func(what string, err error) { r.Errors = append(r.Errors, what+": "+err.Error()) }

	card, err := agentcard.DefaultResolver.Resolve(ctx, base)
	if err != nil {
		fail("resolve", err)
		return r
	}
	r.CardURL = card.URL
	client, err := a2aclient.NewFromCard(ctx, card)
	if err != nil {
		fail("client", err)
		return r
	}

	// send
	res, err := client.SendMessage(ctx, &a2a.MessageSendParams{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.TextPart{Text: "hi"})})
	if err != nil {
		fail("send", err)
	} else if task, ok := res.(*a2a.Task); ok {
		r.SendKind, r.SendState = "task", string(task.Status.State)
		for _, a := range task.Artifacts {
			for _, p := range a.Parts {
				if tp, ok := p.(a2a.TextPart); ok {
					r.SendText += tp.Text
				}
			}
		}
		// get
		got, err := client.GetTask(ctx, &a2a.TaskQueryParams{ID: task.ID})
		if err != nil {
			fail("get", err)
		} else {
			r.GetState, r.GetID = string(got.Status.State), string(got.ID)
		}
	} else {
		r.SendKind = "message"
	}

	// stream
	for ev, err := range client.SendStreamingMessage(ctx, &a2a.MessageSendParams{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.TextPart{Text: "hi"})}) {
		if err != nil {
			fail("stream", err)
			break
		}
		switch e := ev.(type) {
		case *a2a.Task:
			r.Stream = append(r.Stream, "task:"+string(e.Status.State))
		case *a2a.TaskStatusUpdateEvent:
			r.Stream = append(r.Stream, fmt.Sprintf("status-update:%s:%t", e.Status.State, e.Final))
		case *a2a.TaskArtifactUpdateEvent:
			r.Stream = append(r.Stream, "artifact-update")
		case *a2a.Message:
			r.Stream = append(r.Stream, "message")
		}
	}

	// cancel
	res, err = client.SendMessage(ctx, &a2a.MessageSendParams{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.TextPart{Text: "wait"})})
	if err != nil {
		fail("send wait", err)
	} else if task, ok := res.(*a2a.Task); ok {
		canceled, err := client.CancelTask(ctx, &a2a.TaskIDParams{ID: task.ID})
		if err != nil {
			fail("cancel", err)
		} else {
			r.CancelState = string(canceled.Status.State)
		}
		_, err = client.CancelTask(ctx, &a2a.TaskIDParams{ID: task.ID})
		r.NotCancel = errors.Is(err, a2a.ErrTaskNotCancelable)
	}

	// errors
	_, err = client.GetTask(ctx, &a2a.TaskQueryParams{ID: "no-such-task"})
	r.NotFound = errors.Is(err, a2a.ErrTaskNotFound)
	return r
}
