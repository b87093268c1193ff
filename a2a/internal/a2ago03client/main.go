// Command a2ago03client drives the a2a-go v0.3.3 client (the transport named by its second
// argument, JSONRPC by default or GRPC, chosen from the card fetched by its default resolver from
// /.well-known/agent-card.json, the v0.3.0 location that v1.0 keeps: the dual-version card)
// against an A2A agent and prints what it saw as one JSON object. The interop tests of package
// a2a run it against this package's server; it is a separate program so that the reference
// client meets the server only over the network, with nothing of ours linked in.
//
// Usage: a2ago03client BASE_URL [JSONRPC|GRPC]
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
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// report is what the program prints.
type report struct {
	CardURL     string   `json:"cardUrl"`
	Transport   string   `json:"transport"`
	Interfaces  []string `json:"interfaces"`
	SendKind    string   `json:"sendKind"`
	SendState   string   `json:"sendState"`
	SendText    string   `json:"sendText"`
	Stream      []string `json:"stream"`
	GetState    string   `json:"getState"`
	GetID       string   `json:"getId"`
	CancelState string   `json:"cancelState"`
	NotFound    bool     `json:"notFound"`
	NotCancel   bool     `json:"notCancelable"`
	Push        []string `json:"push"`
	Resubscribe []string `json:"resubscribe"`
	Errors      []string `json:"errors"`
}

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: a2ago03client BASE_URL [JSONRPC|GRPC]")
		os.Exit(2)
	}
	transport := a2a.TransportProtocolJSONRPC
	if len(os.Args) == 3 {
		transport = a2a.TransportProtocol(os.Args[2])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := run(ctx, os.Args[1], transport)
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		os.Exit(1)
	}
}

func run(ctx context.Context, base string, transport a2a.TransportProtocol) *report {
	r := &report{}
	fail := func(what string, err error) { r.Errors = append(r.Errors, what+": "+err.Error()) }

	card, err := agentcard.DefaultResolver.Resolve(ctx, base)
	if err != nil {
		fail("resolve", err)
		return r
	}
	r.CardURL = card.URL
	for _, i := range card.AdditionalInterfaces {
		r.Interfaces = append(r.Interfaces, string(i.Transport)+" "+i.URL)
	}
	// The client's preference picks the transport among the card's interfaces; gRPC is
	// plaintext here (the test server has no TLS).
	client, err := a2aclient.NewFromCard(ctx, card,
		a2aclient.WithConfig(a2aclient.Config{PreferredTransports: []a2a.TransportProtocol{transport}}),
		a2aclient.WithGRPCTransport(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		fail("client", err)
		return r
	}
	defer func() { _ = client.Destroy() }()
	r.Transport = string(transport)

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
		// A v1.0 server keeps the stream open while the task waits for input (until it is
		// terminal): stop at the first event that says it waits.
		for ev, err := range client.ResubscribeToTask(ctx, &a2a.TaskIDParams{ID: task.ID}) {
			if err != nil {
				fail("resubscribe", err)
				break
			}
			waits := false
			switch e := ev.(type) {
			case *a2a.Task:
				r.Resubscribe = append(r.Resubscribe, "task:"+string(e.Status.State))
				waits = e.Status.State == a2a.TaskStateInputRequired || e.Status.State == a2a.TaskStateAuthRequired
			case *a2a.TaskStatusUpdateEvent:
				r.Resubscribe = append(r.Resubscribe, fmt.Sprintf("status-update:%s:%t", e.Status.State, e.Final))
				waits = e.Final
			default:
				r.Resubscribe = append(r.Resubscribe, fmt.Sprintf("%T", ev))
			}
			if waits {
				break
			}
		}
		canceled, err := client.CancelTask(ctx, &a2a.TaskIDParams{ID: task.ID})
		if err != nil {
			fail("cancel", err)
		} else {
			r.CancelState = string(canceled.Status.State)
		}
		_, err = client.CancelTask(ctx, &a2a.TaskIDParams{ID: task.ID})
		r.NotCancel = errors.Is(err, a2a.ErrTaskNotCancelable) || status.Code(err) == codes.FailedPrecondition
		push(ctx, client, task.ID, r)
	}

	// errors
	_, err = client.GetTask(ctx, &a2a.TaskQueryParams{ID: "no-such-task"})
	r.NotFound = errors.Is(err, a2a.ErrTaskNotFound) || status.Code(err) == codes.NotFound
	return r
}

// push sets, gets, lists and deletes push notification configs of task id, reporting what it
// saw as "set:<id>:<url>", "get:<url>", "list:<n>", "delete", "get-deleted:<found>" — or
// "unsupported" when the agent has no push notifications.
func push(ctx context.Context, client *a2aclient.Client, id a2a.TaskID, r *report) {
	fail := func(what string, err error) { r.Errors = append(r.Errors, what+": "+err.Error()) }
	set, err := client.SetTaskPushConfig(ctx, &a2a.TaskPushConfig{TaskID: id, Config: a2a.PushConfig{ID: "c1", URL: "https://hook.example/a2a", Token: "tok"}})
	if errors.Is(err, a2a.ErrPushNotificationNotSupported) || status.Code(err) == codes.Unimplemented {
		r.Push = append(r.Push, "unsupported")
		return
	}
	if err != nil {
		fail("push set", err)
		return
	}
	r.Push = append(r.Push, "set:"+set.Config.ID+":"+set.Config.URL)
	got, err := client.GetTaskPushConfig(ctx, &a2a.GetTaskPushConfigParams{TaskID: id, ConfigID: "c1"})
	if err != nil {
		fail("push get", err)
		return
	}
	r.Push = append(r.Push, "get:"+got.Config.URL)
	list, err := client.ListTaskPushConfig(ctx, &a2a.ListTaskPushConfigParams{TaskID: id})
	if err != nil {
		fail("push list", err)
		return
	}
	r.Push = append(r.Push, fmt.Sprintf("list:%d", len(list)))
	if err := client.DeleteTaskPushConfig(ctx, &a2a.DeleteTaskPushConfigParams{TaskID: id, ConfigID: "c1"}); err != nil {
		fail("push delete", err)
		return
	}
	r.Push = append(r.Push, "delete")
	_, err = client.GetTaskPushConfig(ctx, &a2a.GetTaskPushConfigParams{TaskID: id, ConfigID: "c1"})
	r.Push = append(r.Push, fmt.Sprintf("get-deleted:%t", err == nil))
}
