package email_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/email"
)

const verifyURL = "https://registry.example.org/api/v1/auth/verify?token=vt_abc123"

func TestLog_WritesVerificationLine(t *testing.T) {
	var buf bytes.Buffer
	l := email.NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	if err := l.SendVerification(context.Background(), "ada@example.org", "Ada", verifyURL); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %d:\n%s", len(lines), buf.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("log line is not JSON: %v\n%s", err, lines[0])
	}
	if line["msg"] != "email verification" || line["url"] != verifyURL || line["to"] != "ada@example.org" || line["level"] != "INFO" {
		t.Errorf("log line = %v", line)
	}
}

// session is what the fake SMTP server saw on one connection.
type session struct {
	commands []string // every command line, in order
	data     string   // the message received with DATA, dot-unstuffed
}

func (s session) has(prefix string) bool {
	for _, c := range s.commands {
		if strings.HasPrefix(strings.ToUpper(c), prefix) {
			return true
		}
	}
	return false
}

// smtpServer speaks just enough SMTP for net/smtp: a greeting, EHLO (never offering STARTTLS),
// AUTH, MAIL, RCPT, DATA, RSET, NOOP and QUIT.
type smtpServer struct {
	ln       net.Listener
	conns    atomic.Int64
	sessions chan session
	silent   bool // accept connections but never greet
}

func newSMTPServer(t *testing.T) *smtpServer { return startSMTPServer(t, false) }

func startSMTPServer(t *testing.T, silent bool) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, sessions: make(chan session, 4), silent: silent}
	t.Cleanup(func() { ln.Close() })
	go s.serve()
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		go s.handle(c)
	}
}

func (s *smtpServer) handle(c net.Conn) {
	defer c.Close()
	var sess session
	defer func() { s.sessions <- sess }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if s.silent {
		_, _ = bufio.NewReader(c).ReadString('\n')
		return
	}
	r := bufio.NewReader(c)
	reply := func(lines ...string) {
		for _, l := range lines {
			if _, err := c.Write([]byte(l + "\r\n")); err != nil {
				return
			}
		}
	}
	reply("220 fake.test ESMTP ready")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		sess.commands = append(sess.commands, line)
		verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
		switch verb {
		case "EHLO":
			reply("250-fake.test greets you", "250-8BITMIME", "250-AUTH PLAIN LOGIN", "250 SIZE 1000000")
		case "HELO", "MAIL", "RCPT", "RSET", "NOOP":
			reply("250 OK")
		case "AUTH":
			reply("235 2.7.0 Authentication successful")
		case "DATA":
			reply("354 End data with <CR><LF>.<CR><LF>")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, "."))
			}
			sess.data = msg.String()
			reply("250 OK queued")
		case "QUIT":
			reply("221 Bye")
			return
		default:
			reply("502 Command not implemented")
		}
	}
}

func (s *smtpServer) next(t *testing.T) session {
	t.Helper()
	select {
	case sess := <-s.sessions:
		return sess
	case <-time.After(5 * time.Second):
		t.Fatal("the SMTP server saw no session")
		return session{}
	}
}

func TestSMTP_DeliversVerificationMessage(t *testing.T) {
	srv := newSMTPServer(t)
	s := email.NewSMTP(email.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), From: "registry@example.org"})
	if err := s.SendVerification(context.Background(), "ada@example.org", "Ada Lovelace", verifyURL); err != nil {
		t.Fatalf("SendVerification: %v", err)
	}
	sess := srv.next(t)
	if !sess.has("MAIL FROM:<REGISTRY@EXAMPLE.ORG>") || !sess.has("RCPT TO:<ADA@EXAMPLE.ORG>") || !sess.has("QUIT") {
		t.Errorf("commands = %q", sess.commands)
	}
	if sess.has("AUTH") || sess.has("STARTTLS") {
		t.Errorf("AUTH or STARTTLS without credentials or TLS offer: %q", sess.commands)
	}
	header, body, ok := strings.Cut(sess.data, "\r\n\r\n")
	if !ok {
		t.Fatalf("message has no header/body separator:\n%q", sess.data)
	}
	for _, h := range []string{"From: registry@example.org", "To: ada@example.org", "Subject: Verify your email address",
		"Content-Type: text/plain; charset=utf-8", "Date: "} {
		if !strings.Contains(header, h) {
			t.Errorf("header lacks %q:\n%s", h, header)
		}
	}
	if !strings.Contains(body, verifyURL) || !strings.Contains(body, "Ada Lovelace") {
		t.Errorf("body lacks the link or the name:\n%s", body)
	}
}

