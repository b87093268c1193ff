package a2a

import (
	"context"
	"strings"

	pb03 "github.com/a2aproject/a2a-go/a2apb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// grpcService03 is the v0.3 gRPC binding, the service a2a.v1.A2AService of the v0.3 proto,
// served beside lf.a2a.v1.A2AService by NewGRPCServer so that a v0.3 gRPC client (a2a-go
// v0.3's, the Python and Java SDKs' of that version) reaches the same Handler on the same port.
// Requests and results are translated by compat03pb.go; errors are the statuses of the v1.0
// binding. ListTasks is not part of v0.3 and stays unimplemented.
type grpcService03 struct {
	pb03.UnimplementedA2AServiceServer
	s *grpcService
}

// NewGRPCService03 serves h over the v0.3 gRPC binding (a2a.v1.A2AService). Register it with
// a2apb.RegisterA2AServiceServer of github.com/a2aproject/a2a-go/a2apb, or use NewGRPCServer,
// which registers it beside the v1.0 service.
func NewGRPCService03(h Handler, opts ...BindingOption) pb03.A2AServiceServer {
	return &grpcService03{s: &grpcService{h: h, cfg: newBindingConfig(opts)}}
}

// grpcMethods03 are the v1.0 names of the v0.3 gRPC methods whose names differ.
var grpcMethods03 = map[string]string{
	"TaskSubscription":               methodSubscribeToTask,
	"ListTaskPushNotificationConfig": methodListPushConfigs,
	"GetAgentCard":                   methodGetExtendedAgentCard,
}

// begin03 puts the requested extensions in ctx and translates the request.
func begin03(ctx context.Context, name string, req proto.Message) (context.Context, proto.Message, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	ctx = withRequestedExtensions(ctx, append(md.Get(grpcExtensionsKey), md.Get(strings.ToLower(extensionsHeader03))...))
	v1, err := requestFromPB03(name, req)
	if err == nil {
		err = validateRequest(v1)
	}
	return ctx, v1, err
}

func grpcUnary03[Res proto.Message](g *grpcService03, ctx context.Context, name string, req proto.Message) (Res, error) {
	res, err := g.s.unary(ctx, name, func(ctx context.Context) (context.Context, proto.Message, error) {
		return begin03(ctx, name, req)
	}, resultToPB03)
	if err != nil {
		var zero Res
		return zero, err
	}
	return res.(Res), nil
}

func (g *grpcService03) grpcStream03(name string, req proto.Message, stream grpc.ServerStreamingServer[pb03.StreamResponse]) error {
	ctx, v1, err := begin03(stream.Context(), name, req)
	if err != nil {
		return g.s.status(ctx, err)
	}
	return sendStream(ctx, g.s, name, v1, stream, streamToPB03)
}

// SendMessage implements the v0.3 A2AServiceServer.
func (g *grpcService03) SendMessage(ctx context.Context, req *pb03.SendMessageRequest) (*pb03.SendMessageResponse, error) {
	return grpcUnary03[*pb03.SendMessageResponse](g, ctx, methodSendMessage, req)
}

// SendStreamingMessage implements the v0.3 A2AServiceServer.
func (g *grpcService03) SendStreamingMessage(req *pb03.SendMessageRequest, stream grpc.ServerStreamingServer[pb03.StreamResponse]) error {
	return g.grpcStream03(methodSendStreamingMessage, req, stream)
}

// GetTask implements the v0.3 A2AServiceServer.
func (g *grpcService03) GetTask(ctx context.Context, req *pb03.GetTaskRequest) (*pb03.Task, error) {
	return grpcUnary03[*pb03.Task](g, ctx, methodGetTask, req)
}

// CancelTask implements the v0.3 A2AServiceServer.
func (g *grpcService03) CancelTask(ctx context.Context, req *pb03.CancelTaskRequest) (*pb03.Task, error) {
	return grpcUnary03[*pb03.Task](g, ctx, methodCancelTask, req)
}

// TaskSubscription implements the v0.3 A2AServiceServer.
func (g *grpcService03) TaskSubscription(req *pb03.TaskSubscriptionRequest, stream grpc.ServerStreamingServer[pb03.StreamResponse]) error {
	return g.grpcStream03(methodSubscribeToTask, req, stream)
}

// CreateTaskPushNotificationConfig implements the v0.3 A2AServiceServer.
func (g *grpcService03) CreateTaskPushNotificationConfig(ctx context.Context, req *pb03.CreateTaskPushNotificationConfigRequest) (*pb03.TaskPushNotificationConfig, error) {
	return grpcUnary03[*pb03.TaskPushNotificationConfig](g, ctx, methodCreatePushConfig, req)
}

// GetTaskPushNotificationConfig implements the v0.3 A2AServiceServer.
func (g *grpcService03) GetTaskPushNotificationConfig(ctx context.Context, req *pb03.GetTaskPushNotificationConfigRequest) (*pb03.TaskPushNotificationConfig, error) {
	return grpcUnary03[*pb03.TaskPushNotificationConfig](g, ctx, methodGetPushConfig, req)
}

// ListTaskPushNotificationConfig implements the v0.3 A2AServiceServer.
func (g *grpcService03) ListTaskPushNotificationConfig(ctx context.Context, req *pb03.ListTaskPushNotificationConfigRequest) (*pb03.ListTaskPushNotificationConfigResponse, error) {
	return grpcUnary03[*pb03.ListTaskPushNotificationConfigResponse](g, ctx, methodListPushConfigs, req)
}

// GetAgentCard implements the v0.3 A2AServiceServer: the authenticated extended card, as
// v0.3's agent/getAuthenticatedExtendedCard.
func (g *grpcService03) GetAgentCard(ctx context.Context, req *pb03.GetAgentCardRequest) (*pb03.AgentCard, error) {
	return grpcUnary03[*pb03.AgentCard](g, ctx, methodGetExtendedAgentCard, req)
}

// DeleteTaskPushNotificationConfig implements the v0.3 A2AServiceServer.
func (g *grpcService03) DeleteTaskPushNotificationConfig(ctx context.Context, req *pb03.DeleteTaskPushNotificationConfigRequest) (*emptypb.Empty, error) {
	return grpcUnary03[*emptypb.Empty](g, ctx, methodDeletePushConfig, req)
}
