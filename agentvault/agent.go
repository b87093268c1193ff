package agentvault

import (
	"context"
	"errors"
	"fmt"
	"google.golang.org/protobuf/encoding/protojson"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// Defaults of an Agent.
const (
	// DefaultHeartbeatInterval is how often an Agent tells the registry it is alive until the
	// registry says its own interval (then half of that): half the registry's default
	// interval, so one lost heartbeat does not count as a missed one.
	DefaultHeartbeatInterval = 30 * time.Second
	// DefaultShutdownTimeout is how long Run waits for requests in flight when it stops.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultJSONRPCPath and DefaultRESTPath are the conventional paths of the HTTP bindings
	// (the examples' and templates' cards use them); an Agent serves each binding where its
	// card's interface says, and none its card does not list.
	DefaultJSONRPCPath = "/a2a"
	DefaultRESTPath    = "/a2a/v1"
	// readHeaderTimeout bounds reading a request's headers.
	readHeaderTimeout = 10 * time.Second
)

// Agent runs an a2a.Executor as a network agent: it serves the card at
// /.well-known/agent-card.json and each binding the card lists — JSON-RPC at the path of its
// JSONRPC interface, HTTP+JSON under the path of its HTTP+JSON interface (a2a.NewHTTPHandler,
// so the card and the routes cannot disagree), the gRPC binding on the host:port of its GRPC
// interface (or GRPCListener) — v0.3 clients included, and — by default, as soon as it has a RegistryURL and a
// credential (Credential, or its client credentials in Keys) — keeps itself active in
// discovery with heartbeats (a Heartbeater: at start, then every half of the registry's
// interval, or every HeartbeatInterval). Run stops it gracefully when its context ends. Executor and Card are required; the rest has defaults.
type Agent struct {
	// Executor is the agent's logic.
	Executor a2a.Executor
	// Card is the agent's public card; its interfaces' URLs say where the bindings are served.
	Card *a2apb.AgentCard
	// ExtendedCard is served by GetExtendedAgentCard when set.
	ExtendedCard *a2apb.AgentCard
	// Identity is the agent's identity (its ID names it in logs; optional).
	Identity *Identity
	// RegistryURL is the registry the agent heartbeats to; "" sends none.
	RegistryURL string
	// Credential authenticates the agent to the registry (its *TokenSource). When nil and Keys
	// and Identity are set, a TokenSource from the client credentials Keys keeps for
	// Identity.ID is used.
	Credential Credential
	// Keys is the key store the credential can come from.
	Keys KeyStore
	// DeveloperCredential, when set and the agent has no registered Identity yet, makes Run
	// register the agent first: the bootstrap protocol at RegistryURL with this developer
	// credential (an access token or API key), the new identity and client credentials saved
	// in Keys (required then) and used from then on.
	DeveloperCredential Credential
	// HeartbeatInterval is the time between heartbeats: 0 to follow the registry (half the
	// interval its heartbeat answers advertise; DefaultHeartbeatInterval until then),
	// negative for none.
	HeartbeatInterval time.Duration
	// Addr is the address to listen on ("host:port"; ":8080" when empty), unless Listener
	// is set.
	Addr string
	// Listener, when set, is served instead of listening on Addr (Run closes it).
	Listener net.Listener
	// GRPCListener, when set, serves the gRPC binding (a2a.NewGRPCServer, behind the same
	// Auth). When nil and the card lists a GRPC interface, Run listens on that interface's
	// host:port.
	GRPCListener net.Listener
	// Store keeps the tasks (a2a.NewMemoryTaskStore when nil).
	Store a2a.TaskStore
	// Push delivers push notifications (none when nil).
	Push a2a.PushSender
	// Authenticate, when set, is asked for the caller of each A2A request: it returns the
	// caller's identity (tasks are visible to their creator only), or an error to refuse the
	// request with 401. It replaces Auth.
	Authenticate func(*http.Request) (string, error)
	// Auth is the auth middleware when Authenticate is nil (its Card defaults to Card). When
	// both are nil and the card declares security schemes, DefaultAuthenticator is used.
	Auth *a2a.Authenticator
	// ShutdownTimeout bounds the graceful stop (DefaultShutdownTimeout when 0).
	ShutdownTimeout time.Duration
	// Logger receives heartbeat failures and the server's errors (slog.Default when nil).
	Logger *slog.Logger
	// HTTPClient is used for heartbeats and the registry's trust bundle (when nil: a client
	// with DefaultTimeout trusting the CA file $SOVEREIGN_CA_FILE names, if any, besides the
	// system's roots; NewHTTPClient makes one for another CA file).
	HTTPClient *http.Client

	mu         sync.Mutex
	heartbeats int
	lastErr    error
}

// Heartbeats counts the heartbeats the registry accepted since Run started.
func (a *Agent) Heartbeats() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.heartbeats
}

// LastHeartbeatError is the error of the last heartbeat (nil when it was accepted).
func (a *Agent) LastHeartbeatError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastErr
}

