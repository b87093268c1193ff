package a2a

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// This file is the v0.3 compatibility layer: the JSON shapes of A2A v0.3 (objects told apart by a
// "kind" field, lower-case enum values, RFC 3339 timestamps) and their translation to and from
// the v1.0 messages. The JSON-RPC handler uses it for requests without A2A-Version 1.0; the
// client uses it to talk to a v0.3 peer. What v1.0 has and v0.3 lacks (tenants, ListTasks,
// part media types of text parts) is dropped on the way down; what v0.3 has and v1.0 lacks
// (status-update "final") is derived on the way up.

// The v0.3 JSON-RPC method names and the v1.0 methods they stand for.
var methods03 = map[string]string{
	"message/send":                        methodSendMessage,
	"message/stream":                      methodSendStreamingMessage,
	"tasks/get":                           methodGetTask,
	"tasks/cancel":                        methodCancelTask,
	"tasks/resubscribe":                   methodSubscribeToTask,
	"tasks/pushNotificationConfig/set":    methodCreatePushConfig,
	"tasks/pushNotificationConfig/get":    methodGetPushConfig,
	"tasks/pushNotificationConfig/list":   methodListPushConfigs,
	"tasks/pushNotificationConfig/delete": methodDeletePushConfig,
	"agent/getAuthenticatedExtendedCard":  methodGetExtendedAgentCard,
}

// method03 is the v0.3 name of a v1.0 method, or "" when v0.3 has none (ListTasks).
func method03(v1 string) string {
	for k, v := range methods03 {
		if v == v1 {
			return k
		}
	}
	return ""
}

