package asker_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/examples/input-agent/asker"
)

// clients runs the input agent behind both bindings on an httptest server and returns a
// client of each.
func clients(t *testing.T) map[string]*a2a.Client {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	card := asker.Card(srv.URL)
	s := a2a.NewServer(a2a.ServerConfig{Executor: asker.Executor{}, Card: card})
	mux.Handle("/rpc", a2a.NewJSONRPCHandler(s))
	mux.Handle("/rest/", http.StripPrefix("/rest", a2a.NewRESTHandler(s)))
	t.Cleanup(func() { srv.Close(); _ = s.Close() })
	out := map[string]*a2a.Client{}
	for name, iface := range map[string]int{"jsonrpc": 0, "rest": 1} {
		i := card.GetSupportedInterfaces()[iface]
		c, err := a2a.NewClient(i.GetUrl(), i.GetProtocolBinding())
		if err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	return out
}

func send(t *testing.T, c *a2a.Client, taskID, text string) *a2apb.Task {
	t.Helper()
	m := a2a.NewTextMessage(a2apb.Role_ROLE_USER, text)
	m.TaskId = taskID
	res, err := c.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: m})
	if err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
	if res.GetTask() == nil {
		t.Fatalf("send %q: no task in %v", text, res)
	}
	return res.GetTask()
}

func statusText(t *a2apb.Task) string {
	var s []string
	for _, p := range t.GetStatus().GetMessage().GetParts() {
		s = append(s, p.GetText())
	}
	return strings.Join(s, "")
}

func TestAsker_InputRequiredRoundTrip(t *testing.T) {
	for name, c := range clients(t) {
		t.Run(name, func(t *testing.T) {
			task := send(t, c, "", "42 km")
			if task.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED || statusText(task) != asker.Question {
				t.Fatalf("first turn = %v", task)
			}
			// An unknown unit asks again; the task stays open.
			again := send(t, c, task.GetId(), "furlongs")
			if again.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED || !strings.Contains(statusText(again), `"furlongs"`) {
				t.Fatalf("unknown unit = %v", again)
			}
			done := send(t, c, task.GetId(), "miles")
			if done.GetId() != task.GetId() || done.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED {
				t.Fatalf("answer = %v", done)
			}
			if a := done.GetArtifacts(); len(a) != 1 || a[0].GetParts()[0].GetText() != "42 km = 26.10 miles" {
				t.Fatalf("artifact = %v", a)
			}
			// History: question, answers, in order.
			var roles []string
			for _, m := range done.GetHistory() {
				roles = append(roles, strings.TrimPrefix(m.GetRole().String(), "ROLE_"))
			}
			if got := strings.Join(roles, ","); got != "USER,AGENT,USER,AGENT,USER,AGENT" {
				t.Fatalf("history roles = %s", got)
			}
			// A completed task takes no more messages.
			m := a2a.NewTextMessage(a2apb.Role_ROLE_USER, "feet")
			m.TaskId = task.GetId()
			if _, err := c.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: m}); !errors.Is(err, a2a.ErrUnsupportedOperation) {
				t.Fatalf("message to a completed task = %v", err)
			}
		})
	}
}

func TestAsker_RejectsWhatIsNotADistance(t *testing.T) {
	c := clients(t)["jsonrpc"]
	if task := send(t, c, "", "far away"); task.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_REJECTED {
		t.Fatalf("task = %v", task)
	}
}

func TestAsker_CancelTheInputRequiredTask(t *testing.T) {
	for name, c := range clients(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			task := send(t, c, "", "3")
			canceled, err := c.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: task.GetId()})
			if err != nil || canceled.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_CANCELED {
				t.Fatalf("cancel = %v, %v", canceled, err)
			}
			if _, err := c.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: task.GetId()}); !errors.Is(err, a2a.ErrTaskNotCancelable) {
				t.Fatalf("cancel again = %v", err)
			}
			m := a2a.NewTextMessage(a2apb.Role_ROLE_USER, "feet")
			m.TaskId = task.GetId()
			if _, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: m}); !errors.Is(err, a2a.ErrUnsupportedOperation) {
				t.Fatalf("answer after cancel = %v", err)
			}
			got, err := c.GetTask(ctx, &a2apb.GetTaskRequest{Id: task.GetId()})
			if err != nil || got.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_CANCELED {
				t.Fatalf("get = %v, %v", got, err)
			}
		})
	}
}