func TestSMTP_AuthenticatesWithUsernameOnlyWhenNoPassword(t *testing.T) {
	srv := newSMTPServer(t)
	s := email.NewSMTP(email.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), Username: "relay", From: "registry@example.org"})
	if err := s.SendVerification(context.Background(), "ada@example.org", "Ada", verifyURL); err != nil {
		t.Fatalf("SendVerification: %v", err)
	}
	if sess := srv.next(t); !sess.has("AUTH PLAIN") || !strings.Contains(sess.data, verifyURL) {
		t.Errorf("commands = %q", sess.commands)
	}
}

func TestSMTP_RefusesPasswordWithoutSTARTTLS(t *testing.T) {
	srv := newSMTPServer(t)
	s := email.NewSMTP(email.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), Username: "relay", Password: "hunter2", From: "registry@example.org"})
	err := s.SendVerification(context.Background(), "ada@example.org", "Ada", verifyURL)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("SendVerification = %v, want a refusal naming STARTTLS", err)
	}
	sess := srv.next(t)
	if sess.has("AUTH") || sess.has("MAIL") || sess.data != "" {
		t.Errorf("credentials or mail sent in clear text: %q", sess.commands)
	}
	for _, c := range sess.commands {
		if strings.Contains(c, "hunter2") {
			t.Errorf("password on the wire: %q", c)
		}
	}
}

func TestSMTP_RefusesHeaderInjection(t *testing.T) {
	srv := newSMTPServer(t)
	s := email.NewSMTP(email.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), From: "registry@example.org"})
	for _, to := range []string{
		"ada@example.org\r\nBcc: everyone@example.org",
		"ada@example.org\nBcc: everyone@example.org",
		"ada@example.org\r",
	} {
		if err := s.SendVerification(context.Background(), to, "Ada", verifyURL); err == nil {
			t.Errorf("recipient %q accepted", to)
		}
	}
	if n := srv.conns.Load(); n != 0 {
		t.Errorf("%d connections made for refused recipients, want none", n)
	}
}

func TestSMTP_DialFailureIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := email.NewSMTP(email.SMTPConfig{Host: "127.0.0.1", Port: port, From: "registry@example.org", Timeout: 2 * time.Second})
	err = s.SendVerification(context.Background(), "ada@example.org", "Ada", verifyURL)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("SendVerification to a closed port = %v, want a dial error naming the address", err)
	}
}

func TestSMTP_SilentServerTimesOut(t *testing.T) {
	srv := startSMTPServer(t, true)
	s := email.NewSMTP(email.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), From: "registry@example.org", Timeout: 300 * time.Millisecond})
	start := time.Now()
	err := s.SendVerification(context.Background(), "ada@example.org", "Ada", verifyURL)
	if err == nil {
		t.Fatal("SendVerification to a silent server succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s, want about the 300ms timeout", d)
	}
}

func TestSMTP_CancelledContextStopsDelivery(t *testing.T) {
	srv := newSMTPServer(t)
	s := email.NewSMTP(email.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), From: "registry@example.org"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.SendVerification(ctx, "ada@example.org", "Ada", verifyURL); err == nil {
		t.Fatal("SendVerification with a cancelled context succeeded")
	}
}

func TestSMTP_NameCannotEndTheMessageEarly(t *testing.T) {
	srv := newSMTPServer(t)
	s := email.NewSMTP(email.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), From: "registry@example.org"})
	name := "Eve\r\n.\r\nRCPT TO:<victim@example.org>\n.\nDATA\r\n"
	if err := s.SendVerification(context.Background(), "eve@example.org", name, verifyURL); err != nil {
		t.Fatalf("SendVerification: %v", err)
	}
	sess := srv.next(t)
	if sess.has("RCPT TO:<VICTIM") || strings.Count(strings.Join(sess.commands, "\n"), "DATA") != 1 {
		t.Errorf("the name smuggled commands: %q", sess.commands)
	}
	if !strings.Contains(sess.data, "RCPT TO:<victim@example.org>") || !strings.Contains(sess.data, verifyURL) {
		t.Errorf("the message lost its text:\n%s", sess.data)
	}
}
