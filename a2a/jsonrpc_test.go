package a2a

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// rawRPC posts body to a JSON-RPC handler over fake with the given A2A-Version ("" for none).
func rawRPC(t *testing.T, h http.Handler, method, version, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "/rpc", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if version != "" {
		r.Header.Set(VersionHeader, version)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

type rpcReply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// checkRPCReply asserts data is a well-formed JSON-RPC 2.0 response and returns it.
func checkRPCReply(t testing.TB, data []byte) rpcReply {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatalf("reply %q is not a JSON object: %v", data, err)
	}
	var r rpcReply
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("reply %q: %v", data, err)
	}
	_, hasResult := fields["result"]
	_, hasID := fields["id"]
	if r.JSONRPC != "2.0" || !hasID || hasResult == (r.Error != nil) {
		t.Fatalf("reply %q is not a JSON-RPC 2.0 response", data)
	}
	if len(r.ID) > 0 && string(r.ID) != "null" && !validID(r.ID) {
		t.Fatalf("reply id %s is neither null, string nor number", r.ID)
	}
	return r
}

// TestJSONRPC_BadInputGetsTheSpecErrors covers every malformed-request case.
func TestJSONRPC_BadInputGetsTheSpecErrors(t *testing.T) {
	h := NewJSONRPCHandler(newFakeHandler(), WithMaxBodyBytes(4096), WithLogger(slog.New(slog.DiscardHandler)))
	tests := []struct {
		name, method, version, body string
		status, code                int
		id                          string
	}{
		{"parse error", "POST", "1.0", `{"jsonrpc":"2.0",`, 200, CodeParseError, "null"},
		{"empty body", "POST", "1.0", ``, 200, CodeParseError, "null"},
		{"trailing garbage", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"GetTask"} x`, 200, CodeParseError, "null"},
		{"batch", "POST", "1.0", `[{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}]`, 200, CodeInvalidRequest, "null"},
		{"empty batch", "POST", "1.0", `[]`, 200, CodeInvalidRequest, "null"},
		{"not an object", "POST", "1.0", `"GetTask"`, 200, CodeInvalidRequest, "null"},
		{"notification", "POST", "1.0", `{"jsonrpc":"2.0","method":"GetTask","params":{"id":"x"}}`, 200, CodeInvalidRequest, "null"},
		{"notification of an unknown method", "POST", "1.0", `{"jsonrpc":"2.0","method":"Nope","params":{}}`, 200, CodeMethodNotFound, "null"},
		{"notification with bad params", "POST", "1.0", `{"jsonrpc":"2.0","method":"GetTask","params":[1]}`, 200, CodeInvalidParams, "null"},
		{"notification missing a required param", "POST", "1.0", `{"jsonrpc":"2.0","method":"GetTask","params":{}}`, 200, CodeInvalidParams, "null"},
		{"null id", "POST", "1.0", `{"jsonrpc":"2.0","id":null,"method":"GetTask","params":{"id":"x"}}`, 200, CodeInvalidRequest, "null"},
		{"object id", "POST", "1.0", `{"jsonrpc":"2.0","id":{"a":1},"method":"GetTask"}`, 200, CodeInvalidRequest, "null"},
		{"wrong jsonrpc", "POST", "1.0", `{"jsonrpc":"1.0","id":7,"method":"GetTask","params":{"id":"x"}}`, 200, CodeInvalidRequest, "7"},
		{"missing jsonrpc", "POST", "1.0", `{"id":"a","method":"GetTask","params":{"id":"x"}}`, 200, CodeInvalidRequest, `"a"`},
		{"missing method", "POST", "1.0", `{"jsonrpc":"2.0","id":1}`, 200, CodeInvalidRequest, "1"},
		{"method not a string", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":5}`, 200, CodeInvalidRequest, "1"},
		{"unknown method", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"Nope"}`, 200, CodeMethodNotFound, "1"},
		{"v0.3 name in 1.0", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{}}`, 200, CodeMethodNotFound, "1"},
		{"v1.0 name in 0.3", "POST", "", `{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}`, 200, CodeMethodNotFound, "1"},
		{"ListTasks in 0.3", "POST", "0.3", `{"jsonrpc":"2.0","id":1,"method":"tasks/list","params":{}}`, 200, CodeMethodNotFound, "1"},
		{"params array", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"GetTask","params":[1]}`, 200, CodeInvalidParams, "1"},
		{"params string", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"GetTask","params":"x"}`, 200, CodeInvalidParams, "1"},
		{"param of wrong type", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":5}}`, 200, CodeInvalidParams, "1"},
		{"missing required param", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{}}`, 200, CodeInvalidParams, "1"},
		{"missing message", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"SendStreamingMessage","params":{}}`, 200, CodeInvalidParams, "1"},
		{"bad enum", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"role":"ROLE_X"}}}`, 200, CodeInvalidParams, "1"},
		{"v0.3 unknown part kind", "POST", "", `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"video"}]}}}`, 200, CodeInvalidParams, "1"},
		{"v0.3 bad role", "POST", "", `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"messageId":"m","role":"boss","parts":[]}}}`, 200, CodeInvalidParams, "1"},
		{"v0.3 params of wrong type", "POST", "", `{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":[]}}`, 200, CodeInvalidParams, "1"},
		{"unsupported version", "POST", "2.0", `{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}`, 200, CodeVersionNotSupported, "1"},
		{"unsupported old version", "POST", "0.2", `{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"x"}}`, 200, CodeVersionNotSupported, "1"},
		{"oversized", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"` + strings.Repeat("x", 5000) + `"}}`, 200, CodeInvalidRequest, "null"},
		{"GET", "GET", "1.0", ``, 405, CodeInvalidRequest, "null"},
		{"task not found", "POST", "1.0", `{"jsonrpc":"2.0","id":"q","method":"GetTask","params":{"id":"x"}}`, 200, CodeTaskNotFound, `"q"`},
		{"panic", "POST", "1.0", `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"panic"}]}}}`, 200, CodeInternalError, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := rawRPC(t, h, tt.method, tt.version, tt.body)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d", w.Code, tt.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q", ct)
			}
			r := checkRPCReply(t, w.Body.Bytes())
			if r.Error == nil || r.Error.Code != tt.code {
				t.Fatalf("reply = %s, want code %d", w.Body.String(), tt.code)
			}
			if string(r.ID) != tt.id {
				t.Fatalf("id = %s, want %s", r.ID, tt.id)
			}
		})
	}
}

// TestJSONRPC_ErrorDataByVersion: v1.0 errors carry a google.rpc.ErrorInfo list, v0.3 errors an
// object or nothing (a2a-go v0.3 decodes data as an object).
func TestJSONRPC_ErrorDataByVersion(t *testing.T) {
	h := NewJSONRPCHandler(newFakeHandler())
	w := rawRPC(t, h, "POST", "9.9", `{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}`)
	r := checkRPCReply(t, w.Body.Bytes())
	var data []map[string]any
	if err := json.Unmarshal(r.Error.Data, &data); err != nil || len(data) != 1 {
		t.Fatalf("data = %s", r.Error.Data)
	}
	if data[0]["reason"] != "VERSION_NOT_SUPPORTED" || data[0]["@type"] != errorInfoType || data[0]["domain"] != errorDomain {
		t.Fatalf("ErrorInfo = %v", data[0])
	}
	w = rawRPC(t, h, "POST", "", `{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"x"}}`)
	r = checkRPCReply(t, w.Body.Bytes())
	if r.Error.Code != CodeTaskNotFound || len(r.Error.Data) != 0 {
		t.Fatalf("v0.3 error = %s", w.Body.String())
	}
}

// TestJSONRPC_V03Shapes checks the v0.3 layer's JSON: kind discriminators, lower-case states
// and roles, the "final" flag of status updates.
func TestJSONRPC_V03Shapes(t *testing.T) {
	h := NewJSONRPCHandler(newFakeHandler())
	w := rawRPC(t, h, "POST", "", `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","messageId":"m","role":"user",
		"parts":[{"kind":"text","text":"hi"},{"kind":"data","data":{"a":1}},{"kind":"file","file":{"name":"f.txt","mimeType":"text/plain","bytes":"aGk="}}]}}}`)
	r := checkRPCReply(t, w.Body.Bytes())
	var task map[string]any
	if err := json.Unmarshal(r.Result, &task); err != nil {
		t.Fatal(err)
	}
	status := task["status"].(map[string]any)
	if task["kind"] != "task" || status["state"] != "completed" {
		t.Fatalf("task = %s", r.Result)
	}
	hist := task["history"].([]any)[0].(map[string]any)
	parts := hist["parts"].([]any)
	if hist["kind"] != "message" || hist["role"] != "user" || len(parts) != 3 {
		t.Fatalf("history = %v", hist)
	}
	kinds := []string{}
	for _, p := range parts {
		kinds = append(kinds, p.(map[string]any)["kind"].(string))
	}
	if !slices.Equal(kinds, []string{"text", "data", "file"}) {
		t.Fatalf("part kinds = %v", kinds)
	}
	if f := parts[2].(map[string]any)["file"].(map[string]any); f["bytes"] != "aGk=" || f["name"] != "f.txt" || f["mimeType"] != "text/plain" {
		t.Fatalf("file part = %v", f)
	}

	w = rawRPC(t, h, "POST", "0.3", `{"jsonrpc":"2.0","id":2,"method":"message/stream","params":{"message":{"kind":"message","messageId":"m2","role":"user","parts":[{"kind":"text","text":"yo"}]}}}`)
	var got []string
	for _, ev := range sseEvents(t, w.Body.Bytes()) {
		r := checkRPCReply(t, ev)
		var e map[string]any
		_ = json.Unmarshal(r.Result, &e)
		s := e["kind"].(string)
		if st, ok := e["status"].(map[string]any); ok {
			s += ":" + st["state"].(string)
		}
		if f, ok := e["final"]; ok {
			s += ":" + map[bool]string{true: "final", false: "more"}[f.(bool)]
		}
		got = append(got, s)
	}
	want := []string{"task:submitted", "status-update:working:more", "artifact-update", "status-update:completed:final"}
	if !slices.Equal(got, want) {
		t.Fatalf("v0.3 stream = %v, want %v", got, want)
	}
}

// sseEvents splits an SSE body into its events' data, checking the framing: every event is one
// "data: " line followed by a blank line.
func sseEvents(t testing.TB, body []byte) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	expectBlank := false
	for sc.Scan() {
		line := sc.Text()
		if expectBlank {
			if line != "" {
				t.Fatalf("event not followed by a blank line: %q", line)
			}
			expectBlank = false
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("unexpected SSE line %q", line)
		}
		out = append(out, []byte(data))
		expectBlank = true
	}
	if expectBlank {
		t.Fatal("stream ends inside an event")
	}
	return out
}

// TestJSONRPC_SSEFraming checks a v1.0 stream on the wire: content type, one JSON-RPC response
// per event with the request's id, events in order; an error before the first event is a plain
// JSON-RPC error response.
func TestJSONRPC_SSEFraming(t *testing.T) {
	srv, _ := serveBindings(t, newFakeHandler())
	post := func(body string) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+"/rpc", strings.NewReader(body))
		req.Header.Set(VersionHeader, "1.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post(`{"jsonrpc":"2.0","id":"s1","method":"SendStreamingMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"yo"}]}}}`)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != contentTypeSSE {
		t.Fatalf("Content-Type = %q", ct)
	}
	body, _ := io.ReadAll(resp.Body)
	var keys []string
	for _, ev := range sseEvents(t, body) {
		r := checkRPCReply(t, ev)
		if string(r.ID) != `"s1"` || r.Error != nil {
			t.Fatalf("event %s", ev)
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(r.Result, &m)
		for k := range m {
			keys = append(keys, k)
		}
	}
	if want := []string{"task", "statusUpdate", "artifactUpdate", "statusUpdate"}; !slices.Equal(keys, want) {
		t.Fatalf("event payloads = %v, want %v", keys, want)
	}

	resp2 := post(`{"jsonrpc":"2.0","id":3,"method":"SubscribeToTask","params":{"id":"nope"}}`)
	defer resp2.Body.Close()
	body, _ = io.ReadAll(resp2.Body)
	// An error known before the first event is a plain JSON-RPC error response, not a stream.
	if ct := resp2.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type of an early error = %q", ct)
	}
	if r := checkRPCReply(t, body); r.Error == nil || r.Error.Code != CodeTaskNotFound || string(r.ID) != "3" {
		t.Fatalf("error reply = %s", body)
	}
}

