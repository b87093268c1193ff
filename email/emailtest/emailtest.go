// Package emailtest is a mailer for tests: it keeps the last verification link sent to each
// address, so a test can follow it as a person would follow the email.
package emailtest

import (
	"context"
	"net/url"
	"sync"
	"testing"
)

// Mailbox is a registry mailer (SendVerification) that keeps each address's latest link.
type Mailbox struct {
	mu    sync.Mutex
	links map[string]string // email → latest link
}

// New returns an empty mailbox.
func New() *Mailbox { return &Mailbox{links: map[string]string{}} }

// SendVerification keeps link as to's latest.
func (m *Mailbox) SendVerification(_ context.Context, to, _, link string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.links[to] = link
	return nil
}

// Link is the latest link sent to email ("" when none).
func (m *Mailbox) Link(email string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.links[email]
}

// Token is the token of the latest link sent to email; it fails t when there is none.
func (m *Mailbox) Token(t testing.TB, email string) string {
	t.Helper()
	link := m.Link(email)
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("no verification link for %s (got %q)", email, link)
	}
	return u.Query().Get("token")
}
