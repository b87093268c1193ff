package cardtemplate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/cardtemplate"
)

// TestWriteProject_BuildsAndServes generates each built-in's project on this module (a replace
// directive), tidies, builds, vets and tests it offline, runs it, and talks to it: the card (with
// ETag and 304) and SendMessage, plus the JSON-RPC errors.
func TestWriteProject_BuildsAndServes(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot build generated projects")
	}
	if testing.Short() {
		t.Skip("builds three projects on the SDK")
	}
	sdkDir, err := filepath.Abs("..") // this module: the generated go.mod replaces the SDK with it
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range cardtemplate.Builtins() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), b.Name)
			values, err := cardtemplate.Resolve(b, map[string]any{"name": `Test "quoted" agent`})
			if err != nil {
				t.Fatal(err)
			}
			card, err := cardtemplate.Render(b, values)
			if err != nil {
				t.Fatal(err)
			}
			if err := cardtemplate.WriteProject(dir, b, card, cardtemplate.ProjectOptions{Module: "example.com/test/" + b.Name, Values: values,
				SDKDir: sdkDir}); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(t.TempDir(), "agent")
			if runtime.GOOS == "windows" {
				bin += ".exe"
			}
			goCmd(t, goBin, dir, "build", "./...")
			goCmd(t, goBin, dir, "vet", "./...")
			goCmd(t, goBin, dir, "test", "./...") // the project's own test: the agent answers its example
			goCmd(t, goBin, dir, "build", "-o", bin, ".")

			env := []string{}
			if b.Kind == cardtemplate.KindLLM {
				llm := fakeLLM(t)
				env = append(env, "OPENAI_BASE_URL="+llm.URL+"/v1", "OPENAI_API_KEY=sk-test", "LLM_MODEL=test-model")
			}
			base := startAgent(t, bin, env)
			checkCard(t, base)
			checkRPC(t, base, b.Kind)
		})
	}
}

func goCmd(t *testing.T, goBin, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOPROXY=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fakeLLM imitates POST /v1/chat/completions of an OpenAI-compatible API: it answers
// "model says: <user text>", or a 503 error for the text "fail".
func fakeLLM(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string `json:"model"`
			Messages []struct{ Role, Content string }
		}
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, `{"error":{"message":"bad request line or key"}}`, http.StatusBadRequest)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "test-model" || len(req.Messages) != 2 ||
			req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
			http.Error(w, `{"error":{"message":"bad body"}}`, http.StatusBadRequest)
			return
		}
		if req.Messages[1].Content == "fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"message":"model overloaded"}}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{
			"message": map[string]any{"role": "assistant", "content": "model says: " + req.Messages[1].Content}}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startAgent runs the binary on a free port until the test ends (stopping it with SIGINT and
// expecting a clean exit) and returns its base URL once it serves.
func startAgent(t *testing.T, bin string, env []string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), append(env, "HOST=127.0.0.1", "PORT="+strconv.Itoa(port))...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if runtime.GOOS != "windows" {
			_ = cmd.Process.Signal(os.Interrupt)
		} else {
			_ = cmd.Process.Kill()
		}
		select {
		case err := <-done:
			if err != nil && runtime.GOOS != "windows" {
				t.Errorf("agent did not exit cleanly on SIGINT: %v\n%s", err, logs.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("agent did not stop within 10s of SIGINT")
		}
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("agent exited: %v\n%s", err, logs.String())
		default:
		}
		if resp, err := http.Get(base + "/.well-known/agent-card.json"); err == nil {
			resp.Body.Close()
			return base
		}
	}
	t.Fatalf("agent did not serve within 15s\n%s", logs.String())
	return ""
}

func checkCard(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/agent-card.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("card: %d, ETag %q, Cache-Control %q", resp.StatusCode, etag, resp.Header.Get("Cache-Control"))
	}
	p, err := agentcard.Parse(context.Background(), body, nil)
	if err != nil {
		t.Fatalf("served card does not validate: %v\n%s", err, body)
	}
	if p.Card.GetName() != `Test "quoted" agent` {
		t.Fatalf("card name = %q", p.Card.GetName())
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/.well-known/agent-card.json", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", resp.StatusCode)
	}
}

