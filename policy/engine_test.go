package policy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/policy"
)

var (
	devSession = policy.Subject{Kind: policy.KindDeveloper, ID: "dev_a", Roles: []string{policy.RoleDeveloper}, AuthMethod: policy.AuthSession, CredentialID: "ses_secret_1"}
	ownAccount = policy.Resource{Kind: "developer", ID: "dev_a", Owner: "dev_a"}
	ctx        = context.Background()
)

func decide(t *testing.T, e *policy.Engine, in policy.Input) policy.Decision {
	t.Helper()
	d, err := e.Decide(ctx, policy.QueryAllow, in)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID == "" {
		t.Fatal("decision without an id")
	}
	return d
}

func agent(rep int, tier, stake string) policy.Subject {
	return policy.Subject{Kind: policy.KindAgent, ID: "agt_1", SPIFFEID: "spiffe://sovereign.test/agent/agt_1", Reputation: rep, Tier: tier, Stake: stake}
}

func TestDecide_Tiers(t *testing.T) {
	e := policy.New()
	wallet := policy.Resource{Kind: "wallet", ID: "agt_1", Owner: "agt_1"}
	cases := []struct {
		name    string
		subject policy.Subject
		action  string
		ctx     policy.Context
		allow   bool
		reason  string
	}{
		{"agents transfer (the ledger checks the amount)", agent(150, "", ""), policy.ActionTokenTransfer, policy.Context{Amount: "100000"}, true, ""},
		{"an agent without an amount in the input", agent(150, "", ""), policy.ActionTokenTransfer, policy.Context{}, true, ""},
		{"developers do not transfer", devSession, policy.ActionTokenTransfer, policy.Context{Amount: "1"}, false, "token.transfer is open to agent subjects only"},
		{"Untrusted cannot file disputes", agent(50, "", ""), policy.ActionDisputeFile, policy.Context{}, false, "dispute.file requires the New tier or above; the subject is Untrusted"},
		{"New files disputes", agent(100, "", ""), policy.ActionDisputeFile, policy.Context{}, true, ""},
		{"New cannot propose", agent(399, "", "5000"), policy.ActionGovernancePropose, policy.Context{}, false, "governance.propose requires the Trusted tier or above; the subject is New"},
		{"Trusted proposes with stake", agent(400, "", "1000"), policy.ActionGovernancePropose, policy.Context{}, true, ""},
		{"Verified without validator stake cannot arbitrate", agent(800, "", "999.99"), policy.ActionDisputeArbitrate, policy.Context{}, false, "dispute.arbitrate requires a stake of at least 1000 AVT"},
		{"Verified validator arbitrates", agent(800, "", "1000"), policy.ActionDisputeArbitrate, policy.Context{}, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := decide(t, e, policy.Input{Subject: c.subject, Action: c.action, Resource: wallet, Context: c.ctx})
			if d.Allow != c.allow || d.Reason != c.reason {
				t.Fatalf("got allow=%v reason=%q, want allow=%v reason=%q", d.Allow, d.Reason, c.allow, c.reason)
			}
		})
	}
}

func TestDecide_Reasons(t *testing.T) {
	e := policy.New()
	roKey := policy.Subject{Kind: policy.KindDeveloper, ID: "dev_a", AuthMethod: policy.AuthAPIKey, Scopes: []string{policy.ScopeRead}}
	for _, c := range []struct {
		subject policy.Subject
		action  string
		reason  string
	}{
		{roKey, policy.ActionDeveloperUpdate, "API key lacks the write scope"},
		{roKey, policy.ActionAPIKeyCreate, "developer.api_key.create requires a login session, not an API key"},
		{devSession, "teg.mint", "no rule allows teg.mint"},
		{policy.Subject{Kind: policy.KindAnonymous}, policy.ActionDeveloperRead, "authentication required"},
		{devSession, policy.ActionDeveloperList, "not permitted to developer.list"},
	} {
		d := decide(t, e, policy.Input{Subject: c.subject, Action: c.action, Resource: ownAccount})
		if d.Allow || d.Reason != c.reason {
			t.Errorf("%s: got %+v, want denial %q", c.action, d, c.reason)
		}
	}
	d, err := e.Decide(ctx, "sovereign.authz.other", policy.Input{Subject: devSession, Action: policy.ActionDeveloperRead, Resource: ownAccount})
	if err != nil || d.Allow || d.Reason != "unknown policy query sovereign.authz.other" || d.ID == "" {
		t.Errorf("unknown query: %+v %v", d, err)
	}
}

