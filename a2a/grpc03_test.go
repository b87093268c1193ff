package a2a

import (
	"context"
	"testing"

	pb03 "github.com/a2aproject/a2a-go/a2apb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// TestGRPC03_Service calls the v0.3 gRPC service (a2a.v1.A2AService, served by NewGRPCServer
// beside the v1.0 one) with the reference v0.3 proto's client: resource names, push configs, the
// card, and errors as gRPC statuses.
func TestGRPC03_Service(t *testing.T) {
	fake := newFakeHandler()
	srv, _ := serveBindings(t, fake)
	addr, _ := grpcAddrs.Load(srv.URL)
	conn, err := grpc.NewClient(addr.(string), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := pb03.NewA2AServiceClient(conn)
	ctx := context.Background()

	res, err := c.SendMessage(ctx, &pb03.SendMessageRequest{Request: &pb03.Message{MessageId: "m", Role: pb03.Role_ROLE_USER,
		Parts: []*pb03.Part{{Part: &pb03.Part_Text{Text: "wait"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.GetTask().GetId()
	name := "tasks/" + id

	cfg, err := c.CreateTaskPushNotificationConfig(ctx, &pb03.CreateTaskPushNotificationConfigRequest{Parent: name, ConfigId: "c1",
		Config: &pb03.TaskPushNotificationConfig{PushNotificationConfig: &pb03.PushNotificationConfig{Url: "https://hook.example/"}}})
	if err != nil || cfg.GetName() != name+"/pushNotificationConfigs/c1" {
		t.Fatalf("create push = %v, %v", cfg, err)
	}
	list, err := c.ListTaskPushNotificationConfig(ctx, &pb03.ListTaskPushNotificationConfigRequest{Parent: name})
	if err != nil || len(list.GetConfigs()) != 1 {
		t.Fatalf("list push = %v, %v", list, err)
	}
	if got, err := c.GetTaskPushNotificationConfig(ctx, &pb03.GetTaskPushNotificationConfigRequest{Name: cfg.GetName()}); err != nil ||
		got.GetPushNotificationConfig().GetUrl() != "https://hook.example/" {
		t.Fatalf("get push = %v, %v", got, err)
	}
	if _, err := c.DeleteTaskPushNotificationConfig(ctx, &pb03.DeleteTaskPushNotificationConfigRequest{Name: cfg.GetName()}); err != nil {
		t.Fatal(err)
	}
	card, err := c.GetAgentCard(ctx, &pb03.GetAgentCardRequest{})
	if err != nil || card.GetName() != "extended" || card.GetProtocolVersion() != "0.3.0" {
		t.Fatalf("card = %v, %v", card, err)
	}
	canceled, err := c.CancelTask(ctx, &pb03.CancelTaskRequest{Name: name})
	if err != nil || canceled.GetStatus().GetState() != pb03.TaskState_TASK_STATE_CANCELLED {
		t.Fatalf("cancel = %v, %v", canceled, err)
	}

	for _, tc := range []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"bad name", func() error { _, err := c.GetTask(ctx, &pb03.GetTaskRequest{Name: "task/x"}); return err }, codes.InvalidArgument},
		{"not found", func() error { _, err := c.GetTask(ctx, &pb03.GetTaskRequest{Name: "tasks/nope"}); return err }, codes.NotFound},
		{"not cancelable", func() error { _, err := c.CancelTask(ctx, &pb03.CancelTaskRequest{Name: name}); return err }, codes.FailedPrecondition},
		{"no message", func() error { _, err := c.SendMessage(ctx, &pb03.SendMessageRequest{}); return err }, codes.InvalidArgument},
		{"delete without config id", func() error {
			_, err := c.DeleteTaskPushNotificationConfig(ctx, &pb03.DeleteTaskPushNotificationConfigRequest{Name: name})
			return err
		}, codes.InvalidArgument},
		{"subscribe unknown", func() error {
			st, err := c.TaskSubscription(ctx, &pb03.TaskSubscriptionRequest{Name: "tasks/nope"})
			if err != nil {
				return err
			}
			_, err = st.Recv()
			return err
		}, codes.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := status.Code(tc.call()); got != tc.code {
				t.Fatalf("code = %v, want %v", got, tc.code)
			}
		})
	}
}