func (a *Agent) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// authenticator is the auth middleware of the bindings: Auth (its Card defaulting to Card), or
// DefaultAuthenticator when the card declares security schemes, or nil.
func (a *Agent) authenticator() (*a2a.Authenticator, error) {
	auth := a.Auth
	if auth == nil && len(a.Card.GetSecuritySchemes()) > 0 {
		var err error
		if auth, err = a.DefaultAuthenticator(); err != nil {
			return nil, err
		}
	}
	if auth != nil && auth.Card == nil {
		cp := *auth
		cp.Card = a.Card
		auth = &cp
	}
	return auth, nil
}

// grpcListener is where Run serves the gRPC binding: GRPCListener, or a listener on the
// host:port of the card's first v1.0 GRPC interface, or nil when there is none.
func (a *Agent) grpcListener() (net.Listener, error) {
	if a.GRPCListener != nil {
		return a.GRPCListener, nil
	}
	for _, i := range a.Card.GetSupportedInterfaces() {
		if !strings.EqualFold(i.GetProtocolBinding(), a2a.BindingGRPC) || strings.HasPrefix(i.GetProtocolVersion(), "0.") {
			continue
		}
		u, err := url.Parse(i.GetUrl())
		host := i.GetUrl()
		if err == nil && u.Host != "" {
			host = u.Host
		}
		ln, err := net.Listen("tcp", host)
		if err != nil {
			return nil, fmt.Errorf("agentvault: the card's gRPC interface %s: %w", i.GetUrl(), err)
		}
		return ln, nil
	}
	return nil, nil
}

// Handler returns the agent's HTTP handler and the a2a.Server behind it; the caller closes the
// server. Run uses it; it is there for embedding the agent in another server. The handler is
// a2a.NewHTTPHandler's: the card at the well-known path and each HTTP binding at the path of its
// interface in the card, behind Auth (or DefaultAuthenticator) or the Authenticate hook, whose
// refusals are answered in the binding's format with 401.
func (a *Agent) Handler() (http.Handler, *a2a.Server, error) {
	if a.Executor == nil {
		return nil, nil, errors.New("agentvault: Agent.Executor is required")
	}
	if a.Card == nil {
		return nil, nil, errors.New("agentvault: Agent.Card is required")
	}
	srv := a2a.NewServer(a2a.ServerConfig{Executor: a.Executor, Store: a.Store, Card: a.Card, ExtendedCard: a.ExtendedCard,
		Push: a.Push, Logger: a.Logger})
	opts := []a2a.MountOption{a2a.WithBindingOptions(a2a.WithLogger(a.logger()))}
	if a.Authenticate != nil {
		opts = append(opts, a2a.WithMiddleware(a.authenticateHook))
	} else {
		auth, err := a.authenticator()
		if err != nil {
			_ = srv.Close()
			return nil, nil, err
		}
		if auth != nil {
			opts = append(opts, a2a.WithAuthenticator(auth))
		}
	}
	h, err := a2a.NewHTTPHandler(srv, a.Card, opts...)
	if err != nil {
		_ = srv.Close()
		return nil, nil, fmt.Errorf("agentvault: %w", err)
	}
	return h, srv, nil
}

// authenticateHook is the Authenticate hook as binding middleware: the caller in the request's
// context, or a 401 in the binding's error format.
func (a *Agent) authenticateHook(binding string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := a.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", "Bearer")
			a2a.WriteError(w, r, binding, &a2a.Error{Code: a2a.CodeUnauthenticated, Message: "unauthenticated: " + err.Error()})
			return
		}
		next.ServeHTTP(w, r.WithContext(a2a.WithCaller(r.Context(), caller)))
	})
}

// DefaultAuthenticator is the auth middleware of an agent whose card declares security
// schemes and that sets neither Authenticate nor Auth: JWT-SVID bearer tokens and mTLS client
// X.509-SVIDs verified against the registry's trust bundle (GET RegistryURL/api/v1/identity/bundle,
// cached for its refresh hint), a JWT-SVID being accepted only when minted for the agent's own
// SPIFFE ID (callers ask the registry for a token with the agent as its audience; a TEG token
// is refused, so no agent can replay what it is sent). It needs RegistryURL
// and Identity.SPIFFEID. API keys and other bearer tokens need verifiers: set Auth for those.
func (a *Agent) DefaultAuthenticator() (*a2a.Authenticator, error) {
	if a.RegistryURL == "" || a.Identity == nil || a.Identity.SPIFFEID == "" {
		return nil, errors.New("agentvault: the card declares security schemes, but the Agent cannot verify them: set Authenticate or Auth, or RegistryURL and Identity.SPIFFEID for JWT-SVID and mTLS")
	}
	id, err := spiffeid.FromString(a.Identity.SPIFFEID)
	if err != nil {
		return nil, fmt.Errorf("agentvault: Identity.SPIFFEID: %w", err)
	}
	hc := a.HTTPClient
	if hc == nil {
		hc = newSettings(nil).hc
	}
	src := &a2a.HTTPBundleSource{URL: strings.TrimRight(a.RegistryURL, "/") + BundlePath, TrustDomain: id.TrustDomain(), HTTPClient: hc}
	return &a2a.Authenticator{Card: a.Card, JWTBundles: src, X509Bundles: src, Audiences: []string{id.String()}}, nil
}

