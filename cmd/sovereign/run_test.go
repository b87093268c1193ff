package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// runTestExecutor answers "echo: <text>" in two chunks of one artifact, plus a data and a file
// artifact; the text "fail" fails the task.
type runTestExecutor struct{}

func (runTestExecutor) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	in := rc.Message.GetParts()[0].GetText()
	if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil); err != nil {
		return err
	}
	if in == "fail" {
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_FAILED, a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, "cannot do that"))
	}
	text := func(s string) []*a2apb.Part { return []*a2apb.Part{{Content: &a2apb.Part_Text{Text: s}}} }
	if err := q.ArtifactChunk(ctx, &a2apb.Artifact{ArtifactId: "a1", Name: "answer", Parts: text("echo: ")}, a2a.Chunk{}); err != nil {
		return err
	}
	if err := q.ArtifactChunk(ctx, &a2apb.Artifact{ArtifactId: "a1", Parts: text(in)}, a2a.Chunk{Append: true, Last: true}); err != nil {
		return err
	}
	data, _ := structpb.NewStruct(map[string]any{"length": float64(len(in))})
	if err := q.Artifact(ctx, &a2apb.Artifact{ArtifactId: "a2", Name: "stats", Parts: []*a2apb.Part{{Content: &a2apb.Part_Data{Data: structpb.NewStructValue(data)}}}}); err != nil {
		return err
	}
	img := &a2apb.Part{Content: &a2apb.Part_Raw{Raw: []byte("\x89PNG")}, Filename: "../pic.png", MediaType: "image/png"}
	if err := q.Artifact(ctx, &a2apb.Artifact{ArtifactId: "a3", Name: "picture", Parts: []*a2apb.Part{img}}); err != nil {
		return err
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
}

func (runTestExecutor) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error {
	return nil
}

// runTestAgent serves runTestExecutor: its card at the well-known path (asking for an API key
// in X-Agent-Key), JSON-RPC at /rpc. It returns the base URL, the card and the last API key seen.
func runTestAgent(t *testing.T) (string, []byte, func() string) {
	t.Helper()
	srv := a2a.NewServer(a2a.ServerConfig{Executor: runTestExecutor{}})
	t.Cleanup(func() { _ = srv.Close() })
	rpc := a2a.NewJSONRPCHandler(srv)
	var mu sync.Mutex
	var lastKey string
	var card []byte
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == a2a.WellKnownCardPath {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(card)
			return
		}
		mu.Lock()
		lastKey = r.Header.Get("X-Agent-Key")
		mu.Unlock()
		rpc.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	card, _ = json.Marshal(map[string]any{
		"name": "CLI Echo", "description": "echoes for the CLI tests", "version": "1.0.0",
		"supportedInterfaces": []map[string]any{{"url": hs.URL + "/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
		"capabilities":        map[string]any{"streaming": true},
		"securitySchemes":     map[string]any{"key": map[string]any{"apiKeySecurityScheme": map[string]any{"location": "header", "name": "X-Agent-Key"}}},
		"defaultInputModes":   []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
		"skills": []map[string]any{{"id": "echo", "name": "Echo", "description": "Echoes", "tags": []string{"echo"}}},
	})
	return hs.URL, card, func() string { mu.Lock(); defer mu.Unlock(); return lastKey }
}

func TestRun_SendsAndPrintsTheAnswer(t *testing.T) {
	isolateKeyStore(t)
	ctx := context.Background()
	base, card, lastKey := runTestAgent(t)
	if _, err := run(t, ctx, "config", "set", "CLI Echo", "agent-key-1"); err != nil {
		t.Fatal(err)
	}

	out, err := run(t, ctx, "run", "--agent", base, "--input", "hello")
	if err != nil || strings.TrimSpace(out) != "echo: hello" {
		t.Fatalf("run: %v\n%q", err, out)
	}
	if lastKey() != "agent-key-1" {
		t.Fatalf("the agent got API key %q, want the one kept for its card name", lastKey())
	}

	// A card file, input from a file, artifacts written to a directory.
	dir := t.TempDir()
	cardFile := filepath.Join(dir, "card.json")
	inFile := filepath.Join(dir, "in.txt")
	_ = os.WriteFile(cardFile, card, 0o600)
	_ = os.WriteFile(inFile, []byte("from a file"), 0o600)
	arts := filepath.Join(dir, "out")
	out, err = run(t, ctx, "run", "--agent", cardFile, "--input", "@"+inFile, "--output-artifacts", arts)
	if err != nil || !strings.Contains(out, "echo: from a file") {
		t.Fatalf("run with files: %v\n%s", err, out)
	}
	for name, want := range map[string]string{"answer.txt": "echo: from a file", "stats.json": `"length": 11`, "pic.png": "\x89PNG"} {
		b, err := os.ReadFile(filepath.Join(arts, name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Fatalf("artifact %s = %q, %v", name, b, err)
		}
	}
	if entries, _ := os.ReadDir(arts); len(entries) != 3 {
		t.Fatalf("%d artifact files, want 3", len(entries))
	}

	// Input from standard input.
	if out, err := runWithStdin(t, "piped", "run", "--agent", base, "--input", "@-"); err != nil || !strings.Contains(out, "echo: piped") {
		t.Fatalf("run --input @-: %v\n%s", err, out)
	}
}

func TestRun_StreamsEventsAsTheyCome(t *testing.T) {
	isolateKeyStore(t)
	ctx := context.Background()
	base, _, _ := runTestAgent(t)
	arts := t.TempDir()
	out, err := run(t, ctx, "run", "--agent", base, "--input", "streamed", "--stream", "--output-artifacts", arts)
	if err != nil {
		t.Fatalf("run --stream: %v\n%s", err, out)
	}
	for _, want := range []string{"[working]", "echo: streamed\n", "[completed]"} {
		if !strings.Contains(out, want) {
			t.Fatalf("stream output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "[working]") > strings.Index(out, "echo: streamed") || strings.Index(out, "echo: streamed") > strings.Index(out, "[completed]") {
		t.Fatalf("events out of order:\n%s", out)
	}
	// The chunks of one artifact are joined in one file.
	if b, err := os.ReadFile(filepath.Join(arts, "answer.txt")); err != nil || string(b) != "echo: streamed" {
		t.Fatalf("streamed artifact = %q, %v", b, err)
	}
}

func TestRun_FailuresAndBadFlags(t *testing.T) {
	isolateKeyStore(t)
	ctx := context.Background()
	base, _, _ := runTestAgent(t)
	for _, stream := range []string{"--stream=false", "--stream"} {
		if _, err := run(t, ctx, "run", "--agent", base, "--input", "fail", stream); err == nil || !strings.Contains(err.Error(), "failed: cannot do that") {
			t.Fatalf("%s: failed task = %v", stream, err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--input", "x"}, "--agent is required"},
		{[]string{"run", "--agent", base}, "--input is required"},
		{[]string{"run", "--agent", base, "--input", "@/nonexistent/file"}, "--input"},
		{[]string{"run", "--agent", "agt_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C", "--input", "x", "--registry", "http://127.0.0.1:1"}, "agt_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C"},
		{[]string{"run", "--agent", base, "--input", "x", "--as", "agt_unknown"}, "--as agt_unknown"},
	} {
		if _, err := run(t, ctx, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v = %v, want an error with %q", c.args, err, c.want)
		}
	}
}
