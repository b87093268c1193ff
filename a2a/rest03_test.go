package a2a

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	pb03 "github.com/a2aproject/a2a-go/a2apb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TestREST03_Routes drives the v0.3 HTTP+JSON routes (/v1/… without A2A-Version) as a v0.3
// client of that binding would: bodies and answers are the v0.3 proto's messages as ProtoJSON,
// decoded here with the reference v0.3 proto (a2a-go's a2apb).
func TestREST03_Routes(t *testing.T) {
	fake := newFakeHandler()
	srv, _ := serveBindings(t, fake)
	do := func(method, path, version string, body proto.Message) (*http.Response, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := protojson.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = strings.NewReader(string(b))
		}
		return restDo(t, method, srv.URL+"/rest"+path, version, rd)
	}
	decode := func(data []byte, m proto.Message) {
		t.Helper()
		if err := protojson.Unmarshal(data, m); err != nil {
			t.Fatalf("%s is not a %T: %v", data, m, err)
		}
	}
	send := func(text string) *pb03.SendMessageRequest {
		return &pb03.SendMessageRequest{Request: &pb03.Message{MessageId: "m-" + text, Role: pb03.Role_ROLE_USER,
			Parts: []*pb03.Part{{Part: &pb03.Part_Text{Text: text}}}}}
	}

	// message:send — the body's message is "message" (the proto field's json_name)
	resp, data := do("POST", "/v1/message:send", "", send("hi"))
	var sent pb03.SendMessageResponse
	decode(data, &sent)
	task := sent.GetTask()
	if resp.StatusCode != 200 || task.GetStatus().GetState() != pb03.TaskState_TASK_STATE_COMPLETED ||
		task.GetArtifacts()[0].GetParts()[0].GetText() != "echo: hi" {
		t.Fatalf("send = %d %s", resp.StatusCode, data)
	}
	resp, data = do("POST", "/v1/message:send", "0.3", send("hello-msg"))
	decode(data, &sent)
	if resp.StatusCode != 200 || sent.GetMsg().GetRole() != pb03.Role_ROLE_AGENT {
		t.Fatalf("send for a message = %d %s", resp.StatusCode, data)
	}

	// tasks/{id}
	resp, data = do("GET", "/v1/tasks/"+task.GetId()+"?historyLength=1", "", nil)
	var got pb03.Task
	decode(data, &got)
	if resp.StatusCode != 200 || got.GetId() != task.GetId() || got.GetStatus().GetState() != pb03.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("get = %d %s", resp.StatusCode, data)
	}

	// message:stream: SSE of StreamResponse; the terminal status update is final
	resp, data = do("POST", "/v1/message:stream", "", send("yo"))
	evs := sseEvents(t, data)
	if resp.Header.Get("Content-Type") != contentTypeSSE || len(evs) != 4 {
		t.Fatalf("stream = %d %q", resp.StatusCode, data)
	}
	var kinds []string
	for _, ev := range evs {
		var sr pb03.StreamResponse
		decode(ev, &sr)
		switch p := sr.GetPayload().(type) {
		case *pb03.StreamResponse_Task:
			kinds = append(kinds, "task")
		case *pb03.StreamResponse_StatusUpdate:
			kinds = append(kinds, p.StatusUpdate.GetStatus().GetState().String()+map[bool]string{true: ":final"}[p.StatusUpdate.GetFinal()])
		case *pb03.StreamResponse_ArtifactUpdate:
			kinds = append(kinds, "artifact:"+p.ArtifactUpdate.GetArtifact().GetParts()[0].GetText())
		}
	}
	if strings.Join(kinds, ",") != "task,TASK_STATE_WORKING,artifact:echo: yo,TASK_STATE_COMPLETED:final" {
		t.Fatalf("stream kinds = %v", kinds)
	}

	// :cancel and :subscribe on a working task
	resp, data = do("POST", "/v1/message:send", "", send("wait"))
	decode(data, &sent)
	waiting := sent.GetTask().GetId()
	resp, data = do("GET", "/v1/tasks/"+waiting+":subscribe", "", nil)
	if evs := sseEvents(t, data); resp.StatusCode != 200 || len(evs) != 2 {
		t.Fatalf("subscribe = %d %q", resp.StatusCode, data)
	}
	resp, data = do("POST", "/v1/tasks/"+waiting+":cancel", "", nil)
	decode(data, &got)
	if resp.StatusCode != 200 || got.GetStatus().GetState() != pb03.TaskState_TASK_STATE_CANCELLED {
		t.Fatalf("cancel = %d %s", resp.StatusCode, data)
	}

	// push notification configs: create (the route's body, TaskPushNotificationConfig, or the
	// whole request), get, list, delete
	resp, data = do("POST", "/v1/tasks/"+waiting+"/pushNotificationConfigs", "", &pb03.TaskPushNotificationConfig{
		PushNotificationConfig: &pb03.PushNotificationConfig{Id: "c1", Url: "https://hook.example/a", Token: "tok",
			Authentication: &pb03.AuthenticationInfo{Schemes: []string{"Bearer"}, Credentials: "x"}}})
	var cfg pb03.TaskPushNotificationConfig
	decode(data, &cfg)
	if resp.StatusCode != 200 || cfg.GetName() != "tasks/"+waiting+"/pushNotificationConfigs/c1" ||
		cfg.GetPushNotificationConfig().GetAuthentication().GetSchemes()[0] != "Bearer" {
		t.Fatalf("create push = %d %s", resp.StatusCode, data)
	}
	resp, data = do("POST", "/v1/tasks/"+waiting+"/pushNotificationConfigs", "", &pb03.CreateTaskPushNotificationConfigRequest{
		Parent: "tasks/" + waiting, ConfigId: "c2",
		Config: &pb03.TaskPushNotificationConfig{PushNotificationConfig: &pb03.PushNotificationConfig{Url: "https://hook.example/b"}}})
	decode(data, &cfg)
	if resp.StatusCode != 200 || cfg.GetPushNotificationConfig().GetId() != "c2" {
		t.Fatalf("create push (whole request) = %d %s", resp.StatusCode, data)
	}
	resp, data = do("GET", "/v1/tasks/"+waiting+"/pushNotificationConfigs/c1", "", nil)
	decode(data, &cfg)
	if resp.StatusCode != 200 || cfg.GetPushNotificationConfig().GetUrl() != "https://hook.example/a" {
		t.Fatalf("get push = %d %s", resp.StatusCode, data)
	}
	resp, data = do("GET", "/v1/tasks/"+waiting+"/pushNotificationConfigs", "", nil)
	var list pb03.ListTaskPushNotificationConfigResponse
	decode(data, &list)
	if resp.StatusCode != 200 || len(list.GetConfigs()) != 2 {
		t.Fatalf("list push = %d %s", resp.StatusCode, data)
	}
	if resp, data = do("DELETE", "/v1/tasks/"+waiting+"/pushNotificationConfigs/c1", "", nil); resp.StatusCode != 200 || string(data) != "{}" {
		t.Fatalf("delete push = %d %s", resp.StatusCode, data)
	}

	// card: the extended card in the v0.3 form
	resp, data = do("GET", "/v1/card", "", nil)
	var card pb03.AgentCard
	decode(data, &card)
	if resp.StatusCode != 200 || card.GetName() != "extended" || card.GetProtocolVersion() != "0.3.0" || card.GetPreferredTransport() != BindingJSONRPC {
		t.Fatalf("card = %d %s", resp.StatusCode, data)
	}

	// With A2A-Version 1.0, /v1 is an ordinary tenant of the v1.0 routes.
	req, _ := http.NewRequest("POST", srv.URL+"/rest/v1/message:send", strings.NewReader(`{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]}}`))
	req.Header.Set(VersionHeader, "1.0")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 || fake.tenants[len(fake.tenants)-1] != "v1" {
		t.Fatalf("v1.0 tenant v1 = %v %v", resp, err)
	}

	errCases := []struct {
		name, method, path, version string
		body                        proto.Message
		status                      int
		reason                      string
	}{
		{"not found", "GET", "/v1/tasks/nope", "", nil, 404, "TASK_NOT_FOUND"},
		{"not cancelable", "POST", "/v1/tasks/" + task.GetId() + ":cancel", "", nil, 409, "TASK_NOT_CANCELABLE"},
		{"no body", "POST", "/v1/message:send", "", nil, 400, ""},
		{"no message", "POST", "/v1/message:send", "", &pb03.SendMessageRequest{}, 400, ""},
		{"wrong method", "GET", "/v1/message:send", "", nil, 405, ""},
		{"bad history length", "GET", "/v1/tasks/x?historyLength=a", "", nil, 400, ""},
		{"card with 1.0", "GET", "/v1/card", "1.0", nil, 400, "VERSION_NOT_SUPPORTED"},
		{"unknown v0.3 route", "GET", "/v1/nothing/here/at/all", "0.3", nil, 404, ""},
		{"0.3 outside /v1", "GET", "/tasks/x", "0.3", nil, 400, "VERSION_NOT_SUPPORTED"},
		{"unknown push config", "GET", "/v1/tasks/" + waiting + "/pushNotificationConfigs/zz", "", nil, 404, "TASK_NOT_FOUND"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := do(tc.method, tc.path, tc.version, tc.body)
			var b restErrBody
			if resp.StatusCode != tc.status || json.Unmarshal(data, &b) != nil || b.Error.Code != tc.status {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, data, tc.status)
			}
			if tc.reason != "" && (len(b.Error.Details) != 1 || b.Error.Details[0]["reason"] != tc.reason) {
				t.Fatalf("details = %v", b.Error.Details)
			}
		})
	}
}
