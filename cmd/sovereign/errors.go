package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"syscall"
)

// Errors in a person's words: what happened, the server's code kept in brackets so that it can
// be searched for, and the next step when there is one (docs/CLI.md, "Errors").

// Error says the server's error: its message (field errors as "field: reason"), its code, the
// details that matter, and the next step.
func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.sentence())
	fmt.Fprintf(&b, " [%s]", e.Code)
	if next := e.nextStep(); next != "" {
		b.WriteString("\n  next: " + next)
	}
	return b.String()
}

// sentence is the message, with the fields a request got wrong named as "field: reason".
func (e *apiError) sentence() string {
	if probs, ok := e.Details["errors"].([]any); ok && len(probs) > 0 {
		var parts []string
		for _, p := range probs {
			m, _ := p.(map[string]any)
			f, _ := m["field"].(string)
			r, _ := m["reason"].(string)
			if f == "" || r == "" {
				continue
			}
			parts = append(parts, f+": "+r)
		}
		if len(parts) > 0 {
			return strings.Join(parts, "; ")
		}
	}
	msg := e.Message
	if f, _ := e.Details["field"].(string); f != "" && !strings.Contains(msg, f) {
		msg = f + ": " + msg
	}
	// Other details, except those said elsewhere, as key=value.
	var extra []string
	for k, v := range e.Details {
		switch k {
		case "field", "in", "errors", "decision_id", "request_id":
			continue
		}
		extra = append(extra, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		msg += " (" + strings.Join(extra, ", ") + ")"
	}
	return msg
}

// nextStep is what to do about the error, when the command line knows.
func (e *apiError) nextStep() string {
	switch {
	case strings.Contains(e.Message, "verified email"), e.Code == "EMAIL_NOT_VERIFIED":
		return "verify your email: open the link the registry sent (logged by `sovereign up` when no mailer is set), or on the server run `sovereign developer verify EMAIL`"
	case e.Code == "AUTHENTICATION_REQUIRED", e.Code == "INVALID_TOKEN", e.Code == "TOKEN_EXPIRED", e.Code == "INVALID_API_KEY":
		return "log in again (`sovereign login --email EMAIL`), or pass a valid --token"
	case e.Code == "INVALID_CREDENTIALS":
		return "check the email and password; `sovereign register` creates an account"
	case e.Code == "INVALID_BOOTSTRAP_TOKEN":
		return "bootstrap tokens are single-use and last 5 minutes: make a new one with `sovereign bootstrap-token create`"
	case e.Code == "AGENT_NOT_FOUND":
		return "`sovereign agent list` lists your agents"
	case e.Code == "INSUFFICIENT_FUNDS":
		return "`sovereign token balance` shows what the wallet holds"
	case e.Code == "RATE_LIMITED", e.Code == "SERVER_BUSY":
		return "wait a moment and try again"
	case e.Code == "TEG_UNAVAILABLE":
		return "the token economy did not answer; try again shortly (its operator can check `/readyz`)"
	case e.Code == "FORBIDDEN":
		if id, _ := e.Details["decision_id"].(string); id != "" {
			return "you are not allowed this; the operator finds why under decision " + id + " in the decision log"
		}
	}
	return ""
}

// unreachable says that the server at base did not answer, and what to check.
func unreachable(base string, err error) error {
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach the registry at %s: nothing listens there — is `sovereign up` running? (or point --registry / SOVEREIGN_REGISTRY at it)", base)
	case errors.As(err, &dns):
		return fmt.Errorf("cannot reach the registry at %s: no such host %q (check --registry / SOVEREIGN_REGISTRY)", base, dns.Name)
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return fmt.Errorf("the registry at %s did not answer in time; is it overloaded or behind a firewall? (%v)", base, ue.Err)
	}
	return fmt.Errorf("cannot reach the registry at %s: %w", base, err)
}

// notSovereign says that an answer carried no error envelope: another server is at base.
func notSovereign(base, method, path string, status int, body []byte) error {
	return fmt.Errorf("%s %s answered HTTP %d without a Sovereign error (%.120q): is %s a Sovereign registry? (check --registry / SOVEREIGN_REGISTRY)",
		method, path, status, body, base)
}

// explain adds the next step to an error from deeper down (agentvault, the A2A client) that
// failed to connect and does not say so in a person's words yet.
func explain(err error) string {
	msg := err.Error()
	if errors.Is(err, syscall.ECONNREFUSED) && !strings.Contains(msg, "sovereign up") {
		msg += "\n  next: nothing listens at that address — is `sovereign up` (or the agent) running? Check --registry / SOVEREIGN_REGISTRY"
	}
	var unknownCA x509.UnknownAuthorityError
	if errors.As(err, &unknownCA) {
		msg += "\n  next: the server's certificate is not from a CA this machine trusts: pass --ca-file FILE (or set " + caFileEnv +
			") with the CA's certificate — for `sovereign up --tls`, the DATA/tls/cert.pem it printed"
	}
	return msg
}