// FuzzJSONRPCDecode feeds arbitrary bodies (and versions) to the JSON-RPC handler: it never
// panics and every reply — or every event of a stream — is a valid JSON-RPC 2.0 response.
func FuzzJSONRPCDecode(f *testing.F) {
	seeds := []string{
		`{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}`,
		`{"jsonrpc":"2.0","id":"a","method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]}}}`,
		`{"jsonrpc":"2.0","id":2,"method":"SendStreamingMessage","params":{"message":{"messageId":"m","parts":[{"text":"fail-mid"}]}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"message/send","params":{"message":{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"file","file":{"bytes":"!!"}}]}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"message/stream","params":{"message":{"parts":[{"kind":"data","data":[1,2]}]}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"tasks/pushNotificationConfig/set","params":{"taskId":"task-1","pushNotificationConfig":{"url":"u"}}}`,
		`[1,2]`, `{}`, `null`, `{"jsonrpc":"2.0","id":1e999,"method":"GetTask"}`, "\xff\xfe",
	}
	for _, s := range seeds {
		f.Add([]byte(s), "1.0")
		f.Add([]byte(s), "")
	}
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, body []byte, version string) {
		// A fresh handler each time: the fake's task map would otherwise grow without bound.
		h := NewJSONRPCHandler(newFakeHandler(), WithMaxBodyBytes(1<<14), WithLogger(log))
		r := httptest.NewRequest("POST", "/rpc", bytes.NewReader(body))
		if version != "" {
			r.Header.Set(VersionHeader, strings.Map(func(r rune) rune {
				if r < 0x20 || r > 0x7e {
					return -1
				}
				return r
			}, version))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Header().Get("Content-Type") == contentTypeSSE {
			for _, ev := range sseEvents(t, w.Body.Bytes()) {
				checkRPCReply(t, ev)
			}
			return
		}
		checkRPCReply(t, w.Body.Bytes())
	})
}
