package a2a

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	pb03 "github.com/a2aproject/a2a-go/a2apb"
	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// The v0.3 HTTP+JSON binding: the google.api.http routes of the v0.3 proto, all under /v1/, with
// the v0.3 proto's messages as ProtoJSON (as the v0.3 SDKs send them):
//
//	POST   /v1/message:send                              SendMessageRequest → SendMessageResponse
//	POST   /v1/message:stream                            SendMessageRequest → SSE of StreamResponse
//	GET    /v1/tasks/{id}                                ?historyLength= → Task
//	GET    /v1/tasks                                     ListTasks (the v1.0 query parameters)
//	POST   /v1/tasks/{id}:cancel                         → Task
//	GET    /v1/tasks/{id}:subscribe                      SSE of StreamResponse (POST accepted too)
//	POST   /v1/tasks/{id}/pushNotificationConfigs        TaskPushNotificationConfig → the same
//	GET    /v1/tasks/{id}/pushNotificationConfigs        → ListTaskPushNotificationConfigResponse
//	GET    /v1/tasks/{id}/pushNotificationConfigs/{cid}  → TaskPushNotificationConfig
//	DELETE /v1/tasks/{id}/pushNotificationConfigs/{cid}  → {}
//	GET    /v1/card                                      the authenticated extended card (v0.3 form)
//
// Errors are those of the v1.0 routes (HTTP status and google.rpc.Status body).

// isRoute03 reports whether u's path is under /v1/ (after the binding's mount point).
func isRoute03(u *url.URL) bool {
	segs, ok := splitPath(u)
	return ok && len(segs) > 1 && segs[0] == "v1"
}

// serve03 answers a v0.3 request: rt is its route matched as a v1.0 route of tenant "v1" (nil
// with allowed set when only the method is wrong).
func (s *restHandler) serve03(ctx context.Context, w http.ResponseWriter, r *http.Request, rt *restRoute, allowed string) {
	if rt == nil {
		w.Header().Set("Allow", allowed)
		s.writeErrorStatus(ctx, w, http.StatusMethodNotAllowed, &Error{Code: CodeMethodNotFound, Message: "method not allowed"})
		return
	}
	req, err := s.buildRequest03(w, r, rt)
	s.respond(ctx, w, rpcMethods[rt.name], req, err, func(ev *a2apb.StreamResponse) ([]byte, error) {
		return marshalProto(streamToPB03(ev))
	}, resultToPB03)
}

// buildRequest03 makes the v1.0 request of a v0.3 route from its body (the v0.3 proto message),
// path and query.
func (s *restHandler) buildRequest03(w http.ResponseWriter, r *http.Request, rt *restRoute) (proto.Message, error) {
	var body []byte
	if r.Method == http.MethodPost {
		b, err := readBody(w, r, s.cfg.maxBody)
		if err != nil {
			return nil, err
		}
		body = bytes.TrimSpace(b)
	}
	decode := func(m proto.Message) error {
		if len(body) == 0 {
			return &Error{Code: CodeInvalidParams, Message: "request body is required"}
		}
		if err := unmarshalProto(body, m); err != nil {
			return &Error{Code: CodeInvalidParams, Message: "invalid request body: " + err.Error()}
		}
		return nil
	}
	q := r.URL.Query()
	qi := func(names ...string) (int32, error) {
		for _, n := range names {
			if v := q.Get(n); v != "" {
				i, err := strconv.ParseInt(v, 10, 32)
				if err != nil {
					return 0, &Error{Code: CodeInvalidParams, Message: names[0] + " must be an integer"}
				}
				return int32(i), nil
			}
		}
		return 0, nil
	}
	task := "tasks/" + rt.id
	var req proto.Message
	switch rt.name {
	case methodSendMessage, methodSendStreamingMessage:
		sm := &pb03.SendMessageRequest{}
		if err := decode(sm); err != nil {
			return nil, err
		}
		req = sm
	case methodGetTask:
		hl, err := qi("historyLength", "history_length")
		if err != nil {
			return nil, err
		}
		req = &pb03.GetTaskRequest{Name: task, HistoryLength: hl}
	case methodListTasks: // the v1.0 request and query parameters; only the tasks are v0.3
		rt.tenant = ""
		return s.buildRequest(w, r, rt, rpcMethods[rt.name])
	case methodCancelTask:
		req = &pb03.CancelTaskRequest{Name: task}
	case methodSubscribeToTask:
		req = &pb03.TaskSubscriptionRequest{Name: task}
	case methodCreatePushConfig:
		create, err := pushBody03(body)
		if err != nil {
			return nil, err
		}
		create.Parent = task
		req = create
	case methodListPushConfigs:
		ps, err := qi("pageSize", "page_size")
		if err != nil {
			return nil, err
		}
		req = &pb03.ListTaskPushNotificationConfigRequest{Parent: task, PageSize: ps, PageToken: q.Get("pageToken")}
	case methodGetPushConfig:
		req = &pb03.GetTaskPushNotificationConfigRequest{Name: pushNamePB03(rt.id, rt.child)}
	case methodDeletePushConfig:
		req = &pb03.DeleteTaskPushNotificationConfigRequest{Name: pushNamePB03(rt.id, rt.child)}
	case methodGetExtendedAgentCard:
		req = &pb03.GetAgentCardRequest{}
	}
	return requestFromPB03(rt.name, req)
}

// pushBody03 reads the body of a v0.3 push config creation: the TaskPushNotificationConfig of
// the route's body mapping, or — as some v0.3 clients send it — the whole
// CreateTaskPushNotificationConfigRequest or the bare PushNotificationConfig.
func pushBody03(body []byte) (*pb03.CreateTaskPushNotificationConfigRequest, error) {
	if len(body) == 0 {
		return nil, &Error{Code: CodeInvalidParams, Message: "request body is required"}
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		return nil, &Error{Code: CodeInvalidParams, Message: "request body must be a JSON object"}
	}
	bad := func(err error) error {
		return &Error{Code: CodeInvalidParams, Message: "invalid request body: " + err.Error()}
	}
	switch {
	case keys["config"] != nil:
		var full pb03.CreateTaskPushNotificationConfigRequest
		if err := unmarshalProto(body, &full); err != nil {
			return nil, bad(err)
		}
		return &full, nil
	case keys["pushNotificationConfig"] != nil || keys["push_notification_config"] != nil:
		var c pb03.TaskPushNotificationConfig
		if err := unmarshalProto(body, &c); err != nil {
			return nil, bad(err)
		}
		return &pb03.CreateTaskPushNotificationConfigRequest{Config: &c}, nil
	}
	var pc pb03.PushNotificationConfig
	if err := unmarshalProto(body, &pc); err != nil {
		return nil, bad(err)
	}
	return &pb03.CreateTaskPushNotificationConfigRequest{Config: &pb03.TaskPushNotificationConfig{PushNotificationConfig: &pc}}, nil
}