func TestDecide_IDsAreUnique(t *testing.T) {
	e := policy.New()
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		d := decide(t, e, policy.Input{Subject: devSession, Action: policy.ActionDeveloperRead, Resource: ownAccount})
		if !re.MatchString(d.ID) || seen[d.ID] {
			t.Fatalf("decision id %q is not a fresh UUID", d.ID)
		}
		seen[d.ID] = true
	}
}

func TestZeroEngineUsesEmbeddedPolicy(t *testing.T) {
	var e policy.Engine
	if d := decide(t, &e, policy.Input{Subject: devSession, Action: policy.ActionDeveloperRead, Resource: ownAccount}); !d.Allow {
		t.Fatal(d)
	}
}

// TestDecisionCacheNeverChangesAnAnswer asks a cached and an uncached engine the same questions,
// twice, over every action and a spread of subjects and resources.
func TestDecisionCacheNeverChangesAnAnswer(t *testing.T) {
	cached := policy.New()
	uncached, err := policy.NewWithOptions(policy.WithDecisionCache(0))
	if err != nil {
		t.Fatal(err)
	}
	subjects := []policy.Subject{
		devSession,
		{Kind: policy.KindDeveloper, ID: "dev_a", AuthMethod: policy.AuthAPIKey, Scopes: []string{policy.ScopeRead}},
		{Kind: policy.KindDeveloper, ID: "dev_a", AuthMethod: policy.AuthAPIKey, Scopes: []string{policy.ScopeWrite}},
		{Kind: policy.KindDeveloper, ID: "dev_admin", Roles: []string{policy.RoleAdmin}, AuthMethod: policy.AuthAPIKey, Scopes: []string{policy.ScopeRead, policy.ScopeWrite}},
		{Kind: policy.KindAnonymous},
		agent(50, "", ""), agent(150, "", "1000"), agent(450, "", "1000"), agent(750, "", "2000"), agent(0, policy.TierElite, "10"),
	}
	actions := []string{
		policy.ActionDeveloperRead, policy.ActionDeveloperUpdate, policy.ActionDeveloperList, policy.ActionAPIKeyCreate,
		policy.ActionAPIKeyList, policy.ActionAPIKeyRevoke, policy.ActionRecoveryKeysRotate, policy.ActionSessionLogoutEverywhere,
		policy.ActionTokenTransfer, policy.ActionDisputeFile, policy.ActionGovernancePropose, policy.ActionDisputeArbitrate, "nope",
	}
	resources := []policy.Resource{ownAccount, {Kind: "developer", ID: "dev_b", Owner: "dev_b"}, {Kind: "wallet", ID: "agt_1", Owner: "agt_1"}, {}}
	contexts := []policy.Context{{}, {Amount: "5"}, {Amount: "50"}, {Amount: "5000"}, {Amount: "x"}}
	n := 0
	for round := range 2 {
		for _, s := range subjects {
			for _, a := range actions {
				for _, r := range resources {
					cs := contexts[:1]
					if a == policy.ActionTokenTransfer {
						cs = contexts
					}
					for i, c := range cs {
						c.Time = time.Unix(int64(round*1000+i), 0)
						c.RequestID = fmt.Sprint("req_", round, i)
						in := policy.Input{Subject: s, Action: a, Resource: r, Context: c}
						d1, d2 := decide(t, cached, in), decide(t, uncached, in)
						if d1.Allow != d2.Allow || d1.Reason != d2.Reason {
							t.Fatalf("%+v: cached %+v, uncached %+v", in, d1, d2)
						}
						n++
					}
				}
			}
		}
	}
	t.Logf("%d decisions agree", n)
}

