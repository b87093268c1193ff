// Package streamer is the executor of the streaming example agent: it turns the words of the
// client's message into an upper-case "story" and streams it back one word at a time, as chunks
// of a single artifact, between a WORKING and a COMPLETED status.
package streamer

import (
	"context"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// ArtifactID is the id of the one artifact the agent streams.
const ArtifactID = "story"

// MaxWords bounds the story: longer input is cut to its first MaxWords words.
const MaxWords = 1000

// Executor streams the story. Delay is the pause between two chunks (none when zero), so a
// client can watch the stream arrive; a CancelTask or server shutdown ends it at the next chunk.
type Executor struct {
	Delay time.Duration
}

var _ a2a.Executor = Executor{}

// Execute implements a2a.Executor: WORKING, then one artifact chunk per word (the first creates
// the artifact, the others append to it, the last is marked last_chunk), then COMPLETED. A
// message without text is REJECTED.
func (e Executor) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	words := strings.Fields(Text(rc.Message))
	if len(words) == 0 {
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_REJECTED, a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, "send a few words of text to turn into a story"))
	}
	if len(words) > MaxWords {
		words = words[:MaxWords]
	}
	if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, "writing the story")); err != nil {
		return err
	}
	for i, w := range words {
		if i > 0 && e.Delay > 0 {
			t := time.NewTimer(e.Delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		chunk := strings.ToUpper(w)
		if i < len(words)-1 {
			chunk += " "
		}
		a := &a2apb.Artifact{ArtifactId: ArtifactID, Name: "story", Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: chunk}}}}
		if err := q.ArtifactChunk(ctx, a, a2a.Chunk{Append: i > 0, Last: i == len(words)-1}); err != nil {
			return err
		}
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
}

// Cancel implements a2a.Executor. There is nothing to undo: the server cancels Execute's
// context and sets the task CANCELED.
func (Executor) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

// Text is the text of a message: its text parts joined by newlines.
func Text(m *a2apb.Message) string {
	var parts []string
	for _, p := range m.GetParts() {
		if t, ok := p.GetContent().(*a2apb.Part_Text); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// Card is the agent card of the streaming agent served at baseURL: JSON-RPC at baseURL/rpc,
// HTTP+JSON at baseURL/rest, streaming on.
func Card(baseURL string) *a2apb.AgentCard {
	streaming := true
	return &a2apb.AgentCard{
		Name:        "Story streamer",
		Description: "Streams back the words of your message as an upper-case story, one word at a time.",
		Version:     "1.0.0",
		SupportedInterfaces: []*a2apb.AgentInterface{
			{Url: baseURL + "/rpc", ProtocolBinding: a2a.BindingJSONRPC, ProtocolVersion: a2a.ProtocolVersion},
			{Url: baseURL + "/rest", ProtocolBinding: a2a.BindingHTTPJSON, ProtocolVersion: a2a.ProtocolVersion},
		},
		Capabilities:       &a2apb.AgentCapabilities{Streaming: &streaming},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []*a2apb.AgentSkill{{
			Id: "story", Name: "Upper-case story", Description: "Turns words into a streamed upper-case story.",
			Tags: []string{"example", "streaming"}, Examples: []string{"once upon a time"},
		}},
	}
}
