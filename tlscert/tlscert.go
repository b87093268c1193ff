// Package tlscert holds the certificates of the public listener and of the clients that reach
// it: a key pair read from PEM files and read again when they change (a renewed certificate
// takes effect without a restart), a self-signed certificate made once for the names a listener
// is reached at, and the root pools of clients told to trust a given CA file. Servers speak TLS
// 1.3 only.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// MinVersion is the oldest TLS version the public listener accepts.
const MinVersion = tls.VersionTLS13

// Limits of the self-signed certificate and of reloading.
const (
	// SelfSignedValidity is how long a self-signed certificate is valid.
	SelfSignedValidity = 365 * 24 * time.Hour
	// RenewBefore is how long before its end a self-signed certificate is replaced.
	RenewBefore = 30 * 24 * time.Hour
	// ReloadCheckInterval is how often, at most, the key pair's files are checked for a change.
	ReloadCheckInterval = time.Second
)

// The file names of the self-signed key pair in its directory.
const (
	CertFileName = "cert.pem"
	KeyFileName  = "key.pem"
)

// ServerConfig returns the TLS configuration of a listener serving the key pair in certFile
// and keyFile: TLS 1.3 only, the files read now (an error if they do not hold a valid pair)
// and again, at most once per ReloadCheckInterval, when their modification time or size
// changes. A reload that fails keeps the pair in use.
func ServerConfig(certFile, keyFile string) (*tls.Config, error) {
	kp := &keyPair{certFile: certFile, keyFile: keyFile}
	if err := kp.load(); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: MinVersion, GetCertificate: kp.get}, nil
}

// keyPair is a certificate and key kept in step with their files.
type keyPair struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string    // the files' modification times and sizes when cert was read
	checked time.Time // when the files were last looked at
}

// fileStamp describes the files' current state; a change in it means they were rewritten.
func (k *keyPair) fileStamp() (string, error) {
	var b strings.Builder
	for _, p := range []string{k.certFile, k.keyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return b.String(), nil
}

func (k *keyPair) load() error {
	stamp, err := k.fileStamp()
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("tls: key pair %s, %s: %w", k.certFile, k.keyFile, err)
	}
	k.cert, k.stamp, k.checked = &cert, stamp, time.Now()
	return nil
}

func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if time.Since(k.checked) >= ReloadCheckInterval {
		k.checked = time.Now()
		if stamp, err := k.fileStamp(); err == nil && stamp != k.stamp {
			_ = k.load() // a half-written pair fails here; the next check reads it again
		}
	}
	return k.cert, nil
}

// Pool returns the system's roots (none where the system has no pool) with the certificates of
// the PEM file caFile added.
func Pool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls: CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tls: CA file %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// ClientConfig returns the TLS configuration of a client that trusts the certificates of
// caFile besides the system's roots.
func ClientConfig(caFile string) (*tls.Config, error) {
	pool, err := Pool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Fingerprint is the SHA-256 of a DER certificate, as colon-separated upper-case hex pairs
// (the form browsers and `openssl x509 -fingerprint -sha256` show).
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, c := range sum {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// SelfSigned describes the self-signed certificate EnsureSelfSigned keeps.
type SelfSigned struct {
	// CertFile is the certificate (also the CA file clients are given to trust it); KeyFile
	// its private key.
	CertFile, KeyFile string
	// Fingerprint is the certificate's SHA-256 fingerprint.
	Fingerprint string
	// Hosts are the names and addresses it is valid for.
	Hosts    []string
	NotAfter time.Time
	// Created says the certificate was made by this call; Reason says why ("" when reused).
	Created bool
	Reason  string
}

// EnsureSelfSigned returns the self-signed certificate in dir (CertFileName, KeyFileName),
// making it when there is none, when it does not cover every one of hosts, or when it ends
// within RenewBefore; otherwise the same certificate is kept from start to start, so clients
// that trust it keep trusting it. It is an ECDSA P-256 certificate, its own CA, for hosts (DNS
// names and IP addresses). Files are written 0600 in a 0700 directory.
func EnsureSelfSigned(dir string, hosts []string, now time.Time) (SelfSigned, error) {
	s := SelfSigned{CertFile: filepath.Join(dir, CertFileName), KeyFile: filepath.Join(dir, KeyFileName)}
	reason := "none yet"
	if cert, err := readCert(s.CertFile); err == nil {
		if _, kerr := tls.LoadX509KeyPair(s.CertFile, s.KeyFile); kerr != nil {
			reason = "its key does not match: " + kerr.Error()
		} else if missing := uncovered(cert, hosts); missing != "" {
			reason = "it does not cover " + missing
		} else if now.Add(RenewBefore).After(cert.NotAfter) {
			reason = "it ends on " + cert.NotAfter.UTC().Format(time.DateOnly)
		} else {
			s.Fingerprint, s.Hosts, s.NotAfter = Fingerprint(cert.Raw), certHosts(cert), cert.NotAfter
			return s, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		reason = err.Error()
	}
	der, keyDER, err := makeSelfSigned(hosts, now)
	if err != nil {
		return SelfSigned{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return SelfSigned{}, fmt.Errorf("tls: %w", err)
	}
	// The key first: a certificate without its key would be refused at the next start.
	if err := writeFile(s.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return SelfSigned{}, err
	}
	if err := writeFile(s.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return SelfSigned{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return SelfSigned{}, fmt.Errorf("tls: %w", err)
	}
	s.Fingerprint, s.Hosts, s.NotAfter, s.Created, s.Reason = Fingerprint(der), certHosts(cert), cert.NotAfter, true, reason
	return s, nil
}

func makeSelfSigned(hosts []string, now time.Time) (der, keyDER []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	cn := "sovereign"
	if len(hosts) > 0 {
		cn = hosts[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Sovereign Stack (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(SelfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	keyDER, err = x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	return der, keyDER, nil
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

// uncovered names the first of hosts cert is not valid for ("" when it covers them all).
func uncovered(cert *x509.Certificate, hosts []string) string {
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			return h
		}
	}
	return ""
}

func certHosts(cert *x509.Certificate) []string {
	hosts := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	return hosts
}

func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	return nil
}

// Hosts lists the names a listener on addr (host:port) with the base URL publicURL is reached
// at, for a certificate: the URL's host, the listen host, and for a loopback or wildcard listen
// address localhost, 127.0.0.1 and ::1 (a wildcard adds the machine's host name too).
func Hosts(addr, publicURL string) []string {
	var hosts []string
	add := func(h string) {
		if h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if u, err := url.Parse(publicURL); err == nil {
		add(u.Hostname())
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	wildcard := host == "" || ip != nil && ip.IsUnspecified()
	if !wildcard {
		add(host)
	}
	if wildcard || ip != nil && ip.IsLoopback() || host == "localhost" {
		add("localhost")
		add("127.0.0.1")
		add("::1")
	}
	if wildcard {
		if name, err := os.Hostname(); err == nil {
			add(name)
		}
	}
	return hosts
}
