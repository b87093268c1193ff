package a2a

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// The task states, shorter to write.
const (
	stateUnspecified   = a2apb.TaskState_TASK_STATE_UNSPECIFIED
	stateSubmitted     = a2apb.TaskState_TASK_STATE_SUBMITTED
	stateWorking       = a2apb.TaskState_TASK_STATE_WORKING
	stateCompleted     = a2apb.TaskState_TASK_STATE_COMPLETED
	stateFailed        = a2apb.TaskState_TASK_STATE_FAILED
	stateCanceled      = a2apb.TaskState_TASK_STATE_CANCELED
	stateInputRequired = a2apb.TaskState_TASK_STATE_INPUT_REQUIRED
	stateRejected      = a2apb.TaskState_TASK_STATE_REJECTED
	stateAuthRequired  = a2apb.TaskState_TASK_STATE_AUTH_REQUIRED
)

// Terminal reports whether s is a terminal state (completed, failed, canceled, rejected): a task
// in one never changes state again and accepts no further messages.
func Terminal(s a2apb.TaskState) bool {
	switch s {
	case stateCompleted, stateFailed, stateCanceled, stateRejected:
		return true
	}
	return false
}

// Interrupted reports whether s is an interrupted state (input-required, auth-required): the
// agent waits for the client, and a message naming the task resumes it.
func Interrupted(s a2apb.TaskState) bool {
	return s == stateInputRequired || s == stateAuthRequired
}

// transitions lists, for each state a task can be in, the states it may move to. A new task
// (UNSPECIFIED: nothing stored yet) may start in any state, so an agent can answer at once with
// a completed or rejected task. SUBMITTED is only ever a first state. Non-terminal states may
// repeat (a WORKING update carrying a progress message). Terminal states have no way out.
var transitions = map[a2apb.TaskState][]a2apb.TaskState{
	stateUnspecified:   {stateSubmitted, stateWorking, stateInputRequired, stateAuthRequired, stateCompleted, stateFailed, stateCanceled, stateRejected},
	stateSubmitted:     {stateWorking, stateInputRequired, stateAuthRequired, stateCompleted, stateFailed, stateCanceled, stateRejected},
	stateWorking:       {stateWorking, stateInputRequired, stateAuthRequired, stateCompleted, stateFailed, stateCanceled, stateRejected},
	stateInputRequired: {stateWorking, stateInputRequired, stateAuthRequired, stateCompleted, stateFailed, stateCanceled, stateRejected},
	stateAuthRequired:  {stateWorking, stateInputRequired, stateAuthRequired, stateCompleted, stateFailed, stateCanceled, stateRejected},
}

// CanTransition reports whether a task in state from may move to state to under the A2A state
// machine. from is TASK_STATE_UNSPECIFIED for a task that does not exist yet.
func CanTransition(from, to a2apb.TaskState) bool {
	return slices.Contains(transitions[from], to)
}

// stateName is the lowercase short name of s ("input-required"), for messages.
func stateName(s a2apb.TaskState) string {
	n := strings.TrimPrefix(s.String(), "TASK_STATE_")
	return strings.ReplaceAll(strings.ToLower(n), "_", "-")
}