type rpcAnswer struct {
	ID     any `json:"id"`
	Result *struct {
		Message struct {
			MessageID string `json:"messageId"`
			Role      string `json:"role"`
			Parts     []struct {
				Text string `json:"text"`
			} `json:"parts"`
		} `json:"message"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func post(t *testing.T, base, body string) rpcAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/a2a", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("A2A-Version", "1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a rpcAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("answer to %s is not JSON: %v", body, err)
	}
	return a
}

func send(t *testing.T, base, text, metadata string) rpcAnswer {
	t.Helper()
	msg := map[string]any{"messageId": "m1", "role": "ROLE_USER", "parts": []any{map[string]any{"text": text}}}
	if metadata != "" {
		msg["metadata"] = json.RawMessage(metadata)
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": "SendMessage", "params": map[string]any{"message": msg}})
	return post(t, base, string(b))
}

func wantText(t *testing.T, a rpcAnswer, want string) {
	t.Helper()
	if a.Error != nil || a.Result == nil {
		t.Fatalf("answer: error %+v, want text %q", a.Error, want)
	}
	m := a.Result.Message
	if m.Role != "ROLE_AGENT" || m.MessageID == "" || len(m.Parts) != 1 || m.Parts[0].Text != want {
		t.Fatalf("answer = %+v, want ROLE_AGENT text %q", m, want)
	}
}

func wantRPCError(t *testing.T, a rpcAnswer, code int, contains string) {
	t.Helper()
	if a.Error == nil || a.Error.Code != code || !strings.Contains(a.Error.Message, contains) {
		t.Fatalf("answer error = %+v, want code %d containing %q", a.Error, code, contains)
	}
}

func checkRPC(t *testing.T, base string, kind cardtemplate.Kind) {
	t.Helper()
	switch kind {
	case cardtemplate.KindEcho:
		wantText(t, send(t, base, `hello "agent"`, ""), `hello "agent"`)
	case cardtemplate.KindLLM:
		wantText(t, send(t, base, "hi", ""), "model says: hi")
		wantRPCError(t, send(t, base, "fail", ""), -32603, "model overloaded")
	case cardtemplate.KindTool:
		wantText(t, send(t, base, "calculate: (1 + 2) * 3.5 - -1", ""), "11.5")
		wantText(t, send(t, base, "the quick\nbrown fox", `{"skill":"word_count"}`), "4 words, 2 lines, 19 characters")
		if a := send(t, base, "", `{"skill":"uuid"}`); a.Result == nil || len(a.Result.Message.Parts[0].Text) != 36 {
			t.Fatalf("uuid answer = %+v", a)
		}
		wantRPCError(t, send(t, base, "calculate: 1/0", ""), -32602, "division by zero")
		wantRPCError(t, send(t, base, "calculate: os.Exit(1)", ""), -32602, "unexpected")
		wantRPCError(t, send(t, base, "no tool here", ""), -32602, "choose a tool")
		wantRPCError(t, send(t, base, "x", `{"skill":"shell"}`), -32602, "unknown tool")
	}
	wantRPCError(t, post(t, base, `{"jsonrpc":"2.0","id":1,"method":"Nope","params":{}}`), -32601, "Nope")
	wantRPCError(t, post(t, base, `{"jsonrpc":"2.0","id":1,`), -32700, "JSON")
	wantRPCError(t, post(t, base, `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"role":"ROLE_AGENT"}}}`), -32602, "")
	wantRPCError(t, post(t, base, `[]`), -32600, "")
}

// TestGoVersion: the generated projects' go directive is this module's.
func TestGoVersion(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "\ngo "+cardtemplate.GoVersion+"\n") {
		t.Fatalf("cardtemplate.GoVersion %s is not the go directive of go.mod", cardtemplate.GoVersion)
	}
}
