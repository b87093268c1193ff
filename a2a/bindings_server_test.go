package a2a

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// echoExecutor completes a task with an artifact "echo: <text>"; "wait" leaves it input-required.
type echoExecutor struct{}

func (echoExecutor) Execute(ctx context.Context, rc *RequestContext, q *EventQueue) error {
	in := text(rc.Message)
	if in == "wait" {
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, nil)
	}
	if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil); err != nil {
		return err
	}
	if err := q.Artifact(ctx, &a2apb.Artifact{ArtifactId: "a1", Parts: []*a2apb.Part{textPart("echo: " + in)}}); err != nil {
		return err
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
}

func (echoExecutor) Cancel(ctx context.Context, rc *RequestContext, q *EventQueue) error { return nil }

// TestEndToEnd_ServerOverEveryBinding runs the real Server behind the bindings: our Client in
// every mode, and the a2a-go v0.3.3 client, send, stream, get and cancel.
func TestEndToEnd_ServerOverEveryBinding(t *testing.T) {
	s := NewServer(ServerConfig{Executor: echoExecutor{}})
	t.Cleanup(func() { _ = s.Close() })
	srv, _ := serveBindings(t, s)
	ctx := context.Background()
	for _, mode := range clientModes {
		t.Run(mode.name, func(t *testing.T) {
			c, err := NewClient(mode.endpoint(srv), mode.binding, WithProtocolVersion(mode.version))
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("hi")})
			if err != nil {
				t.Fatal(err)
			}
			task := res.GetTask()
			if task.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED || task.GetArtifacts()[0].GetParts()[0].GetText() != "echo: hi" {
				t.Fatalf("send = %v", task)
			}
			kinds, err := streamKinds(t, c.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("yo")}))
			if err != nil || len(kinds) < 3 || kinds[len(kinds)-1] != "status:TASK_STATE_COMPLETED" || !slices.Contains(kinds, "artifact:echo: yo") {
				t.Fatalf("stream = %v, %v", kinds, err)
			}
			got, err := c.GetTask(ctx, &a2apb.GetTaskRequest{Id: task.GetId()})
			if err != nil || got.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED {
				t.Fatalf("get = %v, %v", got, err)
			}
			if _, err := c.GetTask(ctx, &a2apb.GetTaskRequest{Id: "nope"}); !errors.Is(err, ErrTaskNotFound) {
				t.Fatalf("get unknown = %v", err)
			}
			if mode.version == ProtocolVersion {
				list, err := c.ListTasks(ctx, &a2apb.ListTasksRequest{})
				if err != nil || len(list.GetTasks()) == 0 {
					t.Fatalf("list = %v, %v", list, err)
				}
			}
			res, err = c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("wait")})
			if err != nil || res.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED {
				t.Fatalf("send wait = %v, %v", res, err)
			}
			canceled, err := c.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: res.GetTask().GetId()})
			if err != nil || canceled.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_CANCELED {
				t.Fatalf("cancel = %v, %v", canceled, err)
			}
			if _, err := c.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: res.GetTask().GetId()}); !errors.Is(err, ErrTaskNotCancelable) {
				t.Fatalf("cancel again = %v", err)
			}
		})
	}

	t.Run("a2a-go-client", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds and runs the a2a-go client")
		}
		r := runA2AGoClient(t, serveForA2AGo(t, s).URL)
		if r.SendState != "completed" || r.SendText != "echo: hi" || r.GetState != "completed" || r.CancelState != "canceled" || !r.NotFound {
			t.Fatalf("report = %+v", r)
		}
		if len(r.Stream) < 3 || r.Stream[len(r.Stream)-1] != "status-update:completed:true" {
			t.Fatalf("stream = %v", r.Stream)
		}
		if len(r.Resubscribe) == 0 || r.Resubscribe[0] != "task:input-required" {
			t.Fatalf("resubscribe = %v", r.Resubscribe)
		}
		if want := []string{"unsupported"}; !slices.Equal(r.Push, want) { // this server has no push notifications
			t.Fatalf("push configs = %v, want %v", r.Push, want)
		}
	})
}
