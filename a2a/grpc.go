package a2a

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"

	pb03 "github.com/a2aproject/a2a-go/a2apb"
)

// gRPC metadata keys of the A2A headers (gRPC metadata keys are lower case).
const (
	grpcVersionKey    = "a2a-version"
	grpcExtensionsKey = "a2a-extensions"
)

// NewGRPCServer returns a gRPC server with h registered as lf.a2a.v1.A2AService (the gRPC
// binding, NewGRPCService), and as a2a.v1.A2AService for v0.3 clients (NewGRPCService03), and, when auth is not nil, auth's interceptors in front of it. opts
// are passed to grpc.NewServer (credentials for TLS or mTLS, limits …). Serve it on a listener
// of its own: grpcServer.Serve(lis).
func NewGRPCServer(h Handler, auth *Authenticator, opts []grpc.ServerOption, bopts ...BindingOption) *grpc.Server {
	if auth != nil {
		opts = append(auth.GRPCServerOptions(), opts...)
	}
	gs := grpc.NewServer(opts...)
	a2apb.RegisterA2AServiceServer(gs, NewGRPCService(h, bopts...))
	pb03.RegisterA2AServiceServer(gs, NewGRPCService03(h, bopts...))
	return gs
}

// NewGRPCService serves h over the gRPC binding: each RPC of A2AService calls the Handler
// method of the same name; SendStreamingMessage and SubscribeToTask are server streams. The
// A2A-Version and A2A-Extensions headers are the metadata keys "a2a-version" (1.0 or none: v0.3
// has no gRPC binding of this proto) and "a2a-extensions". An error is a gRPC status: the code
// of the A2A error (NOT_FOUND for TaskNotFound, FAILED_PRECONDITION, UNIMPLEMENTED,
// INVALID_ARGUMENT …) with a google.rpc.ErrorInfo detail naming it (reason TASK_NOT_FOUND …,
// domain a2a-protocol.org); an error before the first event of a stream is that status with no
// event sent. Register it with a2apb.RegisterA2AServiceServer, or use NewGRPCServer.
func NewGRPCService(h Handler, opts ...BindingOption) a2apb.A2AServiceServer {
	return &grpcService{h: h, cfg: newBindingConfig(opts)}
}

type grpcService struct {
	a2apb.UnimplementedA2AServiceServer
	h   Handler
	cfg bindingConfig
}

// grpcUnary runs one unary method of the binding.
func grpcUnary[Res proto.Message](s *grpcService, ctx context.Context, name string, req proto.Message) (Res, error) {
	res, err := s.unary(ctx, name, func(ctx context.Context) (context.Context, proto.Message, error) {
		ctx, err := s.begin(ctx, req)
		return ctx, req, err
	}, nil)
	if err != nil {
		var zero Res
		return zero, err
	}
	return res.(Res), nil
}

// unary runs a unary method: begin reads the call (its context and the v1.0 request), the
// Handler answers, conv (when not nil) translates the result for another proto version.
func (s *grpcService) unary(ctx context.Context, name string, begin func(context.Context) (context.Context, proto.Message, error),
	conv func(proto.Message) (proto.Message, error)) (proto.Message, error) {
	ctx, req, err := begin(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	res, err := safeCall(ctx, s.cfg.logger, s.h, rpcMethods[name], req)
	if err == nil && conv != nil {
		res, err = conv(res)
	}
	if err != nil {
		return nil, s.status(ctx, err)
	}
	setExtensionsTrailer(ctx)
	return res, nil
}

// grpcStream runs one streaming method of the binding.
func (s *grpcService) grpcStream(name string, req proto.Message, stream grpc.ServerStreamingServer[a2apb.StreamResponse]) error {
	ctx, err := s.begin(stream.Context(), req)
	if err != nil {
		return s.status(ctx, err)
	}
	return sendStream(ctx, s, name, req, stream, func(ev *a2apb.StreamResponse) *a2apb.StreamResponse { return ev })
}

// sendStream runs a streaming method of the Handler and sends its events on stream, each
// translated by conv; the activated extensions go in the header before the first event. An
// error before the first event is the call's status, with no event sent.
func sendStream[T any](ctx context.Context, s *grpcService, name string, req proto.Message, stream grpc.ServerStreamingServer[T],
	conv func(*a2apb.StreamResponse) *T) error {
	sent := false
	for ev, err := range safeStream(ctx, s.cfg.logger, s.h, rpcMethods[name], req) {
		if err != nil {
			return s.status(ctx, err)
		}
		if ev == nil {
			continue
		}
		if !sent {
			sent = true
			if exts := ActivatedExtensions(ctx); len(exts) > 0 {
				_ = stream.SetHeader(metadata.Pairs(grpcExtensionsKey, strings.Join(exts, ", ")))
			}
		}
		if err := stream.Send(conv(ev)); err != nil {
			return err
		}
	}
	return nil
}

// begin checks the version metadata and the request, and puts the requested extensions in ctx.
func (s *grpcService) begin(ctx context.Context, req proto.Message) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := strings.Join(md.Get(grpcVersionKey), ","); strings.TrimSpace(v) != "" {
		got, err := negotiateVersion(v)
		if err != nil {
			return ctx, err
		}
		if got != ProtocolVersion {
			return ctx, &Error{Code: CodeVersionNotSupported, Message: "the gRPC binding serves A2A-Version 1.0 only",
				Data: map[string]any{"requestedVersion": v}}
		}
	}
	ctx = withRequestedExtensions(ctx, md.Get(grpcExtensionsKey))
	return ctx, validateRequest(req)
}