type message03 struct {
	Kind             string          `json:"kind"`
	MessageID        string          `json:"messageId"`
	ContextID        string          `json:"contextId,omitempty"`
	TaskID           string          `json:"taskId,omitempty"`
	Role             string          `json:"role"`
	Parts            []part03        `json:"parts"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
	Extensions       []string        `json:"extensions,omitempty"`
	ReferenceTaskIDs []string        `json:"referenceTaskIds,omitempty"`
}

type part03 struct {
	Kind     string          `json:"kind"`
	Text     *string         `json:"text,omitempty"`
	File     *file03         `json:"file,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

type file03 struct {
	Name     string `json:"name,omitempty"`
	MimeType string `json:"mimeType,omitempty"`
	Bytes    string `json:"bytes,omitempty"`
	URI      string `json:"uri,omitempty"`
}

type taskStatus03 struct {
	State     string     `json:"state"`
	Message   *message03 `json:"message,omitempty"`
	Timestamp string     `json:"timestamp,omitempty"`
}

type artifact03 struct {
	ArtifactID  string          `json:"artifactId"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parts       []part03        `json:"parts"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	Extensions  []string        `json:"extensions,omitempty"`
}

type task03 struct {
	Kind      string          `json:"kind"`
	ID        string          `json:"id"`
	ContextID string          `json:"contextId"`
	Status    taskStatus03    `json:"status"`
	Artifacts []artifact03    `json:"artifacts,omitempty"`
	History   []message03     `json:"history,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
}

type statusUpdate03 struct {
	Kind      string          `json:"kind"`
	TaskID    string          `json:"taskId"`
	ContextID string          `json:"contextId"`
	Status    taskStatus03    `json:"status"`
	Final     bool            `json:"final"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
}

type artifactUpdate03 struct {
	Kind      string          `json:"kind"`
	TaskID    string          `json:"taskId"`
	ContextID string          `json:"contextId"`
	Artifact  artifact03      `json:"artifact"`
	Append    bool            `json:"append,omitempty"`
	LastChunk bool            `json:"lastChunk,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
}

type pushAuth03 struct {
	Schemes     []string `json:"schemes"`
	Credentials string   `json:"credentials,omitempty"`
}

type pushConfig03 struct {
	ID             string      `json:"id,omitempty"`
	URL            string      `json:"url"`
	Token          string      `json:"token,omitempty"`
	Authentication *pushAuth03 `json:"authentication,omitempty"`
}

type taskPushConfig03 struct {
	TaskID                 string       `json:"taskId"`
	PushNotificationConfig pushConfig03 `json:"pushNotificationConfig"`
}

type sendConfig03 struct {
	AcceptedOutputModes    []string      `json:"acceptedOutputModes,omitempty"`
	Blocking               *bool         `json:"blocking,omitempty"`
	HistoryLength          *int32        `json:"historyLength,omitempty"`
	PushNotificationConfig *pushConfig03 `json:"pushNotificationConfig,omitempty"`
}

type sendParams03 struct {
	Message       *message03      `json:"message"`
	Configuration *sendConfig03   `json:"configuration,omitempty"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
}

type taskQuery03 struct {
	ID            string          `json:"id"`
	HistoryLength *int32          `json:"historyLength,omitempty"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
}

type taskIDParams03 struct {
	ID       string          `json:"id"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

type pushConfigParams03 struct {
	ID                       string          `json:"id"`
	PushNotificationConfigID string          `json:"pushNotificationConfigId,omitempty"`
	Metadata                 json.RawMessage `json:"metadata,omitempty"`
}

type agentInterface03 struct {
	URL       string `json:"url"`
	Transport string `json:"transport"`
}

type agentCard03 struct {
	ProtocolVersion                   string             `json:"protocolVersion"`
	Name                              string             `json:"name"`
	Description                       string             `json:"description"`
	URL                               string             `json:"url"`
	PreferredTransport                string             `json:"preferredTransport,omitempty"`
	AdditionalInterfaces              []agentInterface03 `json:"additionalInterfaces,omitempty"`
	Provider                          json.RawMessage    `json:"provider,omitempty"`
	Version                           string             `json:"version"`
	DocumentationURL                  string             `json:"documentationUrl,omitempty"`
	IconURL                           string             `json:"iconUrl,omitempty"`
	Capabilities                      capabilities03     `json:"capabilities"`
	DefaultInputModes                 []string           `json:"defaultInputModes"`
	DefaultOutputModes                []string           `json:"defaultOutputModes"`
	Skills                            []json.RawMessage  `json:"skills"`
	SupportsAuthenticatedExtendedCard bool               `json:"supportsAuthenticatedExtendedCard,omitempty"`
}

type capabilities03 struct {
	Streaming         bool            `json:"streaming,omitempty"`
	PushNotifications bool            `json:"pushNotifications,omitempty"`
	Extensions        json.RawMessage `json:"extensions,omitempty"`
}

// invalidParams03 is the error of a v0.3 value that has no v1.0 meaning.
func invalidParams03(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParams, Message: fmt.Sprintf(format, args...)}
}

// --- Enums -------------------------------------------------------------------------------------

var states03 = map[a2apb.TaskState]string{
	a2apb.TaskState_TASK_STATE_UNSPECIFIED:    "unknown",
	a2apb.TaskState_TASK_STATE_SUBMITTED:      "submitted",
	a2apb.TaskState_TASK_STATE_WORKING:        "working",
	a2apb.TaskState_TASK_STATE_COMPLETED:      "completed",
	a2apb.TaskState_TASK_STATE_FAILED:         "failed",
	a2apb.TaskState_TASK_STATE_CANCELED:       "canceled",
	a2apb.TaskState_TASK_STATE_INPUT_REQUIRED: "input-required",
	a2apb.TaskState_TASK_STATE_REJECTED:       "rejected",
	a2apb.TaskState_TASK_STATE_AUTH_REQUIRED:  "auth-required",
}

func stateTo03(s a2apb.TaskState) string {
	if v, ok := states03[s]; ok {
		return v
	}
	return "unknown"
}

func stateFrom03(s string) (a2apb.TaskState, error) {
	for k, v := range states03 {
		if v == s {
			return k, nil
		}
	}
	if s == "" {
		return a2apb.TaskState_TASK_STATE_UNSPECIFIED, nil
	}
	return 0, invalidParams03("unknown task state %q", s)
}

func roleTo03(r a2apb.Role) string {
	switch r {
	case a2apb.Role_ROLE_USER:
		return "user"
	case a2apb.Role_ROLE_AGENT:
		return "agent"
	}
	return ""
}

func roleFrom03(r string) (a2apb.Role, error) {
	switch r {
	case "user":
		return a2apb.Role_ROLE_USER, nil
	case "agent":
		return a2apb.Role_ROLE_AGENT, nil
	case "":
		return a2apb.Role_ROLE_UNSPECIFIED, nil
	}
	return 0, invalidParams03("unknown role %q", r)
}

// isFinal03 is v0.3's "final" flag of a status update: the task stops producing events.
func isFinal03(s a2apb.TaskState) bool {
	switch s {
	case a2apb.TaskState_TASK_STATE_COMPLETED, a2apb.TaskState_TASK_STATE_FAILED, a2apb.TaskState_TASK_STATE_CANCELED,
		a2apb.TaskState_TASK_STATE_REJECTED, a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, a2apb.TaskState_TASK_STATE_AUTH_REQUIRED:
		return true
	}
	return false
}

// --- JSON values ---------------------------------------------------------------------------------

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

func structFrom03(raw json.RawMessage) (*structpb.Struct, error) {
	if isNull(raw) {
		return nil, nil
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, s); err != nil {
		return nil, invalidParams03("metadata must be a JSON object")
	}
	return s, nil
}

func structTo03(s *structpb.Struct) json.RawMessage {
	if s == nil {
		return nil
	}
	b, err := protojson.Marshal(s)
	if err != nil {
		return nil
	}
	return b
}

// --- Messages and parts --------------------------------------------------------------------------

func partTo03(p *a2apb.Part) part03 {
	out := part03{Metadata: structTo03(p.GetMetadata())}
	switch c := p.GetContent().(type) {
	case *a2apb.Part_Raw:
		out.Kind = "file"
		out.File = &file03{Name: p.GetFilename(), MimeType: p.GetMediaType(), Bytes: base64.StdEncoding.EncodeToString(c.Raw)}
	case *a2apb.Part_Url:
		out.Kind = "file"
		out.File = &file03{Name: p.GetFilename(), MimeType: p.GetMediaType(), URI: c.Url}
	case *a2apb.Part_Data:
		out.Kind = "data"
		v := c.Data
		if _, ok := v.GetKind().(*structpb.Value_StructValue); !ok {
			// v0.3 data parts hold objects only: other JSON values are wrapped.
			v = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"value": v}})
		}
		b, err := protojson.Marshal(v)
		if err != nil {
			b = []byte("{}")
		}
		out.Data = b
	default:
		out.Kind = "text"
		t := p.GetText()
		out.Text = &t
	}
	return out
}

