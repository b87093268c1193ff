// Package email delivers the stack's emails: through an SMTP server when one is configured,
// otherwise into the log (embedded mode), where an operator or a test can pick the link up.
package email

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// SMTPConfig names an SMTP server and the sender address.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	// Timeout bounds one delivery (default 10 s).
	Timeout time.Duration
}

// SMTP sends email through an SMTP server, upgrading to TLS with STARTTLS when the server offers
// it (required when a password is set, so credentials never cross in clear text).
type SMTP struct{ cfg SMTPConfig }

// NewSMTP returns an SMTP sender.
func NewSMTP(cfg SMTPConfig) *SMTP {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	return &SMTP{cfg: cfg}
}

// SendVerification sends the verification link to to.
func (s *SMTP) SendVerification(ctx context.Context, to, name, url string) error {
	body := fmt.Sprintf("Hello %s,\r\n\r\nopen this link to verify your email address for the Sovereign Stack registry:\r\n\r\n%s\r\n\r\nThe link works once, for 24 hours. If you did not sign up, ignore this email.\r\n", name, url)
	return s.send(ctx, to, "Verify your email address", body)
}

func (s *SMTP) send(ctx context.Context, to, subject, body string) error {
	if strings.ContainsAny(to, "\r\n") || strings.ContainsAny(subject, "\r\n") {
		return fmt.Errorf("email: header injection refused")
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("email: dial %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("email: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("email: starttls: %w", err)
		}
	} else if s.cfg.Password != "" {
		return fmt.Errorf("email: %s does not offer STARTTLS; refusing to send the password in clear text", addr)
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return fmt.Errorf("email: auth: %w", err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return fmt.Errorf("email: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("email: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	msg := "From: " + s.cfg.From + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n\r\n" + body
	if _, err := w.Write([]byte(msg)); err != nil {
		return fmt.Errorf("email: write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	return c.Quit()
}

// Log "sends" email by logging it, for a stack without a mailer: the verification link becomes
// a JSON log line with "msg":"email verification", the link in "url" and a "note" saying it is a
// secret. With SMTP configured the link is only mailed, never logged.
type Log struct{ log *slog.Logger }

// NewLog returns a sender that logs to log.
func NewLog(log *slog.Logger) *Log { return &Log{log: log} }

// SendVerification logs the verification link.
func (l *Log) SendVerification(ctx context.Context, to, _, url string) error {
	l.log.InfoContext(ctx, "email verification", "to", to, "url", url,
		"note", "no mailer is configured (SOVEREIGN_SMTP_HOST), so the link is logged; it is a secret: whoever opens it verifies the address")
	return nil
}
