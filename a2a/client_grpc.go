package a2a

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"

	pb03 "github.com/a2aproject/a2a-go/a2apb"
)

// WithGRPCDialOptions adds options to the gRPC connection of a BindingGRPC client (transport
// credentials for mTLS, keepalive, interceptors …). Without transport credentials the
// connection uses TLS for an https:// or grpcs:// endpoint (WithTLSConfig's, or the system
// roots) and plaintext otherwise.
func WithGRPCDialOptions(opts ...grpc.DialOption) ClientOption {
	return func(c *Client) { c.dialOpts = append(c.dialOpts, opts...) }
}

// WithTLSConfig sets the TLS configuration of a BindingGRPC client's TLS connections (client
// certificates for mTLS, the roots to trust). HTTP bindings take theirs from WithHTTPClient;
// NewClient uses that client's *http.Transport TLS configuration when this option is not given.
func WithTLSConfig(cfg *tls.Config) ClientOption {
	return func(c *Client) { c.tlsConfig = cfg }
}

// grpcTarget is the gRPC target and whether it wants TLS, from an interface URL:
// "grpcs://host:port" or "https://host:port" (TLS; port 443 by default), "grpc://host:port" or
// "http://host:port" (plaintext), or a bare "host:port" / "dns:///host:port" (TLS when the
// client has a TLS configuration, plaintext otherwise). A path is ignored: the gRPC binding has
// none.
func grpcTarget(endpoint string, tlsIfConfigured bool) (string, bool, error) {
	u, err := url.Parse(endpoint)
	if err == nil && u.Host != "" {
		switch u.Scheme {
		case "grpc", "http":
			return u.Host, false, nil
		case "grpcs", "https":
			host := u.Host
			if u.Port() == "" {
				host += ":443"
			}
			return host, true, nil
		case "dns", "unix", "passthrough":
			return endpoint, tlsIfConfigured, nil
		}
	}
	if strings.Contains(endpoint, "://") || endpoint == "" {
		return "", false, fmt.Errorf("a2a: invalid gRPC endpoint %q", endpoint)
	}
	return endpoint, tlsIfConfigured, nil
}

// dialGRPC opens the client's connection (lazily: nothing is sent until the first call).
func (c *Client) dialGRPC() error {
	target, useTLS, err := grpcTarget(c.endpoint, c.tlsConfig != nil)
	if err != nil {
		return err
	}
	opts := []grpc.DialOption{}
	switch {
	case useTLS && c.tlsConfig != nil:
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(c.tlsConfig.Clone())))
	case useTLS:
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})))
	default:
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	conn, err := grpc.NewClient(target, append(opts, c.dialOpts...)...)
	if err != nil {
		return fmt.Errorf("a2a: gRPC endpoint %q: %w", c.endpoint, err)
	}
	c.conn = conn
	return nil
}

// Close releases the client's gRPC connection (nothing to release for the HTTP bindings).
func (c *Client) Close() error {
	if c.conn != nil {
		return c.conn.Close()
	}
	return nil
}

// grpcContext is ctx with the A2A metadata of a call: a2a-version, a2a-extensions, and the
// headers the auth hook sets (authorization …) as metadata.
func (c *Client) grpcContext(ctx context.Context) (context.Context, error) {
	h := http.Header{}
	if c.auth != nil {
		if err := c.auth(ctx, h); err != nil {
			return nil, fmt.Errorf("a2a: auth: %w", err)
		}
	}
	md := metadata.Pairs(grpcVersionKey, c.version)
	if len(c.extensions) > 0 {
		md.Set(grpcExtensionsKey, strings.Join(c.extensions, ", "))
	}
	for k, vs := range h {
		md.Append(strings.ToLower(k), vs...)
	}
	return metadata.NewOutgoingContext(ctx, md), nil
}

const grpcServicePrefix = "/lf.a2a.v1.A2AService/"

// grpcServicePrefix03 is the service of the v0.3 gRPC binding.
var grpcServicePrefix03 = "/" + pb03.A2AService_ServiceDesc.ServiceName + "/"

// grpcUnary makes a unary gRPC call of the v1.0 method name.
func (c *Client) grpcUnary(ctx context.Context, name string, req, res proto.Message) error {
	ctx, err := c.grpcContext(ctx)
	if err != nil {
		return err
	}
	if res == nil {
		res = &emptypb.Empty{}
	}
	method, wire, out := grpcServicePrefix+name, req, res
	if c.version == ProtocolVersion03 {
		m03 := grpcMethodTo03(name)
		if wire, out, err = requestToPB03(req); err != nil || m03 == "" {
			return cmp.Or(err, error(&Error{Code: CodeUnsupportedOperation, Message: name + " does not exist in A2A 0.3"}))
		}
		method = grpcServicePrefix03 + m03
	}
	var header metadata.MD
	err = c.conn.Invoke(ctx, method, wire, out, grpc.Header(&header))
	recordEchoedExtensions(ctx, header.Get(grpcExtensionsKey))
	if err != nil {
		return errorFromGRPC(err)
	}
	if c.version == ProtocolVersion03 {
		v1, err := resultFromPB03(out)
		if err != nil {
			return &Error{Code: CodeInvalidAgentResponse, Message: "invalid " + name + " result: " + err.Error()}
		}
		proto.Reset(res)
		proto.Merge(res, v1)
	}
	return nil
}

var grpcStreamDesc = &grpc.StreamDesc{ServerStreams: true}

// grpcStream makes a server-streaming gRPC call of the v1.0 method name.
func (c *Client) grpcStream(ctx context.Context, name string, req proto.Message) iter.Seq2[*a2apb.StreamResponse, error] {
	return func(yield func(*a2apb.StreamResponse, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ctx, err := c.grpcContext(ctx)
		if err != nil {
			yield(nil, err)
			return
		}
		method, wire := grpcServicePrefix+name, req
		if c.version == ProtocolVersion03 {
			if wire, _, err = requestToPB03(req); err != nil {
				yield(nil, err)
				return
			}
			method = grpcServicePrefix03 + grpcMethodTo03(name)
		}
		cs, err := c.conn.NewStream(ctx, grpcStreamDesc, method)
		if err == nil {
			err = cs.SendMsg(wire)
		}
		if err == nil {
			err = cs.CloseSend()
		}
		if err != nil {
			yield(nil, errorFromGRPC(err))
			return
		}
		for first := true; ; first = false {
			ev := &a2apb.StreamResponse{}
			var msg proto.Message = ev
			if c.version == ProtocolVersion03 {
				msg = &pb03.StreamResponse{}
			}
			if err := cs.RecvMsg(msg); err != nil {
				if errors.Is(err, io.EOF) {
					return
				}
				yield(nil, errorFromGRPC(err))
				return
			}
			if c.version == ProtocolVersion03 {
				v1, err := resultFromPB03(msg)
				if err != nil {
					yield(nil, &Error{Code: CodeInvalidAgentResponse, Message: "invalid stream event: " + err.Error()})
					return
				}
				ev = v1.(*a2apb.StreamResponse)
			}
			if first {
				if header, err := cs.Header(); err == nil {
					recordEchoedExtensions(ctx, header.Get(grpcExtensionsKey))
				}
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}
