package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/avt"
)

// maxRunInput bounds an --input read from a file or standard input.
const maxRunInput = 1 << 20

func newRun() *cobra.Command {
	var (
		k                    keyStoreFlags
		agent, input, outDir string
		registry, as         string
		stream, verbose      bool
		pay, skill           string
		payTimeout           time.Duration
	)
	c := &cobra.Command{
		Use:   "run --agent ID|URL|FILE --input TEXT|@FILE [--stream] [--output-artifacts DIR]",
		Short: "Send a task to an agent and print its answer",
		Long: `run sends one message to an agent over A2A and prints the answer. The agent is named by
its registry id (agt_…, resolved through --registry), by its base URL (its card is fetched from
/.well-known/agent-card.json), by the URL of a card document, or by a card file. The client picks
the first interface of the card it speaks (JSON-RPC or HTTP+JSON).

--input is the message text, or @FILE to read it from a file (@- for standard input). With
--stream the agent's events are printed as they come: artifact text to standard output, state
changes to standard error. --output-artifacts DIR writes each artifact of the answer to a file in
DIR (text as .txt, data as .json, files under their own names).

Credentials come from the agentvault key store ('sovereign config set'): the API key kept for
the agent's id, card name or URL host, sent in the header its card names; with --as AGENT_ID,
also that agent's own JWT (from the client credentials kept for it) when the card asks for a
bearer token. The command fails when the task fails, is rejected or is canceled.

--pay AMOUNT pays for the task (a paid task): acting as the agent registered from this
machine (the credentials file of 'sovereign agent register'; --as ID picks another), run reads
the payee from the target card's pricing extension, holds AMOUNT AVT for it on the TEG (a pending
transfer that expires after --pay-timeout; the fee is added by the ledger), attaches the hold to
the message, sends it with the agent's JWT-SVID, and prints the hold's final state from the
task's metadata: posted when the task completed, voided when it failed or was rejected.`,
		Example: `  sovereign run --agent agt_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C --input "What is the weather in Oslo?"
  sovereign run --agent https://agent.example --input @question.txt --stream
  sovereign run --agent ./agent-card.json --input hi --output-artifacts out/
  sovereign run --agent http://127.0.0.1:9101 --input "once upon a time" --pay 1.5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if agent == "" {
				return errors.New("--agent is required")
			}
			text, err := runInput(cmd, input)
			if err != nil {
				return err
			}
			ks, err := k.chain()
			if err != nil {
				return err
			}
			opts := []agentvault.Option{agentvault.WithKeyStore(ks)}
			if registry != "" {
				opts = append(opts, agentvault.WithRegistry(registry))
			}
			var payer *agentvault.TokenSource
			if pay != "" {
				me, err := storedAgent(cmd.Context(), registry, as)
				if err != nil {
					return fmt.Errorf("--pay: %w", err)
				}
				// The TEG token holds the payment; the agent gets a token of its own audience.
				payer = me.tokenSource(registry)
				opts = append(opts, agentvault.WithBearer(payer))
			} else if as != "" {
				ts, err := agentvault.TokenSourceFromKeyStore(cmd.Context(), registry, ks, as)
				if err != nil {
					return fmt.Errorf("--as %s: %w", as, err)
				}
				opts = append(opts, agentvault.WithBearer(ts))
			}
			client := agentvault.NewClient(opts...)
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			req := &a2apb.SendMessageRequest{Message: agentvault.UserMessage(text)}
			var payTEG *agentvault.TEG
			var holdID string
			if payer != nil {
				teg := agentvault.NewTEG(registry, payer)
				if holdID, err = holdPayment(cmd, client, teg, agent, pay, skill, payTimeout, req.Message); err != nil {
					return err
				}
				payTEG = teg
			}
			var task *a2apb.Task
			if verbose {
				t, err := client.Target(cmd.Context(), agent)
				if err != nil {
					return err
				}
				fmt.Fprintf(errOut, "calling %q over %s at %s\n", t.Card.GetName(), t.A2A.Binding(), t.A2A.Endpoint())
			}
			if stream {
				t, err := client.Target(cmd.Context(), agent)
				if err != nil {
					return err
				}
				if caps := t.Card.GetCapabilities(); caps != nil && caps.Streaming != nil && !*caps.Streaming {
					fmt.Fprintln(errOut, "the agent does not stream (its card says streaming: false); waiting for the answer")
					stream = false
				}
			}
			if stream {
				task, err = runStream(cmd, client, agent, req, out, errOut)
				if err != nil {
					voidUnused(cmd, payTEG, holdID, task)
					return err
				}
			} else {
				res, err := client.SendMessage(cmd.Context(), agent, req)
				if err != nil {
					voidUnused(cmd, payTEG, holdID, nil)
					return err
				}
				if m := res.GetMessage(); m != nil {
					fmt.Fprintln(out, agentvault.TextOf(m.GetParts()))
					if holdID != "" {
						fmt.Fprintf(errOut, "payment %s: the agent answered directly; it posts the hold on delivery\n", holdID)
					}
					return nil
				}
				task = res.GetTask()
				if s := agentvault.TaskText(task); s != "" {
					fmt.Fprintln(out, s)
				}
			}
			if task == nil {
				return nil
			}
			if holdID != "" {
				printPayment(cmd, client, agent, task, holdID, errOut, payTEG)
			}
			if outDir != "" {
				if err := writeArtifacts(outDir, task.GetArtifacts(), errOut); err != nil {
					return err
				}
			}
			return runOutcome(task, errOut)
		},
	}
	k.bind(c)
	f := c.Flags()
	f.StringVar(&agent, "agent", "", "the agent: registry id (agt_…), base URL, card URL or card file")
	f.StringVar(&input, "input", "", "the message: TEXT, or @FILE (@- for standard input)")
	f.BoolVar(&stream, "stream", false, "print the agent's events as they come")
	f.BoolVarP(&verbose, "verbose", "v", false, "say which binding (JSONRPC, HTTP+JSON, GRPC) and endpoint of the card is called")
	f.StringVar(&outDir, "output-artifacts", "", "write the answer's artifacts to files in this directory")
	f.StringVar(&registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "registry base URL, for agent ids and --as (env SOVEREIGN_REGISTRY)")
	f.StringVar(&as, "as", "", "act as this registered agent (its client credentials from the key store; with --pay, from the credentials file)")
	f.StringVar(&pay, "pay", "", "pay AMOUNT AVT for the task with a pending transfer to the agent's payee")
	f.StringVar(&skill, "skill", "", "with --pay, the skill paid for (default: the agent's only priced skill)")
	f.DurationVar(&payTimeout, "pay-timeout", defaultPayTimeout, "with --pay, when the hold expires if the agent does not settle it")
	return c
}

// defaultPayTimeout is how long a --pay hold lasts when the agent does not settle it.
const defaultPayTimeout = 10 * time.Minute

// holdPayment holds amount for the payee of the agent's pricing extension and attaches the hold
// to m. It refuses before holding anything when the agent has no prices or the amount is below
// the skill's price.
func holdPayment(cmd *cobra.Command, client *agentvault.Client, teg *agentvault.TEG, agent, amount, skill string, timeout time.Duration, m *a2apb.Message) (string, error) {
	a, err := avt.Parse(amount)
	if err != nil || a.IsZero() {
		return "", fmt.Errorf("--pay %q: not a positive AVT amount", amount)
	}
	t, err := client.Target(cmd.Context(), agent)
	if err != nil {
		return "", err
	}
	p, ok, err := a2a.PricingFromCard(t.Card)
	if err != nil {
		return "", err
	}
	if !ok || p.Payee == "" {
		return "", fmt.Errorf("--pay: the agent's card has no pricing extension (%s) naming a payee", a2a.PricingExtensionURI)
	}
	priced := skill
	if priced == "" && len(p.Skills) == 1 {
		for id := range p.Skills {
			priced = id
		}
	}
	if price, ok := p.Skills[priced]; ok && a.Cmp(price) < 0 {
		return "", fmt.Errorf("--pay %s: skill %q costs %s AVT", a, priced, price)
	}
	h, err := teg.Pending(cmd.Context(), p.Payee, a, timeout, agentvault.WriteOptions{Message: "a2a task"})
	if err != nil {
		return "", fmt.Errorf("--pay: holding %s AVT for %s: %w", a, p.Payee, err)
	}
	if err := a2a.AttachPayment(m, a2a.PaymentRequest{PendingID: h.ID, Amount: a.String(), Skill: skill}); err != nil {
		return "", err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "payment %s: holding %s AVT (fee %s) for %s\n", h.ID, h.Amount, h.Fee, p.Payee)
	return h.ID, nil
}

// voidUnused releases a hold that no task took (the send failed before the agent answered),
// so the payer's funds are not locked until the hold expires.
func voidUnused(cmd *cobra.Command, teg *agentvault.TEG, id string, task *a2apb.Task) {
	if teg == nil || id == "" || task != nil {
		return
	}
	if _, err := teg.Void(cmd.Context(), id, ""); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "payment %s: not voided (%v); it expires after --pay-timeout\n", id, err)
		return
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "payment %s: voided\n", id)
}

// printPayment prints the hold's state from the task's metadata, reading the task again when
// the answer does not carry the settled record.
func printPayment(cmd *cobra.Command, client *agentvault.Client, agent string, task *a2apb.Task, id string, errOut io.Writer, teg *agentvault.TEG) {
	rec, ok := a2a.PaymentOf(task)
	if (!ok || rec.State == a2a.HoldHeld) && a2a.Terminal(task.GetStatus().GetState()) {
		if t, err := client.GetTask(cmd.Context(), agent, task.GetId()); err == nil {
			rec, ok = a2a.PaymentOf(t)
		}
	}
	if !ok {
		fmt.Fprintf(errOut, "payment %s: the task carries no payment record\n", id)
		// The agent never took the hold (it refused the task before reading it): release it
		// rather than leave the money locked until the hold expires.
		if a2a.Terminal(task.GetStatus().GetState()) {
			voidUnused(cmd, teg, id, nil)
		}
		return
	}
	line := fmt.Sprintf("payment %s: %s AVT to %s: %s", rec.PendingID, rec.Amount, rec.Payee, rec.State)
	if rec.Error != "" {
		line += " (" + rec.Error + ")"
	}
	fmt.Fprintln(errOut, line)
}

// runInput reads --input: the text, or @FILE, or @- for standard input.
func runInput(cmd *cobra.Command, input string) (string, error) {
	name, ok := strings.CutPrefix(input, "@")
	if !ok {
		if input == "" {
			return "", errors.New("--input is required")
		}
		return input, nil
	}
	var r io.Reader
	if name == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("--input: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxRunInput+1))
	if err != nil {
		return "", fmt.Errorf("--input: %w", err)
	}
	if len(b) > maxRunInput {
		return "", fmt.Errorf("--input: more than %d bytes", maxRunInput)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return "", errors.New("--input: empty")
	}
	return string(b), nil
}

// runStream streams the answer: artifact text to out as it comes, state changes to errOut. It
// returns the task as the events built it (nil for a direct message answer).
func runStream(cmd *cobra.Command, client *agentvault.Client, agent string, req *a2apb.SendMessageRequest, out, errOut io.Writer) (*a2apb.Task, error) {
	var task *a2apb.Task
	lastState := a2apb.TaskState_TASK_STATE_UNSPECIFIED
	state := func(s *a2apb.TaskStatus) {
		if s.GetState() != lastState {
			lastState = s.GetState()
			fmt.Fprintf(errOut, "[%s]\n", stateName(lastState))
		}
		if m := agentvault.TextOf(s.GetMessage().GetParts()); m != "" {
			fmt.Fprintln(out, m)
		}
	}
	endsLine := true
	for ev, err := range client.StreamMessage(cmd.Context(), agent, req) {
		if err != nil {
			return nil, err
		}
		switch p := ev.GetPayload().(type) {
		case *a2apb.StreamResponse_Message:
			fmt.Fprintln(out, agentvault.TextOf(p.Message.GetParts()))
		case *a2apb.StreamResponse_Task:
			task = p.Task
			state(task.GetStatus())
		case *a2apb.StreamResponse_StatusUpdate:
			if task == nil {
				task = &a2apb.Task{Id: p.StatusUpdate.GetTaskId(), ContextId: p.StatusUpdate.GetContextId()}
			}
			task.Status = p.StatusUpdate.GetStatus()
			if !endsLine {
				fmt.Fprintln(out)
				endsLine = true
			}
			state(task.GetStatus())
		case *a2apb.StreamResponse_ArtifactUpdate:
			if task == nil {
				task = &a2apb.Task{Id: p.ArtifactUpdate.GetTaskId(), ContextId: p.ArtifactUpdate.GetContextId()}
			}
			mergeArtifact(task, p.ArtifactUpdate)
			if s := agentvault.TextOf(p.ArtifactUpdate.GetArtifact().GetParts()); s != "" {
				fmt.Fprint(out, s)
				endsLine = strings.HasSuffix(s, "\n")
				if p.ArtifactUpdate.GetLastChunk() && !endsLine {
					fmt.Fprintln(out)
					endsLine = true
				}
			}
		}
	}
	if !endsLine {
		fmt.Fprintln(out)
	}
	return task, nil
}

// mergeArtifact applies an artifact update to the task: a new artifact, a replacement, or
// parts appended to the artifact of the same id.
func mergeArtifact(task *a2apb.Task, up *a2apb.TaskArtifactUpdateEvent) {
	a := up.GetArtifact()
	for i, have := range task.Artifacts {
		if have.GetArtifactId() != a.GetArtifactId() {
			continue
		}
		if up.GetAppend() {
			have.Parts = append(have.Parts, a.GetParts()...)
		} else {
			task.Artifacts[i] = a
		}
		return
	}
	task.Artifacts = append(task.Artifacts, a)
}

// stateName is a task state without its prefix, lower case ("completed").
func stateName(s a2apb.TaskState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "TASK_STATE_"))
}

// runOutcome is the command's result for the task's final state.
func runOutcome(task *a2apb.Task, errOut io.Writer) error {
	switch s := task.GetStatus().GetState(); s {
	case a2apb.TaskState_TASK_STATE_FAILED, a2apb.TaskState_TASK_STATE_REJECTED, a2apb.TaskState_TASK_STATE_CANCELED:
		msg := agentvault.TextOf(task.GetStatus().GetMessage().GetParts())
		if msg == "" {
			msg = "no reason given"
		}
		return fmt.Errorf("task %s %s: %s", task.GetId(), stateName(s), msg)
	case a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, a2apb.TaskState_TASK_STATE_AUTH_REQUIRED:
		fmt.Fprintf(errOut, "task %s is waiting (%s); continue it with a message naming this task\n", task.GetId(), stateName(s))
	}
	return nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeFileName makes a name usable as a file name in one directory: no separators, no leading
// dots, not empty.
func safeFileName(s string) string {
	s = strings.TrimLeft(unsafeName.ReplaceAllString(filepath.Base(s), "_"), ".")
	if len(s) > 100 {
		s = s[:100]
	}
	if s == "" || s == "_" {
		return "artifact"
	}
	return s
}

// writeArtifacts writes each artifact to files in dir: its text parts, run together, as
// <name>.txt; each data part as .json; each raw part under its filename (or an extension from
// its media type); each URL part as .url holding the URL (it is not fetched). Names are made
// safe and unique.
func writeArtifacts(dir string, arts []*a2apb.Artifact, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	used := map[string]bool{}
	write := func(name string, data []byte) error {
		path := filepath.Join(dir, uniqueName(used, name))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %s\n", path)
		return nil
	}
	for i, a := range arts {
		base := a.GetName()
		if base == "" {
			base = a.GetArtifactId()
		}
		if base == "" {
			base = fmt.Sprintf("artifact-%d", i+1)
		}
		base = safeFileName(base)
		if text := agentvault.ArtifactText(a); text != "" {
			if err := write(withExt(base, ".txt"), []byte(text)); err != nil {
				return err
			}
		}
		for _, p := range a.GetParts() {
			if _, ok := p.GetContent().(*a2apb.Part_Text); ok {
				continue
			}
			name, data, err := artifactFile(base, p)
			if err != nil {
				return fmt.Errorf("artifact %s: %w", a.GetArtifactId(), err)
			}
			if err := write(name, data); err != nil {
				return err
			}
		}
	}
	return nil
}

// withExt is base with ext unless it has an extension.
func withExt(base, ext string) string {
	if filepath.Ext(base) != "" {
		return base
	}
	return base + ext
}

// artifactFile is the file name and content of one part that is not text.
func artifactFile(base string, p *a2apb.Part) (string, []byte, error) {
	switch c := p.GetContent().(type) {
	case *a2apb.Part_Data:
		b, err := json.MarshalIndent(c.Data.AsInterface(), "", "  ")
		return withExt(base, ".json"), append(b, '\n'), err
	case *a2apb.Part_Raw:
		if p.GetFilename() != "" {
			return safeFileName(p.GetFilename()), c.Raw, nil
		}
		ext := ".bin"
		if exts, _ := mime.ExtensionsByType(p.GetMediaType()); len(exts) > 0 {
			ext = exts[0]
		}
		return withExt(base, ext), c.Raw, nil
	case *a2apb.Part_Url:
		return withExt(base, ".url"), []byte(c.Url + "\n"), nil
	}
	return withExt(base, ".bin"), nil, nil
}

// uniqueName returns name, or name with a counter, not yet in used, and marks it used.
func uniqueName(used map[string]bool, name string) string {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for n := 2; used[name]; n++ {
		name = fmt.Sprintf("%s_%d%s", stem, n, ext)
	}
	used[name] = true
	return name
}
