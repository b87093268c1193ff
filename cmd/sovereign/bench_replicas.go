package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// bench ledger --replicas R runs R−1 of its shares in child processes of this binary
// ("sovereign bench ledger-worker", hidden). The conversation, one line at a time:
//
//	parent → child stdin:  the job, JSON (benchJob: the DSN and the share — on stdin, not the
//	                       command line, so a password in the DSN is not shown by ps)
//	child → parent stdout: "ready" once its store and ledger are open
//	parent → child stdin:  "go" once every process is ready (the clock starts)
//	child → parent stdout: the result, JSON (benchResult), once its share is done
//
// The child exits 0 after its result, non-zero on any failure (with the reason on stderr). It
// stops early when its stdin closes (the parent is gone); the parent kills it when the run is
// cancelled or fails.

// Limits of the worker processes.
const (
	benchWorkerSetup    = time.Minute     // how long a child may take to open the store
	benchWorkerWaitKill = 5 * time.Second // exec.Cmd.WaitDelay
	benchWorkerStderr   = 4096            // bytes of a child's stderr kept for error messages
)

// benchJob is what the parent tells a worker to do.
type benchJob struct {
	DSN   string     `json:"dsn"`
	Share benchShare `json:"share"`
}

func newBenchLedgerWorker() *cobra.Command {
	return &cobra.Command{
		Use:    "ledger-worker",
		Short:  "internal: one process of bench ledger --replicas (reads its job on stdin)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchLedgerWorker(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
}

// benchLedgerWorker is the child's side of the conversation above.
func benchLedgerWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	r := bufio.NewReader(in)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("bench ledger-worker: reading the job: %w", err)
	}
	var job benchJob
	if err := json.Unmarshal(line, &job); err != nil {
		return fmt.Errorf("bench ledger-worker: malformed job: %w", err)
	}
	s := job.Share
	if s.Batch < 1 || s.Batch > teg.MaxBatch || s.Transfers < 1 || s.Accounts < 2 || s.Clients < 1 || s.Lo < 0 || s.Hi <= s.Lo || s.Hi > s.Clients {
		return fmt.Errorf("bench ledger-worker: invalid share %+v", s)
	}
	db, err := store.Open(ctx, job.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	l := tegsql.Open(db, teg.DefaultParams(), nil, benchBalanceCache())
	defer l.Close()
	ids := benchInPlay(benchAccountIDs(s.Run, s.Accounts), s.Hot)
	// The parent set the accounts up: make sure this is the database it set them up in.
	for _, id := range []teg.AccountID{ids[0], ids[len(ids)-1]} {
		if _, err := l.Account(ctx, id); err != nil {
			return fmt.Errorf("bench ledger-worker: account %s of the run is not in %s: %w", id, store.Redact(job.DSN), err)
		}
	}
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	line, err = r.ReadBytes('\n')
	if err != nil || strings.TrimSpace(string(line)) != "go" {
		return fmt.Errorf("bench ledger-worker: waiting for go: got %q, %v", line, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, r) // until the parent closes stdin or is gone
		cancel()
	}()
	res := s.run(ctx, l, ids)
	res.PID = os.Getpid()
	if err := json.NewEncoder(out).Encode(res); err != nil {
		return err
	}
	if res.Error != "" {
		return errors.New("bench ledger-worker: " + res.Error)
	}
	return nil
}

// benchWorker is the parent's handle on a child running share n.
type benchWorker struct {
	n      int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *benchTail

	waitOnce sync.Once
	waitErr  error
}

// startBenchWorker starts a child of this binary and sends it its job.
func startBenchWorker(ctx context.Context, n int, job benchJob) (*benchWorker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench ledger: --replicas: cannot find this binary to start workers: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "ledger-worker")
	cmd.WaitDelay = benchWorkerWaitKill
	w := &benchWorker{n: n, cmd: cmd, stderr: &benchTail{}}
	cmd.Stderr = w.stderr
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	w.stdout = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench ledger: start worker %d (%s): %w", n, exe, err)
	}
	b, _ := json.Marshal(job)
	if _, err := w.stdin.Write(append(b, '\n')); err != nil {
		return w, w.failed("sending the job", err)
	}
	return w, nil
}

// awaitBenchWorkers waits until every worker is ready.
func awaitBenchWorkers(ctx context.Context, workers []*benchWorker) error {
	ready := make(chan error, len(workers))
	for _, w := range workers {
		go func() {
			line, err := w.line()
			if err == nil && line != "ready" {
				err = w.failed("expected ready", fmt.Errorf("got %q", benchClip(line)))
			}
			ready <- err
		}()
	}
	timeout := time.NewTimer(benchWorkerSetup)
	defer timeout.Stop()
	for range workers {
		select {
		case err := <-ready:
			if err != nil {
				return err
			}
		case <-timeout.C:
			return fmt.Errorf("bench ledger: the workers were not ready within %v", benchWorkerSetup)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// start tells the worker to go.
func (w *benchWorker) start() error {
	if _, err := io.WriteString(w.stdin, "go\n"); err != nil {
		return w.failed("sending go", err)
	}
	return nil
}

// result reads the worker's result and when it arrived, then waits for it to exit.
func (w *benchWorker) result() (benchResult, time.Time, error) {
	line, err := w.line()
	end := time.Now()
	if err != nil {
		return benchResult{}, end, err
	}
	_ = w.stdin.Close()
	var res benchResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return res, end, w.failed("malformed result", fmt.Errorf("%w: %q", err, benchClip(line)))
	}
	if res.Error != "" {
		return res, end, w.failed("", errors.New(res.Error))
	}
	if res.PID != w.cmd.Process.Pid {
		return res, end, w.failed("malformed result", fmt.Errorf("pid %d", res.PID))
	}
	if err := w.wait(); err != nil {
		return res, end, w.failed("after its result", err)
	}
	return res, end, nil
}

// line reads the worker's next line; when there is none, it says how the worker ended.
func (w *benchWorker) line() (string, error) {
	line, err := w.stdout.ReadString('\n')
	if err == nil {
		return strings.TrimSuffix(line, "\n"), nil
	}
	if werr := w.wait(); werr != nil {
		return "", w.failed("", werr)
	}
	return "", w.failed("", fmt.Errorf("exited without a full report (%v)", err))
}

// wait waits for the worker to exit, once.
func (w *benchWorker) wait() error {
	w.waitOnce.Do(func() { w.waitErr = w.cmd.Wait() })
	return w.waitErr
}

// kill stops the worker if it still runs.
func (w *benchWorker) kill() {
	if w.cmd.Process != nil && w.cmd.ProcessState == nil {
		_ = w.cmd.Process.Kill()
	}
	_ = w.wait()
}

// failed is the error of a worker, with the end of its stderr.
func (w *benchWorker) failed(doing string, err error) error {
	if doing != "" {
		err = fmt.Errorf("%s: %w", doing, err)
	}
	if tail := strings.TrimSpace(w.stderr.String()); tail != "" {
		err = fmt.Errorf("%w; its stderr: %s", err, tail)
	}
	pid := 0
	if w.cmd.Process != nil {
		pid = w.cmd.Process.Pid
	}
	return fmt.Errorf("bench ledger: worker %d (pid %d): %w", w.n, pid, err)
}

// benchTail keeps the last benchWorkerStderr bytes written to it.
type benchTail struct {
	mu sync.Mutex
	b  []byte
}

func (t *benchTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > benchWorkerStderr {
		t.b = append(t.b[:0], t.b[len(t.b)-benchWorkerStderr:]...)
	}
	return len(p), nil
}

func (t *benchTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// benchClip shortens s for an error message.
func benchClip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