// --- policies from a directory ---

const dirPolicy = `package sovereign.authz

default allow := false

allow if input.action == %q

reason := "only %s here" if not allow
`

func writePolicy(t *testing.T, dir, name, src string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil { // as editors and deploys do
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
	}
}

func TestDir_HotReload(t *testing.T) {
	dir := t.TempDir()
	writePolicy(t, dir, "authz.rego", fmt.Sprintf(dirPolicy, "developer.read", "reading"))
	var logs syncBuffer
	e, err := policy.NewWithOptions(policy.WithDir(dir), policy.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	read := policy.Input{Subject: devSession, Action: policy.ActionDeveloperRead, Resource: ownAccount}
	update := policy.Input{Subject: devSession, Action: policy.ActionDeveloperUpdate, Resource: ownAccount}
	if d := decide(t, e, read); !d.Allow {
		t.Fatalf("dir policy not in force: %+v", d)
	}
	if d := decide(t, e, update); d.Allow || d.Reason != "only reading here" {
		t.Fatalf("dir policy not in force: %+v", d)
	}
	rev := e.Revision()

	// a change is picked up by the watch (default interval: one second)
	writePolicy(t, dir, "authz.rego", fmt.Sprintf(dirPolicy, "developer.update", "updating"))
	waitFor(t, 5*time.Second, "the changed policy decides", func() bool { return decide(t, e, update).Allow })
	if d := decide(t, e, read); d.Allow || d.Reason != "only updating here" {
		t.Fatalf("after reload: %+v", d)
	}
	if e.Revision() == rev || e.LastError() != nil {
		t.Fatalf("revision %s (was %s), last error %v", e.Revision(), rev, e.LastError())
	}

	// a broken file keeps the last good policy and says why
	writePolicy(t, dir, "broken.rego", "package sovereign.authz\n\nallow if {\n")
	waitFor(t, 5*time.Second, "LastError reports the broken file", func() bool { return e.LastError() != nil })
	if !strings.Contains(e.LastError().Error(), "broken.rego") {
		t.Errorf("LastError does not name the file: %v", e.LastError())
	}
	if d := decide(t, e, update); !d.Allow {
		t.Fatalf("the last good policy was dropped: %+v", d)
	}
	if !strings.Contains(logs.String(), "reload failed") || !strings.Contains(logs.String(), "broken.rego") {
		t.Errorf("compile error not logged:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), "reload failed"); n != 1 {
		t.Errorf("the same failure was logged %d times", n)
	}

	// fixing it clears the error
	if err := os.Remove(filepath.Join(dir, "broken.rego")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "LastError clears", func() bool { return e.LastError() == nil })
}

func TestDir_Refusals(t *testing.T) {
	dir := t.TempDir()
	if _, err := policy.NewWithOptions(policy.WithDir(dir)); err == nil || !strings.Contains(err.Error(), "no rule data.sovereign.authz.allow") {
		t.Fatalf("empty dir: %v", err)
	}
	writePolicy(t, dir, "authz.rego", "package sovereign.authz\n\nallow if {")
	if _, err := policy.NewWithOptions(policy.WithDir(dir)); err == nil {
		t.Fatal("a dir that does not parse was accepted")
	}
	if _, err := policy.NewWithOptions(policy.WithDir(filepath.Join(dir, "missing"))); err == nil {
		t.Fatal("a missing dir was accepted")
	}

	// an emptied directory is refused on reload too: the policy in force stays
	writePolicy(t, dir, "authz.rego", fmt.Sprintf(dirPolicy, "developer.read", "reading"))
	e, err := policy.NewWithOptions(policy.WithDir(dir), policy.WithReloadInterval(time.Hour), policy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	os.Remove(filepath.Join(dir, "authz.rego"))
	if err := e.Reload(ctx); err == nil || e.LastError() == nil {
		t.Fatalf("reload of an empty dir: %v", err)
	}
	if d := decide(t, e, policy.Input{Subject: devSession, Action: policy.ActionDeveloperRead}); !d.Allow {
		t.Fatalf("policy dropped: %+v", d)
	}
}

func TestDir_EmbeddedPoliciesCopied(t *testing.T) {
	// the embedded policies and their tests, copied to a directory, behave the same there
	dir := t.TempDir()
	src, err := filepath.Glob("rego/*.rego")
	if err != nil || len(src) < 4 {
		t.Fatal(src, err)
	}
	for _, f := range src {
		b, _ := os.ReadFile(f)
		writePolicy(t, dir, filepath.Base(f), string(b))
	}
	e, err := policy.NewWithOptions(policy.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Revision() != policy.New().Revision() {
		t.Errorf("revision %s differs from the embedded %s", e.Revision(), policy.New().Revision())
	}
	if d := decide(t, e, policy.Input{Subject: devSession, Action: policy.ActionDeveloperRead, Resource: ownAccount}); !d.Allow {
		t.Fatal(d)
	}
	rep, err := policy.RunTests(ctx, dir)
	if err != nil || !rep.OK() {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestRunTests_ReportsFailures(t *testing.T) {
	dir := t.TempDir()
	writePolicy(t, dir, "authz.rego", fmt.Sprintf(dirPolicy, "developer.read", "reading"))
	writePolicy(t, dir, "authz_test.rego", `package sovereign.authz_test

import data.sovereign.authz

test_reads if authz.allow with input as {"action": "developer.read"}

test_writes if authz.allow with input as {"action": "developer.update"}
`)
	rep, err := policy.RunTests(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 1 || rep.Failed != 1 || rep.OK() {
		t.Fatalf("%+v", rep)
	}
	empty := t.TempDir()
	writePolicy(t, empty, "authz.rego", fmt.Sprintf(dirPolicy, "developer.read", "reading"))
	if _, err := policy.RunTests(ctx, empty); err != policy.ErrNoTests {
		t.Fatalf("no tests: %v", err)
	}
}

// --- decision log ---

func TestDecisionLog(t *testing.T) {
	var buf syncBuffer
	e, err := policy.NewWithOptions(policy.WithDecisionLog(&buf))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	in := policy.Input{Subject: devSession, Action: policy.ActionDeveloperRead, Resource: ownAccount, Context: policy.Context{Time: now, RequestID: "req_1"}}
	d1 := decide(t, e, in)
	d2 := decide(t, e, policy.Input{Subject: devSession, Action: policy.ActionDeveloperList, Resource: policy.Resource{Kind: "developer"}})
	d3 := decide(t, e, in) // from the decision cache: logged all the same
	if _, err := e.Decide(ctx, "sovereign.other", in); err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	type event struct {
		Labels     map[string]string `json:"labels"`
		DecisionID string            `json:"decision_id"`
		Revision   string            `json:"revision"`
		Bundles    map[string]struct {
			Revision string `json:"revision"`
		} `json:"bundles"`
		Path      string         `json:"path"`
		Input     map[string]any `json:"input"`
		Result    map[string]any `json:"result"`
		Masked    []string       `json:"masked"`
		Timestamp time.Time      `json:"timestamp"`
		Metrics   map[string]any `json:"metrics"`
	}
	var evs []event
	for _, l := range lines {
		var ev event
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		evs = append(evs, ev)
	}
	ev := evs[0]
	if ev.DecisionID != d1.ID || ev.Path != "sovereign/authz" || ev.Revision != e.Revision() || ev.Bundles["sovereign"].Revision != e.Revision() {
		t.Errorf("event: %+v", ev)
	}
	if ev.Labels["id"] == "" || ev.Labels["version"] == "" || ev.Timestamp.IsZero() || time.Since(ev.Timestamp) > time.Minute {
		t.Errorf("labels/timestamp: %+v", ev)
	}
	if ev.Result["allow"] != true || ev.Result["reason"] != nil {
		t.Errorf("result: %v", ev.Result)
	}
	subject := ev.Input["subject"].(map[string]any)
	if subject["credential_id"] != "**REDACTED**" || strings.Contains(lines[0], "ses_secret_1") {
		t.Errorf("credential not masked: %s", lines[0])
	}
	if len(ev.Masked) != 1 || ev.Masked[0] != "/input/subject/credential_id" {
		t.Errorf("masked: %v", ev.Masked)
	}
	if subject["id"] != "dev_a" || ev.Input["action"] != "developer.read" ||
		ev.Input["context"].(map[string]any)["time"] != "2026-03-01T12:00:00Z" || ev.Input["context"].(map[string]any)["request_id"] != "req_1" {
		t.Errorf("input: %v", ev.Input)
	}
	if evs[1].DecisionID != d2.ID || evs[1].Result["allow"] != false || evs[1].Result["reason"] != "not permitted to developer.list" {
		t.Errorf("denial event: %+v", evs[1])
	}
	if evs[2].DecisionID != d3.ID || evs[2].DecisionID == d1.ID || evs[2].Metrics["counter_sovereign_decision_cache_hit"] != float64(1) {
		t.Errorf("cached decision event: %+v", evs[2])
	}
	if evs[3].Path != "sovereign/other" || evs[3].Result["allow"] != false {
		t.Errorf("unknown query event: %+v", evs[3])
	}
}

// --- concurrency ---

// TestConcurrentDecideWhileReloading decides from many goroutines while the directory's policy
// flips between two versions: every answer must come from one version or the other. Run with -race.
func TestConcurrentDecideWhileReloading(t *testing.T) {
	dir := t.TempDir()
	writePolicy(t, dir, "authz.rego", fmt.Sprintf(dirPolicy, "developer.read", "reading"))
	var logBuf syncBuffer
	e, err := policy.NewWithOptions(policy.WithDir(dir), policy.WithReloadInterval(5*time.Millisecond),
		policy.WithDecisionLog(&logBuf), policy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var decisions, flips atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				action := policy.ActionDeveloperRead
				if (g+i)%2 == 0 {
					action = policy.ActionDeveloperUpdate
				}
				d, err := e.Decide(ctx, policy.QueryAllow, policy.Input{Subject: devSession, Action: action, Resource: ownAccount})
				if err != nil {
					t.Error(err)
					return
				}
				if !d.Allow && d.Reason != "only reading here" && d.Reason != "only updating here" {
					t.Errorf("answer from no version: %+v", d)
					return
				}
				decisions.Add(1)
			}
		}()
	}
	for i := range 40 {
		what := [][2]string{{"developer.read", "reading"}, {"developer.update", "updating"}}[i%2]
		writePolicy(t, dir, "authz.rego", fmt.Sprintf(dirPolicy, what[0], what[1]))
		if i%3 == 0 {
			if err := e.Reload(ctx); err != nil {
				t.Error(err)
			}
		}
		flips.Add(1)
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if decisions.Load() == 0 {
		t.Fatal("no decisions")
	}
	sc := bufio.NewScanner(bytes.NewReader([]byte(logBuf.String())))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Fatalf("decision log line is not JSON: %s", sc.Text())
		}
		lines++
	}
	if int64(lines) != decisions.Load() {
		t.Errorf("%d log lines for %d decisions", lines, decisions.Load())
	}
	t.Logf("%d decisions across %d policy changes", decisions.Load(), flips.Load())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