func partFrom03(p part03) (*a2apb.Part, error) {
	md, err := structFrom03(p.Metadata)
	if err != nil {
		return nil, err
	}
	out := &a2apb.Part{Metadata: md}
	switch p.Kind {
	case "text":
		out.Content = &a2apb.Part_Text{Text: derefString(p.Text)}
	case "file":
		if p.File == nil {
			return nil, invalidParams03("file part without file")
		}
		out.Filename, out.MediaType = p.File.Name, p.File.MimeType
		switch {
		case p.File.Bytes != "" && p.File.URI != "":
			return nil, invalidParams03("file part with both bytes and uri")
		case p.File.Bytes != "":
			raw, err := base64.StdEncoding.DecodeString(p.File.Bytes)
			if err != nil {
				return nil, invalidParams03("file part bytes are not base64")
			}
			out.Content = &a2apb.Part_Raw{Raw: raw}
		case p.File.URI != "":
			out.Content = &a2apb.Part_Url{Url: p.File.URI}
		default:
			return nil, invalidParams03("file part without bytes or uri")
		}
	case "data":
		v := &structpb.Value{}
		if isNull(p.Data) {
			v = structpb.NewNullValue()
		} else if err := protojson.Unmarshal(p.Data, v); err != nil {
			return nil, invalidParams03("data part holds invalid JSON")
		}
		out.Content = &a2apb.Part_Data{Data: v}
		out.MediaType = "application/json"
	default:
		return nil, invalidParams03("unknown part kind %q", p.Kind)
	}
	return out, nil
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func partsTo03(ps []*a2apb.Part) []part03 {
	out := make([]part03, 0, len(ps))
	for _, p := range ps {
		out = append(out, partTo03(p))
	}
	return out
}

func partsFrom03(ps []part03) ([]*a2apb.Part, error) {
	out := make([]*a2apb.Part, 0, len(ps))
	for _, p := range ps {
		q, err := partFrom03(p)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

func messageTo03(m *a2apb.Message) *message03 {
	if m == nil {
		return nil
	}
	return &message03{
		Kind: "message", MessageID: m.GetMessageId(), ContextID: m.GetContextId(), TaskID: m.GetTaskId(),
		Role: roleTo03(m.GetRole()), Parts: partsTo03(m.GetParts()), Metadata: structTo03(m.GetMetadata()),
		Extensions: m.GetExtensions(), ReferenceTaskIDs: m.GetReferenceTaskIds(),
	}
}

func messageFrom03(m *message03) (*a2apb.Message, error) {
	if m == nil {
		return nil, nil
	}
	if m.Kind != "" && m.Kind != "message" {
		return nil, invalidParams03("message has kind %q", m.Kind)
	}
	role, err := roleFrom03(m.Role)
	if err != nil {
		return nil, err
	}
	parts, err := partsFrom03(m.Parts)
	if err != nil {
		return nil, err
	}
	md, err := structFrom03(m.Metadata)
	if err != nil {
		return nil, err
	}
	return &a2apb.Message{
		MessageId: m.MessageID, ContextId: m.ContextID, TaskId: m.TaskID, Role: role, Parts: parts,
		Metadata: md, Extensions: m.Extensions, ReferenceTaskIds: m.ReferenceTaskIDs,
	}, nil
}

// --- Tasks, artifacts, events ----------------------------------------------------------------------

func statusTo03(s *a2apb.TaskStatus) taskStatus03 {
	out := taskStatus03{State: stateTo03(s.GetState()), Message: messageTo03(s.GetMessage())}
	if ts := s.GetTimestamp(); ts != nil {
		out.Timestamp = ts.AsTime().UTC().Format(time.RFC3339Nano)
	}
	return out
}

func statusFrom03(s taskStatus03) (*a2apb.TaskStatus, error) {
	state, err := stateFrom03(s.State)
	if err != nil {
		return nil, err
	}
	msg, err := messageFrom03(s.Message)
	if err != nil {
		return nil, err
	}
	out := &a2apb.TaskStatus{State: state, Message: msg}
	if s.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, s.Timestamp)
		if err != nil {
			return nil, invalidParams03("status timestamp %q is not RFC 3339", s.Timestamp)
		}
		out.Timestamp = timestamppb.New(t)
	}
	return out, nil
}

func artifactTo03(a *a2apb.Artifact) artifact03 {
	return artifact03{
		ArtifactID: a.GetArtifactId(), Name: a.GetName(), Description: a.GetDescription(),
		Parts: partsTo03(a.GetParts()), Metadata: structTo03(a.GetMetadata()), Extensions: a.GetExtensions(),
	}
}

func artifactFrom03(a artifact03) (*a2apb.Artifact, error) {
	parts, err := partsFrom03(a.Parts)
	if err != nil {
		return nil, err
	}
	md, err := structFrom03(a.Metadata)
	if err != nil {
		return nil, err
	}
	return &a2apb.Artifact{
		ArtifactId: a.ArtifactID, Name: a.Name, Description: a.Description, Parts: parts, Metadata: md, Extensions: a.Extensions,
	}, nil
}

func taskTo03(t *a2apb.Task) *task03 {
	out := &task03{
		Kind: "task", ID: t.GetId(), ContextID: t.GetContextId(), Status: statusTo03(t.GetStatus()),
		Metadata: structTo03(t.GetMetadata()),
	}
	for _, a := range t.GetArtifacts() {
		out.Artifacts = append(out.Artifacts, artifactTo03(a))
	}
	for _, m := range t.GetHistory() {
		out.History = append(out.History, *messageTo03(m))
	}
	return out
}

func taskFrom03(t *task03) (*a2apb.Task, error) {
	status, err := statusFrom03(t.Status)
	if err != nil {
		return nil, err
	}
	md, err := structFrom03(t.Metadata)
	if err != nil {
		return nil, err
	}
	out := &a2apb.Task{Id: t.ID, ContextId: t.ContextID, Status: status, Metadata: md}
	for _, a := range t.Artifacts {
		pa, err := artifactFrom03(a)
		if err != nil {
			return nil, err
		}
		out.Artifacts = append(out.Artifacts, pa)
	}
	for i := range t.History {
		m, err := messageFrom03(&t.History[i])
		if err != nil {
			return nil, err
		}
		out.History = append(out.History, m)
	}
	return out, nil
}

// streamTo03 is the v0.3 JSON object of a stream event (a task, message, status-update or
// artifact-update, told apart by "kind").
func streamTo03(r *a2apb.StreamResponse) any {
	switch p := r.GetPayload().(type) {
	case *a2apb.StreamResponse_Task:
		return taskTo03(p.Task)
	case *a2apb.StreamResponse_Message:
		return messageTo03(p.Message)
	case *a2apb.StreamResponse_StatusUpdate:
		u := p.StatusUpdate
		return &statusUpdate03{
			Kind: "status-update", TaskID: u.GetTaskId(), ContextID: u.GetContextId(), Status: statusTo03(u.GetStatus()),
			Final: isFinal03(u.GetStatus().GetState()), Metadata: structTo03(u.GetMetadata()),
		}
	case *a2apb.StreamResponse_ArtifactUpdate:
		u := p.ArtifactUpdate
		return &artifactUpdate03{
			Kind: "artifact-update", TaskID: u.GetTaskId(), ContextID: u.GetContextId(), Artifact: artifactTo03(u.GetArtifact()),
			Append: u.GetAppend(), LastChunk: u.GetLastChunk(), Metadata: structTo03(u.GetMetadata()),
		}
	}
	return struct{}{}
}

// streamFrom03 reads a v0.3 event object by its "kind".
func streamFrom03(raw json.RawMessage) (*a2apb.StreamResponse, error) {
	var k struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, invalidParams03("event is not a JSON object")
	}
	switch k.Kind {
	case "task":
		var t task03
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, invalidParams03("invalid task: %v", err)
		}
		pt, err := taskFrom03(&t)
		if err != nil {
			return nil, err
		}
		return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Task{Task: pt}}, nil
	case "message":
		var m message03
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, invalidParams03("invalid message: %v", err)
		}
		pm, err := messageFrom03(&m)
		if err != nil {
			return nil, err
		}
		return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Message{Message: pm}}, nil
	case "status-update":
		var u statusUpdate03
		if err := json.Unmarshal(raw, &u); err != nil {
			return nil, invalidParams03("invalid status update: %v", err)
		}
		st, err := statusFrom03(u.Status)
		if err != nil {
			return nil, err
		}
		md, err := structFrom03(u.Metadata)
		if err != nil {
			return nil, err
		}
		return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_StatusUpdate{StatusUpdate: &a2apb.TaskStatusUpdateEvent{
			TaskId: u.TaskID, ContextId: u.ContextID, Status: st, Metadata: md,
		}}}, nil
	case "artifact-update":
		var u artifactUpdate03
		if err := json.Unmarshal(raw, &u); err != nil {
			return nil, invalidParams03("invalid artifact update: %v", err)
		}
		a, err := artifactFrom03(u.Artifact)
		if err != nil {
			return nil, err
		}
		md, err := structFrom03(u.Metadata)
		if err != nil {
			return nil, err
		}
		return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_ArtifactUpdate{ArtifactUpdate: &a2apb.TaskArtifactUpdateEvent{
			TaskId: u.TaskID, ContextId: u.ContextID, Artifact: a, Append: u.Append, LastChunk: u.LastChunk, Metadata: md,
		}}}, nil
	}
	return nil, invalidParams03("unknown event kind %q", k.Kind)
}

// --- Push notification configs -------------------------------------------------------------------

func pushTo03(c *a2apb.TaskPushNotificationConfig) *taskPushConfig03 {
	out := &taskPushConfig03{TaskID: c.GetTaskId(), PushNotificationConfig: pushConfigTo03(c)}
	return out
}

func pushConfigTo03(c *a2apb.TaskPushNotificationConfig) pushConfig03 {
	pc := pushConfig03{ID: c.GetId(), URL: c.GetUrl(), Token: c.GetToken()}
	if a := c.GetAuthentication(); a != nil {
		pc.Authentication = &pushAuth03{Schemes: []string{a.GetScheme()}, Credentials: a.GetCredentials()}
	}
	return pc
}

func pushFrom03(taskID string, pc pushConfig03) *a2apb.TaskPushNotificationConfig {
	out := &a2apb.TaskPushNotificationConfig{Id: pc.ID, TaskId: taskID, Url: pc.URL, Token: pc.Token}
	if a := pc.Authentication; a != nil {
		scheme := ""
		if len(a.Schemes) > 0 {
			scheme = a.Schemes[0]
		}
		out.Authentication = &a2apb.AuthenticationInfo{Scheme: scheme, Credentials: a.Credentials}
	}
	return out
}

// --- Requests ------------------------------------------------------------------------------------

