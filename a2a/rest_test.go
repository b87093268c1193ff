package a2a

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

type restErrBody struct {
	Error struct {
		Code    int              `json:"code"`
		Status  string           `json:"status"`
		Message string           `json:"message"`
		Details []map[string]any `json:"details"`
	} `json:"error"`
}

// TestREST_RoutesErrorsAndVersions checks the HTTP+JSON binding on the wire: routes with and
// without a tenant, the google.rpc.Status error body and HTTP statuses, A2A-Version handling.
func TestREST_RoutesErrorsAndVersions(t *testing.T) {
	fake := newFakeHandler()
	srv, _ := serveBindings(t, fake, WithMaxBodyBytes(2048))
	do := func(method, path, version, body string) (*http.Response, []byte) {
		t.Helper()
		return restDo(t, method, srv.URL+"/rest"+path, version, strings.NewReader(body))
	}
	send := `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]}}`

	resp, data := do("POST", "/message:send", "1.0", send)
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"TASK_STATE_COMPLETED"`) {
		t.Fatalf("send = %d %s", resp.StatusCode, data)
	}
	resp, data = do("POST", "/t%2F1/message:send", "", send)
	if resp.StatusCode != 200 {
		t.Fatalf("tenant send = %d %s", resp.StatusCode, data)
	}
	if fake.tenants[len(fake.tenants)-1] != "t/1" {
		t.Fatalf("tenant = %q", fake.tenants[len(fake.tenants)-1])
	}
	resp, data = do("GET", "/tasks/task-1?historyLength=0", "1.0", "")
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"task-1"`) {
		t.Fatalf("get = %d %s", resp.StatusCode, data)
	}
	resp, data = do("POST", "/message:stream", "1.0", send)
	if resp.Header.Get("Content-Type") != contentTypeSSE || len(sseEvents(t, data)) != 4 {
		t.Fatalf("stream = %d %q", resp.StatusCode, data)
	}

	errCases := []struct {
		name, method, path, version, body string
		status                            int
		grpc, reason                      string
	}{
		{"not found", "GET", "/tasks/nope", "1.0", "", 404, "NOT_FOUND", "TASK_NOT_FOUND"},
		{"not cancelable", "POST", "/tasks/task-1:cancel", "1.0", "", 409, "FAILED_PRECONDITION", "TASK_NOT_CANCELABLE"},
		{"unknown route", "GET", "/nothing/here/at/all", "1.0", "", 404, "NOT_FOUND", ""},
		{"wrong method", "DELETE", "/message:send", "1.0", "", 405, "NOT_FOUND", ""},
		{"bad body", "POST", "/message:send", "1.0", `{"message":`, 400, "INVALID_ARGUMENT", ""},
		{"empty body", "POST", "/message:send", "1.0", ``, 400, "INVALID_ARGUMENT", ""},
		{"bad query", "GET", "/tasks?pageSize=x", "1.0", "", 400, "INVALID_ARGUMENT", ""},
		{"bad status", "GET", "/tasks?status=DONE", "1.0", "", 400, "INVALID_ARGUMENT", ""},
		{"oversized", "POST", "/message:send", "1.0", strings.Repeat(" ", 3000), 413, "INVALID_ARGUMENT", ""},
		{"version 0.3", "GET", "/tasks/task-1", "0.3", "", 400, "UNIMPLEMENTED", "VERSION_NOT_SUPPORTED"},
		{"version 2", "GET", "/tasks/task-1", "2.0", "", 400, "UNIMPLEMENTED", "VERSION_NOT_SUPPORTED"},
		{"no extended card", "GET", "/acme/extendedAgentCard", "1.0", "", 400, "FAILED_PRECONDITION", "EXTENDED_AGENT_CARD_NOT_CONFIGURED"},
	}
	fake.card = nil
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := do(tc.method, tc.path, tc.version, tc.body)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, data, tc.status)
			}
			var b restErrBody
			if err := json.Unmarshal(data, &b); err != nil || b.Error.Code != tc.status || b.Error.Status != tc.grpc || b.Error.Message == "" {
				t.Fatalf("body = %s", data)
			}
			if tc.reason != "" && (len(b.Error.Details) != 1 || b.Error.Details[0]["reason"] != tc.reason || b.Error.Details[0]["@type"] != errorInfoType) {
				t.Fatalf("details = %v", b.Error.Details)
			}
		})
	}

	// An error in the middle of a stream is an event holding the error envelope.
	resp, data = do("POST", "/message:stream", "1.0", `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"fail-mid"}]}}`)
	evs := sseEvents(t, data)
	var last restErrBody
	if len(evs) != 2 || json.Unmarshal(evs[1], &last) != nil || last.Error.Details[0]["reason"] != "UNSUPPORTED_OPERATION" {
		t.Fatalf("stream with error = %q", data)
	}
}

// restDo sends one request with an optional A2A-Version and returns the answer and its body.
func restDo(t *testing.T, method, url, version string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	if version != "" {
		req.Header.Set(VersionHeader, version)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}
