package agentvault

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/sovereign-stack/sovereign/tlscert"
)

// CAFileEnv names a PEM file of CA certificates that this package's default HTTP clients trust
// besides the system's roots, when WithCAFile is not given: the certificate `sovereign up
// --tls` prints, or a private CA's.
const CAFileEnv = "SOVEREIGN_CA_FILE"

// WithCAFile makes the clients trust the CA certificates of the PEM file at path besides the
// system's roots (default: the file $SOVEREIGN_CA_FILE names). With WithHTTPClient, that
// client's own transport decides instead. A file that cannot be read or holds no certificate
// fails every request with the reason.
func WithCAFile(path string) Option {
	return func(s *settings) { s.caFile, s.caFileSet = path, true }
}

// NewHTTPClient returns an HTTP client that trusts the CA certificates of the PEM file caFile
// besides the system's roots, with the given timeout (0: none), for WithHTTPClient or
// Agent.HTTPClient.
func NewHTTPClient(caFile string, timeout time.Duration) (*http.Client, error) {
	t, err := caTransport(caFile)
	if err != nil {
		return nil, fmt.Errorf("agentvault: %w", err)
	}
	return &http.Client{Transport: t, Timeout: timeout}, nil
}

// caTransport is http.DefaultTransport trusting caFile too.
func caTransport(caFile string) (*http.Transport, error) {
	tc, err := tlscert.ClientConfig(caFile)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tc
	return t, nil
}

// transport is the round tripper of the settings' default clients: nil (http.DefaultTransport)
// without a CA file, one trusting the CA file with one, or one failing every request with
// why the CA file cannot be used.
func (s *settings) transport() http.RoundTripper {
	file := s.caFile
	if !s.caFileSet {
		file = os.Getenv(CAFileEnv)
	}
	if file == "" {
		return nil
	}
	t, err := caTransport(file)
	if err != nil {
		return failing{fmt.Errorf("agentvault: CA file (%s): %w", CAFileEnv, err)}
	}
	return t
}

// failing is a round tripper that fails every request with err.
type failing struct{ err error }

// RoundTrip implements http.RoundTripper.
func (f failing) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }
