package a2a

import (
	"encoding/json"
	"fmt"
	"strings"

	pb03 "github.com/a2aproject/a2a-go/a2apb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// This file translates between the v0.3 proto (package a2a.v1, the messages of the v0.3 gRPC
// binding and, as ProtoJSON, of the v0.3 HTTP+JSON routes; generated code from
// github.com/a2aproject/a2a-go/a2apb) and the v1.0 messages. The two protos share their
// enums' numbers and most field meanings; parts, push configs and the resource names
// ("tasks/{id}", "tasks/{id}/pushNotificationConfigs/{cid}") differ.

func partFromPB03(p *pb03.Part) (*a2apb.Part, error) {
	out := &a2apb.Part{Metadata: p.GetMetadata()}
	switch c := p.GetPart().(type) {
	case *pb03.Part_Text:
		out.Content = &a2apb.Part_Text{Text: c.Text}
	case *pb03.Part_File:
		out.Filename, out.MediaType = c.File.GetName(), c.File.GetMimeType()
		switch f := c.File.GetFile().(type) {
		case *pb03.FilePart_FileWithBytes:
			out.Content = &a2apb.Part_Raw{Raw: f.FileWithBytes}
		case *pb03.FilePart_FileWithUri:
			out.Content = &a2apb.Part_Url{Url: f.FileWithUri}
		default:
			return nil, invalidParams03("file part without bytes or uri")
		}
	case *pb03.Part_Data:
		data := c.Data.GetData()
		if data == nil {
			data = &structpb.Struct{}
		}
		out.Content = &a2apb.Part_Data{Data: structpb.NewStructValue(data)}
		out.MediaType = "application/json"
	default:
		return nil, invalidParams03("part without text, file or data")
	}
	return out, nil
}

func partToPB03(p *a2apb.Part) *pb03.Part {
	out := &pb03.Part{Metadata: p.GetMetadata()}
	switch c := p.GetContent().(type) {
	case *a2apb.Part_Raw:
		out.Part = &pb03.Part_File{File: &pb03.FilePart{Name: p.GetFilename(), MimeType: p.GetMediaType(),
			File: &pb03.FilePart_FileWithBytes{FileWithBytes: c.Raw}}}
	case *a2apb.Part_Url:
		out.Part = &pb03.Part_File{File: &pb03.FilePart{Name: p.GetFilename(), MimeType: p.GetMediaType(),
			File: &pb03.FilePart_FileWithUri{FileWithUri: c.Url}}}
	case *a2apb.Part_Data:
		s := c.Data.GetStructValue()
		if s == nil { // v0.3 data parts hold objects only: other JSON values are wrapped
			s = &structpb.Struct{Fields: map[string]*structpb.Value{"value": c.Data}}
		}
		out.Part = &pb03.Part_Data{Data: &pb03.DataPart{Data: s}}
	default:
		out.Part = &pb03.Part_Text{Text: p.GetText()}
	}
	return out
}

func messageFromPB03(m *pb03.Message) (*a2apb.Message, error) {
	if m == nil {
		return nil, nil
	}
	parts, err := convertAll(m.GetParts(), partFromPB03)
	return &a2apb.Message{
		MessageId: m.GetMessageId(), ContextId: m.GetContextId(), TaskId: m.GetTaskId(), Role: a2apb.Role(m.GetRole()),
		Parts: parts, Metadata: m.GetMetadata(), Extensions: m.GetExtensions(), ReferenceTaskIds: m.GetReferenceTaskIds(),
	}, err
}

// convertAll converts each element of in with f, stopping at the first error.
func convertAll[T, U any](in []T, f func(T) (U, error)) ([]U, error) {
	var out []U
	for _, x := range in {
		y, err := f(x)
		if err != nil {
			return nil, err
		}
		out = append(out, y)
	}
	return out, nil
}

func messageToPB03(m *a2apb.Message) *pb03.Message {
	if m == nil {
		return nil
	}
	out := &pb03.Message{
		MessageId: m.GetMessageId(), ContextId: m.GetContextId(), TaskId: m.GetTaskId(), Role: pb03.Role(m.GetRole()),
		Metadata: m.GetMetadata(), Extensions: m.GetExtensions(), ReferenceTaskIds: m.GetReferenceTaskIds(),
	}
	for _, p := range m.GetParts() {
		out.Parts = append(out.Parts, partToPB03(p))
	}
	return out
}

func statusToPB03(s *a2apb.TaskStatus) *pb03.TaskStatus {
	if s == nil {
		return nil
	}
	return &pb03.TaskStatus{State: pb03.TaskState(s.GetState()), Update: messageToPB03(s.GetMessage()), Timestamp: s.GetTimestamp()}
}

func artifactToPB03(a *a2apb.Artifact) *pb03.Artifact {
	out := &pb03.Artifact{
		ArtifactId: a.GetArtifactId(), Name: a.GetName(), Description: a.GetDescription(),
		Metadata: a.GetMetadata(), Extensions: a.GetExtensions(),
	}
	for _, p := range a.GetParts() {
		out.Parts = append(out.Parts, partToPB03(p))
	}
	return out
}

func taskToPB03(t *a2apb.Task) *pb03.Task {
	out := &pb03.Task{Id: t.GetId(), ContextId: t.GetContextId(), Status: statusToPB03(t.GetStatus()), Metadata: t.GetMetadata()}
	for _, a := range t.GetArtifacts() {
		out.Artifacts = append(out.Artifacts, artifactToPB03(a))
	}
	for _, m := range t.GetHistory() {
		out.History = append(out.History, messageToPB03(m))
	}
	return out
}

// streamToPB03 is a stream event in the v0.3 proto; a status update is "final" when the task
// stops producing events (isFinal03).
func streamToPB03(r *a2apb.StreamResponse) *pb03.StreamResponse {
	switch p := r.GetPayload().(type) {
	case *a2apb.StreamResponse_Task:
		return &pb03.StreamResponse{Payload: &pb03.StreamResponse_Task{Task: taskToPB03(p.Task)}}
	case *a2apb.StreamResponse_Message:
		return &pb03.StreamResponse{Payload: &pb03.StreamResponse_Msg{Msg: messageToPB03(p.Message)}}
	case *a2apb.StreamResponse_StatusUpdate:
		u := p.StatusUpdate
		return &pb03.StreamResponse{Payload: &pb03.StreamResponse_StatusUpdate{StatusUpdate: &pb03.TaskStatusUpdateEvent{
			TaskId: u.GetTaskId(), ContextId: u.GetContextId(), Status: statusToPB03(u.GetStatus()),
			Final: isFinal03(u.GetStatus().GetState()), Metadata: u.GetMetadata(),
		}}}
	case *a2apb.StreamResponse_ArtifactUpdate:
		u := p.ArtifactUpdate
		return &pb03.StreamResponse{Payload: &pb03.StreamResponse_ArtifactUpdate{ArtifactUpdate: &pb03.TaskArtifactUpdateEvent{
			TaskId: u.GetTaskId(), ContextId: u.GetContextId(), Artifact: artifactToPB03(u.GetArtifact()),
			Append: u.GetAppend(), LastChunk: u.GetLastChunk(), Metadata: u.GetMetadata(),
		}}}
	}
	return &pb03.StreamResponse{}
}

// pushNamePB03 is the v0.3 resource name of a push config.
func pushNamePB03(taskID, id string) string {
	return "tasks/" + taskID + "/pushNotificationConfigs/" + id
}

func pushToPB03(c *a2apb.TaskPushNotificationConfig) *pb03.TaskPushNotificationConfig {
	pc := &pb03.PushNotificationConfig{Id: c.GetId(), Url: c.GetUrl(), Token: c.GetToken()}
	if a := c.GetAuthentication(); a != nil {
		pc.Authentication = &pb03.AuthenticationInfo{Schemes: []string{a.GetScheme()}, Credentials: a.GetCredentials()}
	}
	return &pb03.TaskPushNotificationConfig{Name: pushNamePB03(c.GetTaskId(), c.GetId()), PushNotificationConfig: pc}
}

func pushFromPB03(taskID string, pc *pb03.PushNotificationConfig) *a2apb.TaskPushNotificationConfig {
	out := &a2apb.TaskPushNotificationConfig{Id: pc.GetId(), TaskId: taskID, Url: pc.GetUrl(), Token: pc.GetToken()}
	if a := pc.GetAuthentication(); a != nil {
		scheme := ""
		if len(a.GetSchemes()) > 0 {
			scheme = a.GetSchemes()[0]
		}
		out.Authentication = &a2apb.AuthenticationInfo{Scheme: scheme, Credentials: a.GetCredentials()}
	}
	return out
}

// taskName03 reads a v0.3 resource name: "tasks/{id}", or "tasks/{id}/pushNotificationConfigs"
// and "tasks/{id}/pushNotificationConfigs/{cid}" (child is then the config id, possibly "").
func taskName03(name string) (id, child string, err error) {
	rest, ok := strings.CutPrefix(name, "tasks/")
	if !ok || rest == "" {
		return "", "", invalidParams03("resource name %q is not tasks/{id}", name)
	}
	id, sub, hasSub := strings.Cut(rest, "/")
	if id == "" {
		return "", "", invalidParams03("resource name %q has no task id", name)
	}
	if hasSub {
		cfg, ok := strings.CutPrefix(sub, "pushNotificationConfigs")
		if !ok || (cfg != "" && !strings.HasPrefix(cfg, "/")) || strings.Contains(strings.TrimPrefix(cfg, "/"), "/") {
			return "", "", invalidParams03("resource name %q is not tasks/{id}/pushNotificationConfigs/{configId}", name)
		}
		child = strings.TrimPrefix(cfg, "/")
	}
	return id, child, nil
}

// requestFromPB03 is the v1.0 request of the method name for a v0.3 proto request.
func requestFromPB03(name string, req proto.Message) (proto.Message, error) {
	switch r := req.(type) {
	case *pb03.SendMessageRequest:
		if r.GetRequest() == nil {
			return nil, invalidParams03("message is required")
		}
		msg, err := messageFromPB03(r.GetRequest())
		if err != nil {
			return nil, err
		}
		out := &a2apb.SendMessageRequest{Message: msg, Metadata: r.GetMetadata()}
		if c := r.GetConfiguration(); c != nil {
			// A configuration present says blocking or not (the proto3 default is false, as in
			// a2a-go's own server); no configuration at all is the default, blocking.
			out.Configuration = &a2apb.SendMessageConfiguration{
				AcceptedOutputModes: c.GetAcceptedOutputModes(), ReturnImmediately: !c.GetBlocking(),
			}
			if c.GetHistoryLength() > 0 {
				out.Configuration.HistoryLength = proto.Int32(c.GetHistoryLength())
			}
			if pc := c.GetPushNotification(); pc != nil {
				out.Configuration.TaskPushNotificationConfig = pushFromPB03("", pc)
			}
		}
		return out, nil
	case *pb03.GetTaskRequest:
		id, child, err := taskName03(r.GetName())
		if err == nil && child != "" {
			err = invalidParams03("resource name %q is not tasks/{id}", r.GetName())
		}
		if err != nil {
			return nil, err
		}
		out := &a2apb.GetTaskRequest{Id: id}
		if r.GetHistoryLength() > 0 {
			out.HistoryLength = proto.Int32(r.GetHistoryLength())
		}
		return out, nil
	case *pb03.CancelTaskRequest:
		id, _, err := taskName03(r.GetName())
		return &a2apb.CancelTaskRequest{Id: id}, err
	case *pb03.TaskSubscriptionRequest:
		id, _, err := taskName03(r.GetName())
		return &a2apb.SubscribeToTaskRequest{Id: id}, err
	case *pb03.CreateTaskPushNotificationConfigRequest:
		parent := r.GetParent()
		if parent == "" {
			parent = r.GetConfig().GetName()
		}
		id, _, err := taskName03(parent)
		if err != nil {
			return nil, err
		}
		if r.GetConfig().GetPushNotificationConfig() == nil {
			return nil, invalidParams03("config.pushNotificationConfig is required")
		}
		out := pushFromPB03(id, r.GetConfig().GetPushNotificationConfig())
		if out.Id == "" {
			out.Id = r.GetConfigId()
		}
		return out, nil
	case *pb03.GetTaskPushNotificationConfigRequest:
		id, child, err := taskName03(r.GetName())
		return &a2apb.GetTaskPushNotificationConfigRequest{TaskId: id, Id: child}, err
	case *pb03.DeleteTaskPushNotificationConfigRequest:
		id, child, err := taskName03(r.GetName())
		if err == nil && child == "" {
			err = invalidParams03("resource name %q names no config", r.GetName())
		}
		return &a2apb.DeleteTaskPushNotificationConfigRequest{TaskId: id, Id: child}, err
	case *pb03.ListTaskPushNotificationConfigRequest:
		id, _, err := taskName03(r.GetParent())
		return &a2apb.ListTaskPushNotificationConfigsRequest{TaskId: id, PageSize: r.GetPageSize(), PageToken: r.GetPageToken()}, err
	case *pb03.GetAgentCardRequest:
		return &a2apb.GetExtendedAgentCardRequest{}, nil
	}
	return nil, fmt.Errorf("a2a: no v1.0 form for %T (%s)", req, name)
}

// resultToPB03 is a v1.0 result in the v0.3 proto.
func resultToPB03(res proto.Message) (proto.Message, error) {
	switch r := res.(type) {
	case *a2apb.SendMessageResponse:
		if m := r.GetMessage(); m != nil {
			return &pb03.SendMessageResponse{Payload: &pb03.SendMessageResponse_Msg{Msg: messageToPB03(m)}}, nil
		}
		return &pb03.SendMessageResponse{Payload: &pb03.SendMessageResponse_Task{Task: taskToPB03(r.GetTask())}}, nil
	case *a2apb.Task:
		return taskToPB03(r), nil
	case *a2apb.ListTasksResponse:
		out := &pb03.ListTasksResponse{NextPageToken: r.GetNextPageToken(), TotalSize: r.GetTotalSize()}
		for _, t := range r.GetTasks() {
			out.Tasks = append(out.Tasks, taskToPB03(t))
		}
		return out, nil
	case *a2apb.TaskPushNotificationConfig:
		return pushToPB03(r), nil
	case *a2apb.ListTaskPushNotificationConfigsResponse:
		out := &pb03.ListTaskPushNotificationConfigResponse{NextPageToken: r.GetNextPageToken()}
		for _, c := range r.GetConfigs() {
			out.Configs = append(out.Configs, pushToPB03(c))
		}
		return out, nil
	case *a2apb.AgentCard:
		return cardToPB03(r)
	case *a2apb.StreamResponse:
		return streamToPB03(r), nil
	case *emptypb.Empty:
		return r, nil
	}
	return nil, fmt.Errorf("a2a: no v0.3 proto form for %T", res)
}

// cardToPB03 is the v0.3 card (cardTo03) as the v0.3 proto message.
func cardToPB03(c *a2apb.AgentCard) (*pb03.AgentCard, error) {
	data, err := json.Marshal(cardTo03(c))
	if err != nil {
		return nil, err
	}
	out := &pb03.AgentCard{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, out); err != nil {
		return nil, err
	}
	return out, nil
}

// --- The client side: v1.0 requests to the v0.3 proto, v0.3 results back ---------------------

// grpcMethodTo03 is the v0.3 gRPC method of a v1.0 method name ("" when v0.3 has none).
func grpcMethodTo03(name string) string {
	if name == methodListTasks {
		return ""
	}
	for m03, v1 := range grpcMethods03 {
		if v1 == name {
			return m03
		}
	}
	return name
}

// requestToPB03 is the v0.3 proto request of a v1.0 request, and a new message of the v0.3
// result's type.
func requestToPB03(req proto.Message) (proto.Message, proto.Message, error) {
	switch r := req.(type) {
	case *a2apb.SendMessageRequest:
		out := &pb03.SendMessageRequest{Request: messageToPB03(r.GetMessage()), Metadata: r.GetMetadata()}
		if c := r.GetConfiguration(); c != nil {
			out.Configuration = &pb03.SendMessageConfiguration{AcceptedOutputModes: c.GetAcceptedOutputModes(),
				Blocking: !c.GetReturnImmediately(), HistoryLength: c.GetHistoryLength()}
			if pc := c.GetTaskPushNotificationConfig(); pc != nil {
				out.Configuration.PushNotification = pushToPB03(pc).GetPushNotificationConfig()
			}
		}
		return out, &pb03.SendMessageResponse{}, nil
	case *a2apb.GetTaskRequest:
		return &pb03.GetTaskRequest{Name: "tasks/" + r.GetId(), HistoryLength: r.GetHistoryLength()}, &pb03.Task{}, nil
	case *a2apb.CancelTaskRequest:
		return &pb03.CancelTaskRequest{Name: "tasks/" + r.GetId()}, &pb03.Task{}, nil
	case *a2apb.SubscribeToTaskRequest:
		return &pb03.TaskSubscriptionRequest{Name: "tasks/" + r.GetId()}, &pb03.StreamResponse{}, nil
	case *a2apb.TaskPushNotificationConfig:
		return &pb03.CreateTaskPushNotificationConfigRequest{Parent: "tasks/" + r.GetTaskId(), ConfigId: r.GetId(), Config: pushToPB03(r)},
			&pb03.TaskPushNotificationConfig{}, nil
	case *a2apb.GetTaskPushNotificationConfigRequest:
		return &pb03.GetTaskPushNotificationConfigRequest{Name: pushNamePB03(r.GetTaskId(), r.GetId())}, &pb03.TaskPushNotificationConfig{}, nil
	case *a2apb.DeleteTaskPushNotificationConfigRequest:
		return &pb03.DeleteTaskPushNotificationConfigRequest{Name: pushNamePB03(r.GetTaskId(), r.GetId())}, &emptypb.Empty{}, nil
	case *a2apb.ListTaskPushNotificationConfigsRequest:
		return &pb03.ListTaskPushNotificationConfigRequest{Parent: "tasks/" + r.GetTaskId(), PageSize: r.GetPageSize(), PageToken: r.GetPageToken()},
			&pb03.ListTaskPushNotificationConfigResponse{}, nil
	case *a2apb.GetExtendedAgentCardRequest:
		return &pb03.GetAgentCardRequest{}, &pb03.AgentCard{}, nil
	}
	return nil, nil, &Error{Code: CodeUnsupportedOperation, Message: fmt.Sprintf("%T does not exist in A2A 0.3", req)}
}

func statusFromPB03(s *pb03.TaskStatus) (*a2apb.TaskStatus, error) {
	if s == nil {
		return nil, nil
	}
	msg, err := messageFromPB03(s.GetUpdate())
	return &a2apb.TaskStatus{State: a2apb.TaskState(s.GetState()), Message: msg, Timestamp: s.GetTimestamp()}, err
}

func artifactFromPB03(a *pb03.Artifact) (*a2apb.Artifact, error) {
	parts, err := convertAll(a.GetParts(), partFromPB03)
	return &a2apb.Artifact{ArtifactId: a.GetArtifactId(), Name: a.GetName(), Description: a.GetDescription(),
		Parts: parts, Metadata: a.GetMetadata(), Extensions: a.GetExtensions()}, err
}

func taskFromPB03(t *pb03.Task) (*a2apb.Task, error) {
	st, err := statusFromPB03(t.GetStatus())
	if err != nil {
		return nil, err
	}
	out := &a2apb.Task{Id: t.GetId(), ContextId: t.GetContextId(), Status: st, Metadata: t.GetMetadata()}
	if out.Artifacts, err = convertAll(t.GetArtifacts(), artifactFromPB03); err != nil {
		return nil, err
	}
	out.History, err = convertAll(t.GetHistory(), messageFromPB03)
	return out, err
}

// pushFromNamePB03 is a v0.3 TaskPushNotificationConfig, its task id read from its name.
func pushFromNamePB03(c *pb03.TaskPushNotificationConfig) *a2apb.TaskPushNotificationConfig {
	taskID, _, _ := taskName03(c.GetName())
	return pushFromPB03(taskID, c.GetPushNotificationConfig())
}

// resultFromPB03 is the v1.0 form of a v0.3 proto result.
func resultFromPB03(res proto.Message) (proto.Message, error) {
	switch r := res.(type) {
	case *pb03.SendMessageResponse:
		if m := r.GetMsg(); m != nil {
			pm, err := messageFromPB03(m)
			return &a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Message{Message: pm}}, err
		}
		t, err := taskFromPB03(r.GetTask())
		return &a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Task{Task: t}}, err
	case *pb03.Task:
		return taskFromPB03(r)
	case *pb03.StreamResponse:
		switch p := r.GetPayload().(type) {
		case *pb03.StreamResponse_Task:
			t, err := taskFromPB03(p.Task)
			return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Task{Task: t}}, err
		case *pb03.StreamResponse_Msg:
			m, err := messageFromPB03(p.Msg)
			return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Message{Message: m}}, err
		case *pb03.StreamResponse_StatusUpdate:
			st, err := statusFromPB03(p.StatusUpdate.GetStatus())
			return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_StatusUpdate{StatusUpdate: &a2apb.TaskStatusUpdateEvent{
				TaskId: p.StatusUpdate.GetTaskId(), ContextId: p.StatusUpdate.GetContextId(), Status: st, Metadata: p.StatusUpdate.GetMetadata(),
			}}}, err
		case *pb03.StreamResponse_ArtifactUpdate:
			u := p.ArtifactUpdate
			a, err := artifactFromPB03(u.GetArtifact())
			return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_ArtifactUpdate{ArtifactUpdate: &a2apb.TaskArtifactUpdateEvent{
				TaskId: u.GetTaskId(), ContextId: u.GetContextId(), Artifact: a, Append: u.GetAppend(), LastChunk: u.GetLastChunk(), Metadata: u.GetMetadata(),
			}}}, err
		}
		return nil, &Error{Code: CodeInvalidAgentResponse, Message: "empty stream event"}
	case *pb03.TaskPushNotificationConfig:
		return pushFromNamePB03(r), nil
	case *pb03.ListTaskPushNotificationConfigResponse:
		out := &a2apb.ListTaskPushNotificationConfigsResponse{NextPageToken: r.GetNextPageToken()}
		for _, c := range r.GetConfigs() {
			out.Configs = append(out.Configs, pushFromNamePB03(c))
		}
		return out, nil
	case *pb03.AgentCard:
		data, err := protojson.Marshal(r)
		if err != nil {
			return nil, err
		}
		return ParseAgentCard(data)
	case *emptypb.Empty:
		return r, nil
	}
	return nil, fmt.Errorf("a2a: no v1.0 form for %T", res)
}
