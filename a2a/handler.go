// Package a2a is the A2A protocol v1.0 (../specs/a2a/a2a.proto) for agents and their clients:
// Handler, the protocol's operations as one Go interface; the server that implements it over an
// Executor the agent author writes; the bindings that carry it (JSON-RPC 2.0, HTTP+JSON, SSE
// streams) with the v0.3 compatibility layer; and the client. The wire types are the generated
// a2apb package, encoded as ProtoJSON.
package a2a

import (
	"context"
	"iter"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// Handler is the A2A service: one method per RPC of A2AService. The server implements it; every
// binding (JSON-RPC, HTTP+JSON, a future gRPC) decodes a request, calls it, and encodes the
// answer; the client implements it too, so a caller does not care which binding is underneath.
// Errors are *Error values (the protocol's codes) or other errors (internal).
type Handler interface {
	SendMessage(ctx context.Context, req *a2apb.SendMessageRequest) (*a2apb.SendMessageResponse, error)
	// SendStreamingMessage yields the task or message, then status and artifact updates, until
	// the task reaches a terminal or interrupted state; an error ends the stream.
	SendStreamingMessage(ctx context.Context, req *a2apb.SendMessageRequest) iter.Seq2[*a2apb.StreamResponse, error]
	GetTask(ctx context.Context, req *a2apb.GetTaskRequest) (*a2apb.Task, error)
	ListTasks(ctx context.Context, req *a2apb.ListTasksRequest) (*a2apb.ListTasksResponse, error)
	CancelTask(ctx context.Context, req *a2apb.CancelTaskRequest) (*a2apb.Task, error)
	// SubscribeToTask yields the task's current state first, then its live events.
	SubscribeToTask(ctx context.Context, req *a2apb.SubscribeToTaskRequest) iter.Seq2[*a2apb.StreamResponse, error]
	CreateTaskPushNotificationConfig(ctx context.Context, req *a2apb.TaskPushNotificationConfig) (*a2apb.TaskPushNotificationConfig, error)
	GetTaskPushNotificationConfig(ctx context.Context, req *a2apb.GetTaskPushNotificationConfigRequest) (*a2apb.TaskPushNotificationConfig, error)
	ListTaskPushNotificationConfigs(ctx context.Context, req *a2apb.ListTaskPushNotificationConfigsRequest) (*a2apb.ListTaskPushNotificationConfigsResponse, error)
	DeleteTaskPushNotificationConfig(ctx context.Context, req *a2apb.DeleteTaskPushNotificationConfigRequest) error
	GetExtendedAgentCard(ctx context.Context, req *a2apb.GetExtendedAgentCardRequest) (*a2apb.AgentCard, error)
}
