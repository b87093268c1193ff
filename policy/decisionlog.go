package policy

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/version"
)

// masked is what a secret in a logged input is replaced by.
const masked = "**REDACTED**"

// secretFields are field names masked wherever they appear in a logged input (compared
// case-insensitively), besides /input/subject/credential_id. Names ending in _token,
// _password or _secret are masked too.
var secretFields = []string{"token", "password", "secret", "api_key"}

// event is one decision in OPA's decision-log format (plugins/logs.EventV1): the fields
// OPA's decision logger writes, as far as they apply to an embedded engine.
type event struct {
	Labels     map[string]string     `json:"labels"`
	DecisionID string                `json:"decision_id"`
	Revision   string                `json:"revision,omitempty"`
	Bundles    map[string]bundleInfo `json:"bundles,omitempty"`
	Path       string                `json:"path"`
	Input      any                   `json:"input"`
	Result     any                   `json:"result"`
	Masked     []string              `json:"masked,omitempty"`
	Timestamp  time.Time             `json:"timestamp"`
	Metrics    map[string]any        `json:"metrics,omitempty"`
}

type bundleInfo struct {
	Revision string `json:"revision,omitempty"`
}

type decisionResult struct {
	Allow  bool   `json:"allow"`
	Reason string `json:"reason,omitempty"`
	Code   string `json:"code,omitempty"`
}

// decisionLog writes events as JSON lines, one Write per event.
type decisionLog struct {
	mu     sync.Mutex
	w      io.Writer
	labels map[string]string
	failed bool // a write failed; reported once
}

func newDecisionLog(w io.Writer) *decisionLog {
	return &decisionLog{w: w, labels: map[string]string{
		"id":      newDecisionID(), // this engine instance
		"app":     "sovereign",
		"version": version.Version, // OPA's, as OPA labels its events
	}}
}

func (l *decisionLog) write(d Decision, path, revision string, input Input, start time.Time, cached bool) {
	in := inputDoc(input)
	ev := event{
		Labels:     l.labels,
		DecisionID: d.ID,
		Revision:   revision,
		Bundles:    map[string]bundleInfo{"sovereign": {Revision: revision}},
		Path:       path,
		Input:      in,
		Result:     decisionResult{Allow: d.Allow, Reason: d.Reason, Code: d.Code},
		Masked:     maskSecrets(in),
		Timestamp:  start.UTC(),
		Metrics:    map[string]any{"timer_rego_query_eval_ns": time.Since(start).Nanoseconds()},
	}
	if cached {
		ev.Metrics["counter_sovereign_decision_cache_hit"] = 1
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(ev); err != nil {
		slog.Error("policy: encode decision log event", "decision_id", d.ID, "error", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(buf.Bytes()); err != nil && !l.failed {
		l.failed = true
		slog.Error("policy: write decision log (further failures not reported)", "error", err)
	}
}

// maskSecrets replaces secrets in the input document in place and returns their JSON
// pointers ("/input/subject/credential_id"), as OPA lists masked fields.
func maskSecrets(input any) []string {
	var paths []string
	if sub, ok := input.(map[string]any); ok {
		if s, ok := sub["subject"].(map[string]any); ok {
			if _, ok := s["credential_id"]; ok {
				s["credential_id"] = masked
				paths = append(paths, "/input/subject/credential_id")
			}
		}
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				p := at + "/" + pointerEscape(k)
				if isSecretField(k) {
					if x != masked {
						v[k] = masked
						paths = append(paths, p)
					}
					continue
				}
				walk(x, p)
			}
		case []any:
			for i, x := range v {
				walk(x, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(input, "/input")
	slices.Sort(paths)
	return paths
}

func isSecretField(k string) bool {
	k = strings.ToLower(k)
	for _, s := range secretFields {
		if k == s {
			return true
		}
	}
	return strings.HasSuffix(k, "_token") || strings.HasSuffix(k, "_password") || strings.HasSuffix(k, "_secret")
}

// pointerEscape escapes a JSON-pointer segment (RFC 6901).
func pointerEscape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return pointerEscaper.Replace(s)
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// inputDoc is in as the generic JSON document encoding/json makes of it (same keys, same
// omitempty), built directly, for the log to mask and write.
func inputDoc(in Input) map[string]any {
	s := in.Subject
	sub := map[string]any{"kind": s.Kind, "verified": s.Verified}
	putString(sub, "id", s.ID)
	putString(sub, "spiffe_id", s.SPIFFEID)
	putString(sub, "did", s.DID)
	putStrings(sub, "roles", s.Roles)
	putString(sub, "auth_method", s.AuthMethod)
	putStrings(sub, "scopes", s.Scopes)
	putString(sub, "tier", s.Tier)
	if s.Reputation != 0 {
		sub["reputation"] = s.Reputation
	}
	putString(sub, "stake", s.Stake)
	putString(sub, "credential_id", s.CredentialID)
	res := map[string]any{"kind": in.Resource.Kind}
	putString(res, "id", in.Resource.ID)
	putString(res, "owner", in.Resource.Owner)
	putString(res, "counterparty", in.Resource.Counterparty)
	putString(res, "suspended_by", in.Resource.SuspendedBy)
	ctx := map[string]any{"time": timeString(in.Context.Time)}
	putString(ctx, "request_id", in.Context.RequestID)
	putString(ctx, "amount", in.Context.Amount)
	return map[string]any{"subject": sub, "action": in.Action, "resource": res, "context": ctx}
}

func putString(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func putStrings(m map[string]any, k string, vs []string) {
	if len(vs) > 0 {
		l := make([]any, len(vs))
		for i, v := range vs {
			l[i] = v
		}
		m[k] = l
	}
}