// options are the Options of the agent's registry calls: its HTTPClient, when set.
func (a *Agent) options() []Option {
	if a.HTTPClient == nil {
		return nil
	}
	return []Option{WithHTTPClient(a.HTTPClient)}
}

// credential is the credential heartbeats use, or nil for none.
func (a *Agent) credential(ctx context.Context) (Credential, error) {
	if a.Credential != nil {
		return a.Credential, nil
	}
	if a.Keys == nil || a.Identity == nil || a.Identity.ID == "" {
		return nil, nil
	}
	return TokenSourceFromKeyStore(ctx, a.RegistryURL, a.Keys, a.Identity.ID, a.options()...)
}

// register runs the bootstrap protocol for an agent that has a developer credential and no
// registered identity yet, and keeps the result.
func (a *Agent) register(ctx context.Context) error {
	if a.DeveloperCredential == nil || (a.Identity != nil && a.Identity.ID != "") {
		return nil
	}
	if a.RegistryURL == "" || a.Keys == nil || a.Card == nil {
		return errors.New("agentvault: registering an agent needs RegistryURL, Keys and Card")
	}
	card, err := protojson.Marshal(a.Card)
	if err != nil {
		return fmt.Errorf("agentvault: the card: %w", err)
	}
	opts := a.options()
	reg, err := NewRegistry(a.RegistryURL, a.DeveloperCredential, opts...).Register(ctx, card, RegisterOptions{Identity: a.Identity})
	if err != nil {
		return err
	}
	if err := reg.Save(ctx, a.Keys); err != nil {
		return fmt.Errorf("agentvault: the agent %s is registered but its credentials could not be saved: %w", reg.Identity.ID, err)
	}
	a.Identity = reg.Identity
	if a.Credential == nil {
		a.Credential = reg.TokenSource(a.RegistryURL, opts...)
	}
	a.logger().Info("agent registered", "agent", reg.Identity.ID, "did", reg.Identity.DID, "spiffe_id", reg.Identity.SPIFFEID)
	return nil
}

// Run serves the agent until ctx ends, then stops gracefully: it stops accepting connections,
// waits up to ShutdownTimeout for requests in flight, then cancels what still runs. It returns
// nil after a stop by ctx, or the error that stopped it.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.register(ctx); err != nil {
		return err
	}
	h, srv, err := a.Handler()
	if err != nil {
		return err
	}
	defer srv.Close()
	var cred Credential
	if a.RegistryURL != "" && a.HeartbeatInterval >= 0 {
		if cred, err = a.credential(ctx); err != nil {
			return err
		}
		if cred == nil {
			return errors.New("agentvault: Agent.RegistryURL is set but there is no credential to heartbeat with (set Credential, or Keys and Identity)")
		}
	}
	ln := a.Listener
	if ln == nil {
		addr := a.Addr
		if addr == "" {
			addr = ":8080"
		}
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("agentvault: %w", err)
		}
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog: slog.NewLogLogger(a.logger().Handler(), slog.LevelWarn)}
	serveErr := make(chan error, 2)
	gln, err := a.grpcListener()
	if err != nil {
		_ = ln.Close()
		return err
	}
	if gln != nil {
		if a.Authenticate != nil {
			_ = ln.Close()
			_ = gln.Close()
			return errors.New("agentvault: Agent.Authenticate is an HTTP hook; an agent that serves gRPC authenticates with Auth")
		}
		auth, err := a.authenticator()
		if err != nil {
			_ = ln.Close()
			_ = gln.Close()
			return err
		}
		gs := a2a.NewGRPCServer(srv, auth, nil, a2a.WithLogger(a.logger()))
		go func() {
			if err := gs.Serve(gln); err != nil {
				serveErr <- err
			}
		}()
		defer gs.Stop()
	}
	go func() { serveErr <- hs.Serve(ln) }()

	hbCtx, stopHB := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if cred != nil {
		reg := NewRegistry(a.RegistryURL, cred, a.options()...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.heartbeatLoop(hbCtx, reg, cred)
		}()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("agentvault: serving: %w", err)
	}
	stopHB()
	wg.Wait()
	timeout := a.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close() // streams still open after the timeout
	}
	return runErr
}

// heartbeatLoop sends heartbeats until ctx ends, counting the accepted ones.
func (a *Agent) heartbeatLoop(ctx context.Context, reg *Registry, cred Credential) {
	hb := &Heartbeater{Registry: reg, Credential: cred, Interval: a.HeartbeatInterval, Logger: a.logger(), AgentID: a.agentID(),
		OnBeat: func(_ *AgentInfo, err error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.lastErr = err
			if err == nil {
				a.heartbeats++
			}
		}}
	hb.Run(ctx)
}

func (a *Agent) agentID() string {
	if a.Identity != nil {
		return a.Identity.ID
	}
	return ""
}