func sendRequestFrom03(p *sendParams03) (*a2apb.SendMessageRequest, error) {
	if p.Message == nil {
		return nil, invalidParams03("params.message is required")
	}
	msg, err := messageFrom03(p.Message)
	if err != nil {
		return nil, err
	}
	md, err := structFrom03(p.Metadata)
	if err != nil {
		return nil, err
	}
	req := &a2apb.SendMessageRequest{Message: msg, Metadata: md}
	if c := p.Configuration; c != nil {
		req.Configuration = &a2apb.SendMessageConfiguration{
			AcceptedOutputModes: c.AcceptedOutputModes,
			HistoryLength:       c.HistoryLength,
			ReturnImmediately:   c.Blocking != nil && !*c.Blocking,
		}
		if c.PushNotificationConfig != nil {
			req.Configuration.TaskPushNotificationConfig = pushFrom03("", *c.PushNotificationConfig)
		}
	}
	return req, nil
}

func sendRequestTo03(r *a2apb.SendMessageRequest) *sendParams03 {
	out := &sendParams03{Message: messageTo03(r.GetMessage()), Metadata: structTo03(r.GetMetadata())}
	if c := r.GetConfiguration(); c != nil {
		blocking := !c.GetReturnImmediately()
		out.Configuration = &sendConfig03{AcceptedOutputModes: c.GetAcceptedOutputModes(), Blocking: &blocking, HistoryLength: c.HistoryLength}
		if pc := c.GetTaskPushNotificationConfig(); pc != nil {
			p := pushConfigTo03(pc)
			out.Configuration.PushNotificationConfig = &p
		}
	}
	return out
}