// Apply folds one event into task and returns the new task; task is not modified (nil means no
// task yet, which only a Task event may create). It enforces the state machine and the
// identity of the task: an event for another task or context, a state change CanTransition
// forbids, or any change to a terminal task is an *Error with CodeInvalidAgentResponse.
//
//   - Task: replaces the task (ids must match). History is kept when the new one carries none.
//   - Message: appended to the history.
//   - TaskStatusUpdateEvent: sets the status; its message, if any, is appended to the history.
//   - TaskArtifactUpdateEvent: with append, its parts are added to the artifact of the same id
//     (which is created when missing); without, the artifact replaces the one of the same id or
//     is added.
//
// The result shares no memory with ev, so the caller may keep handing ev out.
func Apply(task *a2apb.Task, ev *a2apb.StreamResponse) (*a2apb.Task, error) {
	if t := ev.GetTask(); t != nil {
		if t.GetId() == "" {
			return nil, invalidAgent("task event has no id")
		}
		from := stateUnspecified
		if task != nil {
			if t.GetId() != task.GetId() || t.GetContextId() != task.GetContextId() {
				return nil, invalidAgent("task event for task %q/context %q on task %q/context %q", t.GetId(), t.GetContextId(), task.GetId(), task.GetContextId())
			}
			from = task.GetStatus().GetState()
			if Terminal(from) {
				return nil, invalidAgent("task %s is %s: it cannot change", task.GetId(), stateName(from))
			}
		}
		to := t.GetStatus().GetState()
		if !(task != nil && to == from && !Terminal(to)) && !CanTransition(from, to) {
			return nil, invalidAgent("illegal task state transition %s → %s", stateName(from), stateName(to))
		}
		out := proto.CloneOf(t)
		if task != nil && len(out.History) == 0 {
			out.History = cloneAll(task.History)
		}
		return out, nil
	}
	if task == nil {
		return nil, invalidAgent("a %s event needs a task", eventKind(ev))
	}
	if Terminal(task.GetStatus().GetState()) {
		return nil, invalidAgent("task %s is %s: it cannot change", task.GetId(), stateName(task.GetStatus().GetState()))
	}
	switch p := ev.Payload.(type) {
	case *a2apb.StreamResponse_Message:
		m := p.Message
		if err := sameTask(task, m.GetTaskId(), m.GetContextId(), true); err != nil {
			return nil, err
		}
		out := proto.CloneOf(task)
		out.History = append(out.History, proto.CloneOf(m))
		return out, nil
	case *a2apb.StreamResponse_StatusUpdate:
		u := p.StatusUpdate
		if err := sameTask(task, u.GetTaskId(), u.GetContextId(), false); err != nil {
			return nil, err
		}
		from, to := task.GetStatus().GetState(), u.GetStatus().GetState()
		if !CanTransition(from, to) {
			return nil, invalidAgent("illegal task state transition %s → %s", stateName(from), stateName(to))
		}
		out := proto.CloneOf(task)
		out.Status = proto.CloneOf(u.Status)
		if m := u.Status.GetMessage(); m != nil {
			if n := len(out.History); n == 0 || out.History[n-1].GetMessageId() != m.GetMessageId() {
				out.History = append(out.History, proto.CloneOf(m))
			}
		}
		return out, nil
	case *a2apb.StreamResponse_ArtifactUpdate:
		u := p.ArtifactUpdate
		if err := sameTask(task, u.GetTaskId(), u.GetContextId(), false); err != nil {
			return nil, err
		}
		a := u.GetArtifact()
		if a.GetArtifactId() == "" {
			return nil, invalidAgent("artifact update without an artifact id")
		}
		out := proto.CloneOf(task)
		i := slices.IndexFunc(out.Artifacts, func(x *a2apb.Artifact) bool { return x.GetArtifactId() == a.GetArtifactId() })
		switch {
		case i < 0:
			out.Artifacts = append(out.Artifacts, proto.CloneOf(a))
		case u.GetAppend():
			cur := out.Artifacts[i]
			cur.Parts = append(cur.Parts, cloneAll(a.Parts)...)
			if a.GetName() != "" {
				cur.Name = a.GetName()
			}
			if a.GetDescription() != "" {
				cur.Description = a.GetDescription()
			}
		default:
			out.Artifacts[i] = proto.CloneOf(a)
		}
		return out, nil
	default:
		return nil, invalidAgent("empty event")
	}
}

// sameTask checks that an event's ids name task; a message may leave them empty.
func sameTask(task *a2apb.Task, taskID, contextID string, mayBeEmpty bool) error {
	if mayBeEmpty && taskID == "" && contextID == "" {
		return nil
	}
	if taskID != task.GetId() || contextID != task.GetContextId() {
		return invalidAgent("event for task %q/context %q on task %q/context %q", taskID, contextID, task.GetId(), task.GetContextId())
	}
	return nil
}

func eventKind(ev *a2apb.StreamResponse) string {
	switch ev.Payload.(type) {
	case *a2apb.StreamResponse_Task:
		return "task"
	case *a2apb.StreamResponse_Message:
		return "message"
	case *a2apb.StreamResponse_StatusUpdate:
		return "status-update"
	case *a2apb.StreamResponse_ArtifactUpdate:
		return "artifact-update"
	}
	return "empty"
}

// eventState is the state an event puts its task in, and whether it sets one at all.
func eventState(ev *a2apb.StreamResponse) (a2apb.TaskState, bool) {
	switch p := ev.Payload.(type) {
	case *a2apb.StreamResponse_Task:
		return p.Task.GetStatus().GetState(), true
	case *a2apb.StreamResponse_StatusUpdate:
		return p.StatusUpdate.GetStatus().GetState(), true
	}
	return stateUnspecified, false
}

func invalidAgent(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidAgentResponse, Message: fmt.Sprintf(format, args...)}
}

func cloneAll[M proto.Message](ms []M) []M {
	if ms == nil {
		return nil
	}
	out := make([]M, len(ms))
	for i, m := range ms {
		out[i] = proto.CloneOf(m)
	}
	return out
}
