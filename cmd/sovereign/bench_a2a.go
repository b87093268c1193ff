package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"google.golang.org/grpc"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// Limits of bench a2a.
const (
	benchA2AMaxStreams  = 100_000          // --streams
	benchA2AOpening     = 256              // streams being opened at once (the listen backlog is finite)
	benchA2AOpenTimeout = 5 * time.Minute  // how long the streams may take to open
	benchA2ADrain       = 2 * time.Minute  // how long the released streams may take to end
	benchA2AFDMargin    = 1024             // file descriptors beyond two per stream
	benchA2AWarmup      = 4                // warm-up requests per client before timing
	benchA2ARequestWait = 30 * time.Second // the longest one request may take
)

func newBenchA2A() *cobra.Command {
	var (
		requests, conc, streams int
		stream                  bool
		binding, reply          string
		streamsClient           string
	)
	c := &cobra.Command{
		Use:   "a2a",
		Short: "Measure A2A round trips and open SSE streams over loopback",
		Long: `bench a2a starts an in-process A2A server (package a2a: the task server, its in-memory task
store and the JSON-RPC, HTTP+JSON and gRPC bindings) on real loopback listeners, with a trivial
executor that echoes the message. --concurrency clients (a2a.Client over keep-alive connections)
send --requests messages, after a short warm-up; with --stream each is a SendStreamingMessage
read to its end. --reply task answers each message with a completed task (the task is stored),
--reply message with a direct message (no task). It prints, last:
requests/s=… p50_ms=… p99_ms=… errors=…

With --streams N it instead opens N concurrent SendStreamingMessage streams (one connection
each) whose executor stays WORKING until released, reports how many were open at once with the
process's RSS and goroutines, then releases them and waits for every stream to complete. It
prints, last: streams=N open=… rss_mib=… goroutines=… completed=…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := benchBinding(binding)
			if err != nil {
				return err
			}
			if reply != "task" && reply != "message" {
				return fmt.Errorf("bench a2a: --reply is task or message, not %q", reply)
			}
			if streams != 0 {
				if b.name == a2a.BindingGRPC {
					return errors.New("bench a2a: --streams holds SSE streams: use --binding jsonrpc or rest")
				}
				if streams < 1 || streams > benchA2AMaxStreams {
					return fmt.Errorf("bench a2a: --streams is 1..%d", benchA2AMaxStreams)
				}
				if streamsClient != "" {
					return benchStreamsClient(cmd.Context(), cmd.OutOrStdout(), b, streams, streamsClient)
				}
				return benchA2AStreams(cmd.Context(), cmd.OutOrStdout(), b, streams)
			}
			if requests < 1 || conc < 1 || conc > 10_000 {
				return errors.New("bench a2a: need --requests ≥ 1 and --concurrency 1..10000")
			}
			return benchA2ARequests(cmd.Context(), cmd.OutOrStdout(), b, requests, conc, stream, reply == "message")
		},
	}
	f := c.Flags()
	f.IntVar(&requests, "requests", 20000, "messages to send")
	f.IntVar(&conc, "concurrency", 16, "concurrent clients")
	f.BoolVar(&stream, "stream", false, "send with SendStreamingMessage and read each stream to its end")
	f.StringVar(&binding, "binding", "jsonrpc", "jsonrpc, rest (HTTP+JSON) or grpc")
	f.StringVar(&reply, "reply", "task", "what the executor answers: task (a completed task) or message (a direct message)")
	f.IntVar(&streams, "streams", 0, "instead: hold this many SSE streams open at once")
	f.StringVar(&streamsClient, "streams-client", "", "internal: be the client side of --streams against this server URL")
	_ = f.MarkHidden("streams-client")
	return c
}

// benchBinding maps --binding to the binding name and the path it is served under.
func benchBinding(s string) (benchA2ABinding, error) {
	switch strings.ToLower(s) {
	case "jsonrpc", "json-rpc":
		return benchA2ABinding{name: a2a.BindingJSONRPC, path: "/rpc"}, nil
	case "rest", "http+json":
		return benchA2ABinding{name: a2a.BindingHTTPJSON, path: "/rest"}, nil
	case "grpc":
		return benchA2ABinding{name: a2a.BindingGRPC}, nil
	}
	return benchA2ABinding{}, fmt.Errorf("bench a2a: --binding is jsonrpc, rest or grpc, not %q", s)
}

type benchA2ABinding struct{ name, path string }

// benchEcho is the trivial executor: it completes each task with the message echoed in the
// status (or, with message, answers with a direct message and creates no task).
type benchEcho struct{ message bool }

func (e benchEcho) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	m := &a2apb.Message{Role: a2apb.Role_ROLE_AGENT, Parts: rc.Message.GetParts()}
	if e.message {
		return q.Message(ctx, m)
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, m)
}

func (benchEcho) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

// benchHold keeps every task WORKING until release is closed, then completes it; holding
// counts the tasks it holds.
type benchHold struct {
	release chan struct{}
	holding *atomic.Int64
}

func (h benchHold) Execute(ctx context.Context, _ *a2a.RequestContext, q *a2a.EventQueue) error {
	if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil); err != nil {
		return err
	}
	h.holding.Add(1)
	defer h.holding.Add(-1)
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
}

func (benchHold) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

// benchA2AServer is an A2A server over ex on loopback listeners: the HTTP bindings on one, gRPC
// on another.
type benchA2AServer struct {
	url      string
	grpcAddr string
	s        *a2a.Server
	hs       *http.Server
	gs       *grpc.Server
}

func startBenchA2AServer(ex a2a.Executor) (*benchA2AServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.DiscardHandler)
	s := a2a.NewServer(a2a.ServerConfig{Executor: ex, Logger: quiet})
	mux := http.NewServeMux()
	mux.Handle("/rpc", a2a.NewJSONRPCHandler(s, a2a.WithLogger(quiet)))
	mux.Handle("/rest/", http.StripPrefix("/rest", a2a.NewRESTHandler(s, a2a.WithLogger(quiet))))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = hs.Serve(ln) }()
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = hs.Close()
		return nil, err
	}
	gs := a2a.NewGRPCServer(s, nil, nil, a2a.WithLogger(quiet))
	go func() { _ = gs.Serve(gln) }()
	return &benchA2AServer{url: "http://" + ln.Addr().String(), grpcAddr: gln.Addr().String(), s: s, hs: hs, gs: gs}, nil
}

func (b *benchA2AServer) Close() {
	_ = b.hs.Close()
	b.gs.Stop()
	_ = b.s.Close()
}

// benchA2AClient is a client of srv over b with its own transport, keeping up to conns
// connections alive.
func benchA2AClient(srv *benchA2AServer, b benchA2ABinding, conns int) (*a2a.Client, *http.Transport, error) {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	endpoint := srv.url + b.path
	if b.name == a2a.BindingGRPC {
		endpoint = "grpc://" + srv.grpcAddr // one HTTP/2 connection, calls multiplexed
	}
	c, err := a2a.NewClient(endpoint, b.name, a2a.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		tr.CloseIdleConnections()
		return nil, nil, err
	}
	return c, tr, nil
}

func benchA2ARequests(ctx context.Context, out io.Writer, b benchA2ABinding, requests, conc int, stream, message bool) error {
	srv, err := startBenchA2AServer(benchEcho{message: message})
	if err != nil {
		return err
	}
	defer srv.Close()
	c, tr, err := benchA2AClient(srv, b, 2*conc)
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	defer c.Close()
	replyKind := "task"
	if message {
		replyKind = "message"
	}
	fmt.Fprintf(out, "a2a server on %s: binding %s, reply %s, %d requests, %d concurrent, stream=%t, GOMAXPROCS=%d\n",
		srv.url, b.name, replyKind, requests, conc, stream, runtime.GOMAXPROCS(0))

	one := func(ctx context.Context, i int) error {
		ctx, cancel := context.WithTimeout(ctx, benchA2ARequestWait)
		defer cancel()
		req := &a2apb.SendMessageRequest{Message: &a2apb.Message{MessageId: "m" + strconv.Itoa(i), Role: a2apb.Role_ROLE_USER,
			Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: "ping " + strconv.Itoa(i)}}}}}
		if !stream {
			res, err := c.SendMessage(ctx, req)
			if err != nil {
				return err
			}
			if res.GetTask() == nil && res.GetMessage() == nil {
				return errors.New("empty answer")
			}
			return nil
		}
		final := false
		for ev, err := range c.SendStreamingMessage(ctx, req) {
			if err != nil {
				return err
			}
			if ev.GetMessage() != nil || ev.GetStatusUpdate().GetStatus().GetState() == a2apb.TaskState_TASK_STATE_COMPLETED ||
				ev.GetTask().GetStatus().GetState() == a2apb.TaskState_TASK_STATE_COMPLETED {
				final = true
			}
		}
		if !final {
			return errors.New("the stream ended before the answer")
		}
		return nil
	}

	// Warm up: open the connections and the code paths.
	var wg sync.WaitGroup
	var warmErr error
	var warmOnce sync.Once
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < benchA2AWarmup; k++ {
				if err := one(ctx, -1-w*benchA2AWarmup-k); err != nil {
					warmOnce.Do(func() { warmErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if warmErr != nil {
		return fmt.Errorf("bench a2a: warm-up: %w", warmErr)
	}

	lat := make([]time.Duration, requests)
	var next, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= requests || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := one(ctx, i)
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	if n := failed.Load(); n > 0 {
		fmt.Fprintf(out, "%d requests failed; the first: %v\n", n, firstErr)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(quantile(lat, p).Microseconds()) / 1000 }
	fmt.Fprintf(out, "requests/s=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d\n", float64(requests)/elapsed.Seconds(), pct(0.50), pct(0.99), failed.Load())
	if failed.Load() > 0 {
		return fmt.Errorf("bench a2a: %d of %d requests failed: %w", failed.Load(), requests, firstErr)
	}
	return nil
}

// streamRun is a set of SSE streams a client holds open: each sends a message to a benchHold
// server and reads its stream until the task completes.
type streamRun struct {
	open, completed, failed atomic.Int64
	errOnce                 sync.Once
	firstErr                error
	wg                      sync.WaitGroup
	launched                chan struct{} // closed once every stream has been started
}

// startStreams opens n streams through c, at most benchA2AOpening being opened at a time (a
// stream counts as open once its WORKING status has arrived).
func startStreams(ctx context.Context, c *a2a.Client, n int) *streamRun {
	r := &streamRun{launched: make(chan struct{})}
	opening := make(chan struct{}, benchA2AOpening)
	go func() {
		defer close(r.launched)
		for i := 0; i < n; i++ {
			select {
			case opening <- struct{}{}:
			case <-ctx.Done():
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				var once sync.Once
				done := func() { once.Do(func() { <-opening }) }
				defer done()
				req := &a2apb.SendMessageRequest{Message: &a2apb.Message{MessageId: "s" + strconv.Itoa(i), Role: a2apb.Role_ROLE_USER,
					Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: "hold"}}}}}
				working, final := false, false
				for ev, err := range c.SendStreamingMessage(ctx, req) {
					if err != nil {
						if ctx.Err() == nil {
							r.failed.Add(1)
							r.errOnce.Do(func() { r.firstErr = err })
						}
						break
					}
					switch ev.GetStatusUpdate().GetStatus().GetState() {
					case a2apb.TaskState_TASK_STATE_WORKING:
						if !working {
							working = true
							r.open.Add(1)
							done()
						}
					case a2apb.TaskState_TASK_STATE_COMPLETED:
						final = true
					}
				}
				if final {
					r.completed.Add(1)
				}
			}()
		}
	}()
	return r
}

// waitOpen waits until all n streams are open or have failed, or timeout passes, and returns
// how many are open.
func (r *streamRun) waitOpen(ctx context.Context, n int, timeout time.Duration) int64 {
	deadline := time.Now().Add(timeout)
	for r.open.Load()+r.failed.Load() < int64(n) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	return r.open.Load()
}

// waitEnd waits for every stream to end, canceling them after timeout.
func (r *streamRun) waitEnd(cancel context.CancelFunc, timeout time.Duration) {
	ended := make(chan struct{})
	go func() { <-r.launched; r.wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(timeout):
		cancel()
		<-ended
	}
}

// benchA2AStreams holds n streams open. Client and server share the process when the open-file
// limit allows two descriptors a stream; otherwise the clients run in a child process (this
// binary, with the hidden --streams-client flag) and the figures are the server's alone.
func benchA2AStreams(ctx context.Context, out io.Writer, b benchA2ABinding, n int) error {
	need := uint64(2*n + benchA2AFDMargin)
	have, _ := raiseFDLimit(need)
	inProcess := have >= need
	if !inProcess && have < uint64(n+benchA2AFDMargin) {
		return fmt.Errorf("bench a2a: %d streams need %d open files; the limit is %d", n, n+benchA2AFDMargin, have)
	}
	release := make(chan struct{})
	var released sync.Once
	releaseAll := func() { released.Do(func() { close(release) }) }
	defer releaseAll()
	hold := benchHold{release: release, holding: new(atomic.Int64)}
	srv, err := startBenchA2AServer(hold)
	if err != nil {
		return err
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	where := "clients in this process"
	if !inProcess {
		where = fmt.Sprintf("clients in a child process (the open-file limit %d is under two a stream)", have)
	}
	fmt.Fprintf(out, "a2a server on %s: binding %s, opening %d SSE streams (%d at a time), %s\n", srv.url, b.name, n, benchA2AOpening, where)
	rss0, _ := benchRSS("self")
	start := time.Now()

	var run *streamRun
	var child *benchChild
	var clientOpen int64
	if inProcess {
		c, tr, err := benchA2AClient(srv, b, benchA2AOpening)
		if err != nil {
			return err
		}
		defer tr.CloseIdleConnections()
		run = startStreams(ctx, c, n)
		clientOpen = run.waitOpen(ctx, n, benchA2AOpenTimeout)
	} else {
		if child, err = startBenchChild(ctx, b, n, srv.url); err != nil {
			return err
		}
		defer child.kill()
		if clientOpen, err = child.waitOpen(); err != nil {
			return err
		}
	}
	opened := time.Since(start)
	serverOpen := hold.holding.Load()
	runtime.GC()
	rss, rssErr := benchRSS("self")
	gor := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rssText := "unknown"
	if rssErr == nil {
		rssText = fmt.Sprintf("%d MiB (%d MiB before: %.1f KiB a stream)", rss>>20, rss0>>20, float64(rss-min(rss, rss0))/1024/float64(max(clientOpen, 1)))
	}
	fmt.Fprintf(out, "open at once: %d of %d streams (server: %d tasks held) after %.1fs\n", clientOpen, n, serverOpen, opened.Seconds())
	fmt.Fprintf(out, "this process: RSS %s, heap in use %d MiB, %d goroutines\n", rssText, ms.HeapInuse>>20, gor)
	if child != nil {
		if crss, err := benchRSS(strconv.Itoa(child.cmd.Process.Pid)); err == nil {
			fmt.Fprintf(out, "client process: RSS %d MiB\n", crss>>20)
		}
	}

	// Release: every executor completes its task and every stream ends with it.
	t0 := time.Now()
	releaseAll()
	var completed, failed int64
	var firstErr error
	if run != nil {
		run.waitEnd(cancel, benchA2ADrain)
		completed, failed, firstErr = run.completed.Load(), run.failed.Load(), run.firstErr
	} else {
		completed, failed, firstErr = child.wait()
	}
	if failed > 0 {
		fmt.Fprintf(out, "%d streams failed; the first: %v\n", failed, firstErr)
	}
	fmt.Fprintf(out, "released: %d streams completed in %.1fs\n", completed, time.Since(t0).Seconds())
	fmt.Fprintf(out, "streams=%d open=%d rss_mib=%d goroutines=%d completed=%d\n", n, clientOpen, rss>>20, gor, completed)
	if clientOpen < int64(n) || completed < int64(n) {
		return fmt.Errorf("bench a2a: %d of %d streams open, %d completed (first error: %v)", clientOpen, n, completed, firstErr)
	}
	return nil
}

// benchChild is the child process holding the client side of the streams.
type benchChild struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
}

func startBenchChild(ctx context.Context, b benchA2ABinding, n int, url string) (*benchChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	binding := "jsonrpc"
	if b.name == a2a.BindingHTTPJSON {
		binding = "rest"
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "a2a", "--streams", strconv.Itoa(n), "--binding", binding, "--streams-client", url)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &benchChild{cmd: cmd, lines: bufio.NewScanner(stdout)}, nil
}

// next returns the next "key=value …" line of the child's that starts with key.
func (c *benchChild) next(key string) (map[string]string, error) {
	for c.lines.Scan() {
		line := c.lines.Text()
		if !strings.HasPrefix(line, key+"=") {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(line) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		kv["line"] = line
		return kv, nil
	}
	if err := c.lines.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("bench a2a: the client process ended before reporting %s", key)
}

func (c *benchChild) waitOpen() (int64, error) {
	kv, err := c.next("open")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(kv["open"], 10, 64)
}

func (c *benchChild) wait() (completed, failed int64, firstErr error) {
	kv, err := c.next("completed")
	if err != nil {
		return 0, 0, err
	}
	completed, _ = strconv.ParseInt(kv["completed"], 10, 64)
	failed, _ = strconv.ParseInt(kv["failed"], 10, 64)
	if _, e, ok := strings.Cut(kv["line"], " error="); ok {
		firstErr = errors.New(e)
	}
	_ = c.cmd.Wait()
	return completed, failed, firstErr
}

func (c *benchChild) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	}
}

// benchStreamsClient is the child's side: it opens n streams to url and reports on stdout
// "open=K failed=F" once they are open and "completed=C failed=F [error=…]" once they ended.
func benchStreamsClient(ctx context.Context, out io.Writer, b benchA2ABinding, n int, url string) error {
	if have, err := raiseFDLimit(uint64(n + benchA2AFDMargin)); have < uint64(n+benchA2AFDMargin) {
		return fmt.Errorf("bench a2a client: %d streams need %d open files; the limit is %d (%v)", n, n+benchA2AFDMargin, have, err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: benchA2AOpening, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c, err := a2a.NewClient(strings.TrimSuffix(url, "/")+b.path, b.name, a2a.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run := startStreams(ctx, c, n)
	open := run.waitOpen(ctx, n, benchA2AOpenTimeout)
	fmt.Fprintf(out, "open=%d failed=%d\n", open, run.failed.Load())
	run.waitEnd(cancel, benchA2AOpenTimeout+benchA2ADrain)
	line := fmt.Sprintf("completed=%d failed=%d", run.completed.Load(), run.failed.Load())
	if run.firstErr != nil {
		line += " error=" + strings.ReplaceAll(run.firstErr.Error(), "\n", " ")
	}
	fmt.Fprintln(out, line)
	return nil
}

// benchRSS is the resident set size of a process ("self" or a pid; Linux: VmRSS of
// /proc/PID/status).
func benchRSS(pid string) (uint64, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}