// sendResultTo03 is the v0.3 result of message/send: a task or a message object.
func sendResultTo03(r *a2apb.SendMessageResponse) any {
	if m := r.GetMessage(); m != nil {
		return messageTo03(m)
	}
	return taskTo03(r.GetTask())
}

func sendResultFrom03(raw json.RawMessage) (*a2apb.SendMessageResponse, error) {
	ev, err := streamFrom03(raw)
	if err != nil {
		return nil, err
	}
	switch p := ev.GetPayload().(type) {
	case *a2apb.StreamResponse_Task:
		return &a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Task{Task: p.Task}}, nil
	case *a2apb.StreamResponse_Message:
		return &a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Message{Message: p.Message}}, nil
	}
	return nil, &Error{Code: CodeInvalidAgentResponse, Message: "message/send result is neither a task nor a message"}
}

func taskFromResult03(raw json.RawMessage) (*a2apb.Task, error) {
	var t task03
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, &Error{Code: CodeInvalidAgentResponse, Message: "result is not a task"}
	}
	return taskFrom03(&t)
}

// --- Agent cards ---------------------------------------------------------------------------------

// cardTo03 is the v0.3 form of a card: url and preferredTransport from the first interface that
// speaks v0.3 (or, when none says so, the first JSON-RPC interface), the other interfaces of that
// version as additionalInterfaces.
func cardTo03(c *a2apb.AgentCard) *agentCard03 {
	out := &agentCard03{
		ProtocolVersion: "0.3.0", Name: c.GetName(), Description: c.GetDescription(), Version: c.GetVersion(),
		DocumentationURL: c.GetDocumentationUrl(), IconURL: c.GetIconUrl(),
		DefaultInputModes: c.GetDefaultInputModes(), DefaultOutputModes: c.GetDefaultOutputModes(),
		Skills: []json.RawMessage{},
		Capabilities: capabilities03{
			Streaming: c.GetCapabilities().GetStreaming(), PushNotifications: c.GetCapabilities().GetPushNotifications(),
		},
		SupportsAuthenticatedExtendedCard: c.GetCapabilities().GetExtendedAgentCard(),
	}
	var ifaces []*a2apb.AgentInterface
	for _, i := range c.GetSupportedInterfaces() {
		if strings.HasPrefix(i.GetProtocolVersion(), "0.") {
			ifaces = append(ifaces, i)
		}
	}
	if len(ifaces) == 0 {
		// Every binding of this package serves v0.3 too (JSON-RPC without A2A-Version, the
		// HTTP+JSON routes under /v1/, the v0.3 gRPC service on the same port); JSON-RPC,
		// v0.3's default, goes first.
		for _, i := range c.GetSupportedInterfaces() {
			if normalizeBinding(i.GetProtocolBinding()) == BindingJSONRPC {
				ifaces = append(ifaces, i)
			}
		}
		for _, i := range c.GetSupportedInterfaces() {
			if b := normalizeBinding(i.GetProtocolBinding()); b == BindingHTTPJSON || b == BindingGRPC {
				ifaces = append(ifaces, i)
			}
		}
	}
	seen := map[agentInterface03]bool{}
	for _, i := range ifaces {
		iface := agentInterface03{URL: i.GetUrl(), Transport: normalizeBinding(i.GetProtocolBinding())}
		if iface.Transport == BindingGRPC {
			iface.URL = grpcTarget03(iface.URL) // v0.3 clients dial the URL as a gRPC target
		}
		if seen[iface] {
			continue
		}
		seen[iface] = true
		if len(seen) == 1 {
			out.URL, out.PreferredTransport = iface.URL, iface.Transport
		}
		out.AdditionalInterfaces = append(out.AdditionalInterfaces, iface)
	}
	if p := c.GetProvider(); p != nil {
		out.Provider, _ = json.Marshal(map[string]string{"organization": p.GetOrganization(), "url": p.GetUrl()})
	}
	for _, s := range c.GetSkills() {
		b, err := json.Marshal(map[string]any{
			"id": s.GetId(), "name": s.GetName(), "description": s.GetDescription(), "tags": nonNil(s.GetTags()),
			"examples": s.GetExamples(), "inputModes": s.GetInputModes(), "outputModes": s.GetOutputModes(),
		})
		if err == nil {
			out.Skills = append(out.Skills, b)
		}
	}
	return out
}

