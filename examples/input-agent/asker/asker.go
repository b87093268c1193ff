// Package asker is the executor of the input-required example agent: a distance converter that
// needs two turns. The first message gives a distance in kilometres; the agent answers
// INPUT_REQUIRED with a question ("which unit?"); the follow-up message in the same task names
// the unit, and the agent answers with the converted distance and COMPLETED.
package asker

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// Question is the text of the agent's INPUT_REQUIRED status.
const Question = "Which unit? Reply with one of: miles, metres, feet."

// ArtifactID is the id of the answer's artifact.
const ArtifactID = "conversion"

// units are the units the agent converts kilometres into, by the names a reply may use.
var units = map[string]struct {
	name   string
	perKm  float64
	format string
}{
	"miles": {"miles", 0.621371192, "%.2f"}, "mile": {"miles", 0.621371192, "%.2f"}, "mi": {"miles", 0.621371192, "%.2f"},
	"metres": {"metres", 1000, "%.0f"}, "meters": {"metres", 1000, "%.0f"}, "m": {"metres", 1000, "%.0f"},
	"feet": {"feet", 3280.839895, "%.0f"}, "foot": {"feet", 3280.839895, "%.0f"}, "ft": {"feet", 3280.839895, "%.0f"},
}

// Executor converts kilometres, asking for the unit.
type Executor struct{}

var _ a2a.Executor = Executor{}

// Execute implements a2a.Executor. On a new task the message must be a distance in kilometres
// (else the task is REJECTED) and the task becomes INPUT_REQUIRED with Question. On the
// continuation it reads the unit from the new message: a known unit completes the task with an
// artifact "<km> km = <x> <unit>"; an unknown one asks again.
func (Executor) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	if rc.Task == nil {
		if _, err := kilometres(text(rc.Message)); err != nil {
			return q.Status(ctx, a2apb.TaskState_TASK_STATE_REJECTED, agentText(err.Error()))
		}
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, agentText(Question))
	}
	km, err := kilometres(text(firstUserMessage(rc.Task)))
	if err != nil { // cannot happen: the first turn checked it
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_FAILED, agentText(err.Error()))
	}
	reply := strings.ToLower(strings.TrimSpace(text(rc.Message)))
	u, ok := units[reply]
	if !ok {
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, agentText(fmt.Sprintf("I do not know the unit %q. %s", reply, Question)))
	}
	answer := fmt.Sprintf("%s km = "+u.format+" %s", strconv.FormatFloat(km, 'f', -1, 64), km*u.perKm, u.name)
	a := &a2apb.Artifact{ArtifactId: ArtifactID, Name: "conversion", Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: answer}}}}
	if err := q.Artifact(ctx, a); err != nil {
		return err
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, agentText(answer))
}

// Cancel implements a2a.Executor: nothing to undo (the server sets the task CANCELED).
func (Executor) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

// kilometres parses a distance: a number, optionally followed by "km".
func kilometres(s string) (float64, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.ToLower(s)), "km"))
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1e12 {
		return 0, fmt.Errorf("send a distance in kilometres, such as \"42\" or \"42 km\"")
	}
	return v, nil
}

func firstUserMessage(t *a2apb.Task) *a2apb.Message {
	for _, m := range t.GetHistory() {
		if m.GetRole() == a2apb.Role_ROLE_USER {
			return m
		}
	}
	return nil
}

func text(m *a2apb.Message) string {
	var parts []string
	for _, p := range m.GetParts() {
		if t, ok := p.GetContent().(*a2apb.Part_Text); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func agentText(s string) *a2apb.Message { return a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, s) }

// Card is the agent card of the input agent served at baseURL: JSON-RPC at baseURL/rpc,
// HTTP+JSON at baseURL/rest.
func Card(baseURL string) *a2apb.AgentCard {
	streaming := true
	return &a2apb.AgentCard{
		Name:        "Distance converter",
		Description: "Converts a distance in kilometres; asks which unit you want.",
		Version:     "1.0.0",
		SupportedInterfaces: []*a2apb.AgentInterface{
			{Url: baseURL + "/rpc", ProtocolBinding: a2a.BindingJSONRPC, ProtocolVersion: a2a.ProtocolVersion},
			{Url: baseURL + "/rest", ProtocolBinding: a2a.BindingHTTPJSON, ProtocolVersion: a2a.ProtocolVersion},
		},
		Capabilities:       &a2apb.AgentCapabilities{Streaming: &streaming},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []*a2apb.AgentSkill{{
			Id: "convert", Name: "Convert kilometres", Description: "Converts kilometres to miles, metres or feet, asking for the unit.",
			Tags: []string{"example", "input-required"}, Examples: []string{"42 km"},
		}},
	}
}
