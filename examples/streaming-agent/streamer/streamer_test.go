package streamer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/examples/streaming-agent/streamer"
)

// serve runs the streaming agent behind both bindings and its card on an httptest server.
func serve(t *testing.T, ex streamer.Executor) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	card := streamer.Card(srv.URL)
	s := a2a.NewServer(a2a.ServerConfig{Executor: ex, Card: card})
	mux.Handle("/rpc", a2a.NewJSONRPCHandler(s))
	mux.Handle("/rest/", http.StripPrefix("/rest", a2a.NewRESTHandler(s)))
	mux.Handle("/.well-known/", a2a.CardHandler(card))
	t.Cleanup(func() { srv.Close(); _ = s.Close() })
	return srv
}

func userMsg(text string) *a2apb.Message {
	m := a2a.NewTextMessage(a2apb.Role_ROLE_USER, text)
	return m
}

// describe names an event for comparison: kind, state or artifact chunk.
func describe(ev *a2apb.StreamResponse) string {
	switch {
	case ev.GetTask() != nil:
		return "task:" + ev.GetTask().GetStatus().GetState().String()
	case ev.GetStatusUpdate() != nil:
		return "status:" + ev.GetStatusUpdate().GetStatus().GetState().String()
	case ev.GetArtifactUpdate() != nil:
		u := ev.GetArtifactUpdate()
		return fmt.Sprintf("artifact:%s:%q:append=%t:last=%t", u.GetArtifact().GetArtifactId(), streamer.Text(&a2apb.Message{Parts: u.GetArtifact().GetParts()}), u.GetAppend(), u.GetLastChunk())
	case ev.GetMessage() != nil:
		return "message"
	}
	return "empty"
}

func TestStreamer_StreamsEveryEventInOrder(t *testing.T) {
	srv := serve(t, streamer.Executor{})
	want := []string{
		"task:TASK_STATE_SUBMITTED",
		"status:TASK_STATE_WORKING",
		`artifact:story:"ONCE ":append=false:last=false`,
		`artifact:story:"UPON ":append=true:last=false`,
		`artifact:story:"A ":append=true:last=false`,
		`artifact:story:"TIME":append=true:last=true`,
		"status:TASK_STATE_COMPLETED",
	}
	for _, b := range []struct{ name, path, binding string }{{"jsonrpc", "/rpc", a2a.BindingJSONRPC}, {"rest", "/rest", a2a.BindingHTTPJSON}} {
		t.Run(b.name, func(t *testing.T) {
			c, err := a2a.NewClient(srv.URL+b.path, b.binding)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var got []string
			var taskID string
			for ev, err := range c.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("once upon  a time")}) {
				if err != nil {
					t.Fatalf("stream: %v (after %v)", err, got)
				}
				got = append(got, describe(ev))
				if ev.GetTask() != nil {
					taskID = ev.GetTask().GetId()
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			task, err := c.GetTask(ctx, &a2apb.GetTaskRequest{Id: taskID})
			if err != nil {
				t.Fatal(err)
			}
			if a := task.GetArtifacts(); len(a) != 1 || streamer.Text(&a2apb.Message{Parts: a[0].GetParts()}) != "ONCE \nUPON \nA \nTIME" {
				t.Fatalf("stored artifact = %v", a)
			}
		})
	}
}

func TestStreamer_SendMessageWaitsForTheWholeStory(t *testing.T) {
	srv := serve(t, streamer.Executor{})
	c, err := a2a.NewClient(srv.URL+"/rpc", a2a.BindingJSONRPC)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: userMsg("hello world")})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED || len(res.GetTask().GetArtifacts()[0].GetParts()) != 2 {
		t.Fatalf("task = %v", res.GetTask())
	}
}

func TestStreamer_RejectsEmptyText(t *testing.T) {
	srv := serve(t, streamer.Executor{})
	c, _ := a2a.NewClient(srv.URL+"/rest", a2a.BindingHTTPJSON)
	res, err := c.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: userMsg("   ")})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_REJECTED {
		t.Fatalf("task = %v", res.GetTask())
	}
}

func TestStreamer_CancelStopsTheStream(t *testing.T) {
	srv := serve(t, streamer.Executor{Delay: 50 * time.Millisecond})
	c, _ := a2a.NewClient(srv.URL+"/rpc", a2a.BindingJSONRPC)
	ctx := context.Background()
	var last string
	n := 0
	for ev, err := range c.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg(strings.Repeat("word ", 100))}) {
		if err != nil {
			t.Fatal(err)
		}
		last = describe(ev)
		if ev.GetArtifactUpdate() != nil {
			if n++; n == 2 {
				if _, err := c.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: ev.GetArtifactUpdate().GetTaskId()}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if last != "status:TASK_STATE_CANCELED" || n > 4 {
		t.Fatalf("last event %s after %d chunks", last, n)
	}
}

func TestStreamer_ServesItsCard(t *testing.T) {
	srv := serve(t, streamer.Executor{})
	res, err := http.Get(srv.URL + a2a.WellKnownCardPath)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("ETag") == "" {
		t.Fatalf("card: %d %v", res.StatusCode, res.Header)
	}
}