// setExtensionsTrailer sends the activated extensions of a unary call as response metadata.
func setExtensionsTrailer(ctx context.Context) {
	if exts := ActivatedExtensions(ctx); len(exts) > 0 {
		_ = grpc.SetHeader(ctx, metadata.Pairs(grpcExtensionsKey, strings.Join(exts, ", ")))
	}
}

func (s *grpcService) status(ctx context.Context, err error) error {
	return grpcStatusError(publicError(ctx, s.cfg.logger, err))
}

// grpcCodes are the gRPC codes by google.rpc.Code name (grpcStatus).
var grpcCodes = map[string]codes.Code{
	"NOT_FOUND": codes.NotFound, "FAILED_PRECONDITION": codes.FailedPrecondition, "UNIMPLEMENTED": codes.Unimplemented,
	"INVALID_ARGUMENT": codes.InvalidArgument, "UNAUTHENTICATED": codes.Unauthenticated,
	"PERMISSION_DENIED": codes.PermissionDenied, "INTERNAL": codes.Internal,
}

// grpcStatusError is e as a gRPC status error: its code (grpcStatus) and, for an A2A error, a
// google.rpc.ErrorInfo detail. Context cancellation keeps its own gRPC code.
func grpcStatusError(e *Error) error {
	st := status.New(grpcCodes[grpcStatus(e.Code)], e.Message)
	if info := errorInfo(e); info != nil {
		d := &errdetails.ErrorInfo{Reason: info["reason"].(string), Domain: errorDomain}
		if md, ok := info["metadata"].(map[string]string); ok {
			d.Metadata = md
		}
		if with, err := st.WithDetails(d); err == nil {
			st = with
		}
	}
	return st.Err()
}

// errorFromGRPC is the *Error of a gRPC status error: the A2A code its ErrorInfo names, or one
// derived from the gRPC code. Errors that carry no status are returned as they are.
func errorFromGRPC(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	e := &Error{Message: st.Message()}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
			if code, ok := codeOfReason(info.GetReason()); ok {
				e.Code = code
				if len(info.GetMetadata()) > 0 {
					data := map[string]any{}
					for k, v := range info.GetMetadata() {
						data[k] = v
					}
					e.Data = data
				}
				return e
			}
		}
	}
	switch st.Code() {
	case codes.InvalidArgument:
		e.Code = CodeInvalidParams
	case codes.NotFound:
		e.Code = CodeTaskNotFound
	case codes.Unimplemented:
		e.Code = CodeUnsupportedOperation
	case codes.Unauthenticated:
		e.Code = CodeUnauthenticated
	case codes.PermissionDenied:
		e.Code = CodePermissionDenied
	case codes.Canceled:
		return errors.Join(context.Canceled, e)
	case codes.DeadlineExceeded:
		return errors.Join(context.DeadlineExceeded, e)
	case codes.Unavailable:
		return errors.New("a2a: gRPC: " + st.Message())
	default:
		e.Code = CodeInternalError
	}
	return e
}

// SendMessage implements a2apb.A2AServiceServer.
func (s *grpcService) SendMessage(ctx context.Context, req *a2apb.SendMessageRequest) (*a2apb.SendMessageResponse, error) {
	return grpcUnary[*a2apb.SendMessageResponse](s, ctx, methodSendMessage, req)
}

// SendStreamingMessage implements a2apb.A2AServiceServer.
func (s *grpcService) SendStreamingMessage(req *a2apb.SendMessageRequest, stream grpc.ServerStreamingServer[a2apb.StreamResponse]) error {
	return s.grpcStream(methodSendStreamingMessage, req, stream)
}

// GetTask implements a2apb.A2AServiceServer.
func (s *grpcService) GetTask(ctx context.Context, req *a2apb.GetTaskRequest) (*a2apb.Task, error) {
	return grpcUnary[*a2apb.Task](s, ctx, methodGetTask, req)
}