// grpcTarget03 is a gRPC interface URL as a v0.3 client dials it: host:port without the
// scheme ("grpc://h:1" and "grpcs://h:1" → "h:1"); other forms are kept.
func grpcTarget03(u string) string {
	for _, scheme := range []string{"grpc://", "grpcs://", "http://", "https://"} {
		if rest, ok := strings.CutPrefix(u, scheme); ok {
			return strings.TrimSuffix(rest, "/")
		}
	}
	return u
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// cardFrom03 reads a v0.3 card into a v1.0 one: url + preferredTransport and
// additionalInterfaces become supportedInterfaces with protocolVersion "0.3".
func cardFrom03(c *agentCard03) *a2apb.AgentCard {
	out := &a2apb.AgentCard{
		Name: c.Name, Description: c.Description, Version: c.Version,
		DefaultInputModes: c.DefaultInputModes, DefaultOutputModes: c.DefaultOutputModes,
		Capabilities: &a2apb.AgentCapabilities{},
	}
	if c.DocumentationURL != "" {
		out.DocumentationUrl = &c.DocumentationURL
	}
	if c.IconURL != "" {
		out.IconUrl = &c.IconURL
	}
	streaming, push, ext := c.Capabilities.Streaming, c.Capabilities.PushNotifications, c.SupportsAuthenticatedExtendedCard
	out.Capabilities.Streaming, out.Capabilities.PushNotifications, out.Capabilities.ExtendedAgentCard = &streaming, &push, &ext
	version := "0.3"
	if c.ProtocolVersion != "" {
		version = c.ProtocolVersion
	}
	preferred := c.PreferredTransport
	if preferred == "" {
		preferred = BindingJSONRPC
	}
	seen := map[[2]string]bool{}
	add := func(url, binding string) {
		if url == "" || seen[[2]string{url, binding}] {
			return
		}
		seen[[2]string{url, binding}] = true
		out.SupportedInterfaces = append(out.SupportedInterfaces, &a2apb.AgentInterface{Url: url, ProtocolBinding: binding, ProtocolVersion: version})
	}
	add(c.URL, preferred)
	for _, i := range c.AdditionalInterfaces {
		add(i.URL, i.Transport)
	}
	if len(c.Provider) > 0 {
		var p struct{ Organization, URL string }
		if json.Unmarshal(c.Provider, &p) == nil {
			out.Provider = &a2apb.AgentProvider{Organization: p.Organization, Url: p.URL}
		}
	}
	for _, raw := range c.Skills {
		var s struct {
			ID, Name, Description                   string
			Tags, Examples, InputModes, OutputModes []string
		}
		if json.Unmarshal(raw, &s) == nil {
			out.Skills = append(out.Skills, &a2apb.AgentSkill{
				Id: s.ID, Name: s.Name, Description: s.Description, Tags: s.Tags, Examples: s.Examples,
				InputModes: s.InputModes, OutputModes: s.OutputModes,
			})
		}
	}
	return out
}

// ParseAgentCard reads an agent card in either form: the v1.0 ProtoJSON card, or a v0.3 card
// (one with a top-level "url" and no "supportedInterfaces"), whose interfaces it lists with
// protocolVersion "0.3" so that a Client built from it speaks v0.3.
func ParseAgentCard(data []byte) (*a2apb.AgentCard, error) {
	var probe struct {
		URL                 *string         `json:"url"`
		SupportedInterfaces json.RawMessage `json:"supportedInterfaces"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("a2a: agent card is not a JSON object: %w", err)
	}
	if probe.URL != nil && len(probe.SupportedInterfaces) == 0 {
		var c agentCard03
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("a2a: invalid v0.3 agent card: %w", err)
		}
		return cardFrom03(&c), nil
	}
	card := &a2apb.AgentCard{}
	if err := unmarshalProto(data, card); err != nil {
		return nil, fmt.Errorf("a2a: invalid agent card: %w", err)
	}
	return card, nil
}