// ListTasks implements a2apb.A2AServiceServer.
func (s *grpcService) ListTasks(ctx context.Context, req *a2apb.ListTasksRequest) (*a2apb.ListTasksResponse, error) {
	return grpcUnary[*a2apb.ListTasksResponse](s, ctx, methodListTasks, req)
}

// CancelTask implements a2apb.A2AServiceServer.
func (s *grpcService) CancelTask(ctx context.Context, req *a2apb.CancelTaskRequest) (*a2apb.Task, error) {
	return grpcUnary[*a2apb.Task](s, ctx, methodCancelTask, req)
}

// SubscribeToTask implements a2apb.A2AServiceServer.
func (s *grpcService) SubscribeToTask(req *a2apb.SubscribeToTaskRequest, stream grpc.ServerStreamingServer[a2apb.StreamResponse]) error {
	return s.grpcStream(methodSubscribeToTask, req, stream)
}

// CreateTaskPushNotificationConfig implements a2apb.A2AServiceServer.
func (s *grpcService) CreateTaskPushNotificationConfig(ctx context.Context, req *a2apb.TaskPushNotificationConfig) (*a2apb.TaskPushNotificationConfig, error) {
	return grpcUnary[*a2apb.TaskPushNotificationConfig](s, ctx, methodCreatePushConfig, req)
}

// GetTaskPushNotificationConfig implements a2apb.A2AServiceServer.
func (s *grpcService) GetTaskPushNotificationConfig(ctx context.Context, req *a2apb.GetTaskPushNotificationConfigRequest) (*a2apb.TaskPushNotificationConfig, error) {
	return grpcUnary[*a2apb.TaskPushNotificationConfig](s, ctx, methodGetPushConfig, req)
}

// ListTaskPushNotificationConfigs implements a2apb.A2AServiceServer.
func (s *grpcService) ListTaskPushNotificationConfigs(ctx context.Context, req *a2apb.ListTaskPushNotificationConfigsRequest) (*a2apb.ListTaskPushNotificationConfigsResponse, error) {
	return grpcUnary[*a2apb.ListTaskPushNotificationConfigsResponse](s, ctx, methodListPushConfigs, req)
}

// DeleteTaskPushNotificationConfig implements a2apb.A2AServiceServer.
func (s *grpcService) DeleteTaskPushNotificationConfig(ctx context.Context, req *a2apb.DeleteTaskPushNotificationConfigRequest) (*emptypb.Empty, error) {
	return grpcUnary[*emptypb.Empty](s, ctx, methodDeletePushConfig, req)
}

// GetExtendedAgentCard implements a2apb.A2AServiceServer.
func (s *grpcService) GetExtendedAgentCard(ctx context.Context, req *a2apb.GetExtendedAgentCardRequest) (*a2apb.AgentCard, error) {
	return grpcUnary[*a2apb.AgentCard](s, ctx, methodGetExtendedAgentCard, req)
}

// ---- auth ----

// GRPCServerOptions are the interceptors that put the Authenticator in front of a gRPC server:
// the same checks as Middleware, on the request's metadata (authorization: Bearer …, the API
// key's header) and the connection's verified TLS peer (an mTLS client SVID). A refused call
// ends with UNAUTHENTICATED or PERMISSION_DENIED and the A2A error detail; an accepted one
// reaches the service with WithCaller set.
func (a *Authenticator) GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			ctx, err := a.authenticateGRPC(ctx, info.FullMethod)
			if err != nil {
				return nil, err
			}
			return next(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
			ctx, err := a.authenticateGRPC(ss.Context(), info.FullMethod)
			if err != nil {
				return err
			}
			return next(srv, &callerStream{ServerStream: ss, ctx: ctx})
		}),
	}
}

type callerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *callerStream) Context() context.Context { return s.ctx }

// authenticateGRPC runs Authenticate and the Authorize hook on a gRPC call, seen as the HTTP
// request it would be: the metadata as headers, the peer's TLS state.
func (a *Authenticator) authenticateGRPC(ctx context.Context, fullMethod string) (context.Context, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	if err != nil {
		return ctx, status.Error(codes.Internal, "internal error")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for k, vs := range md {
		if strings.HasPrefix(k, ":") {
			continue
		}
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			st := ti.State
			r.TLS = &st
		}
	}
	method := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
	if v1, ok := grpcMethods03[method]; ok && strings.HasPrefix(fullMethod, "/"+pb03.A2AService_ServiceDesc.ServiceName+"/") {
		method = v1 // the Authorize hook sees v1.0 method names
	}
	caller, err := a.Authenticate(r)
	if err == nil {
		if e := a.authorize(ctx, caller, method); e != nil {
			err = e
		}
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = ErrUnauthenticated
		}
		return ctx, grpcStatusError(e)
	}
	if caller != "" {
		ctx = WithCaller(ctx, caller)
	}
	return ctx, nil
}
