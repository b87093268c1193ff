package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The key directory holds one PEM file per authority, named <kind>-<generation>.pem:
//
//	root-000001.pem    CERTIFICATE + PRIVATE KEY (PKCS#8): a root CA
//	x509ca-000002.pem  CERTIFICATE + PRIVATE KEY: the signing CA, issued by a root
//	jwt-000003.pem     PRIVATE KEY with headers Key-Id, Not-Before, Not-After: a JWT key
//
// Generations grow across all kinds; the highest of a kind is the current one.

type authorityKind string

const (
	kindRoot    authorityKind = "root"
	kindSigning authorityKind = "x509ca"
	kindJWT     authorityKind = "jwt"
)

// authority is one CA or JWT signing key.
type authority struct {
	kind      authorityKind
	gen       int
	cert      *x509.Certificate // nil for a JWT key
	key       *ecdsa.PrivateKey
	kid       string // JWT keys only
	notBefore time.Time
	notAfter  time.Time
	parent    *authority // the root of a signing CA
	file      string     // base name in the key directory
}

// rotateAt is half-way through the authority's lifetime.
func (a *authority) rotateAt() time.Time {
	return a.notBefore.Add(a.notAfter.Sub(a.notBefore) / 2)
}

const (
	hdrKeyID     = "Key-Id"
	hdrNotBefore = "Not-Before"
	hdrNotAfter  = "Not-After"
)

// write stores a in the key directory, 0600, atomically (temporary file, fsync, rename).
func (b *Builtin) write(a *authority) error {
	a.file = fmt.Sprintf("%s-%06d.pem", a.kind, a.gen)
	der, err := x509.MarshalPKCS8PrivateKey(a.key)
	if err != nil {
		return fmt.Errorf("identity: marshal key: %w", err)
	}
	var buf bytes.Buffer
	keyBlock := &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	if a.cert != nil {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: a.cert.Raw})
	} else {
		keyBlock.Headers = map[string]string{
			hdrKeyID:     a.kid,
			hdrNotBefore: a.notBefore.UTC().Format(time.RFC3339),
			hdrNotAfter:  a.notAfter.UTC().Format(time.RFC3339),
		}
	}
	_ = pem.Encode(&buf, keyBlock)

	f, err := os.CreateTemp(b.dir, ".tmp-*") // created 0600
	if err != nil {
		return fmt.Errorf("identity: write key: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(b.dir, a.file))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("identity: write key %s: %w", a.file, err)
	}
	if d, err := os.Open(b.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func removeFile(dir, name string) {
	if name != "" {
		_ = os.Remove(filepath.Join(dir, name))
	}
}

// load reads the key directory (creating it 0700 when missing) into b. It refuses key files
// that group or others may access and files that do not parse.
func (b *Builtin) load() error {
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return fmt.Errorf("identity: key directory: %w", err)
	}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("identity: key directory: %w", err)
	}
	var roots, signing, jwtKeys []*authority
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			_ = os.Remove(filepath.Join(b.dir, name)) // a write that did not finish
			continue
		}
		kind, gen, ok := parseFileName(name)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		a, err := b.readAuthority(name, kind, gen)
		if err != nil {
			return err
		}
		b.nextGen = max(b.nextGen, gen)
		switch kind {
		case kindRoot:
			roots = append(roots, a)
		case kindSigning:
			signing = append(signing, a)
		case kindJWT:
			jwtKeys = append(jwtKeys, a)
		}
	}
	// ReadDir sorts by name, so each list is oldest first. The signing CA is the newest one
	// whose root is still here; older ones are leftovers of an interrupted rotation.
	for i := len(signing) - 1; i >= 0; i-- {
		s := signing[i]
		for _, r := range roots {
			if s.cert.CheckSignatureFrom(r.cert) == nil {
				s.parent = r
				break
			}
		}
		if s.parent != nil && b.signing == nil {
			b.signing = s
		} else {
			removeFile(b.dir, s.file)
		}
	}
	b.roots, b.jwtKeys = roots, jwtKeys
	return nil
}

func parseFileName(name string) (authorityKind, int, bool) {
	base, ok := strings.CutSuffix(name, ".pem")
	if !ok {
		return "", 0, false
	}
	k, g, ok := strings.Cut(base, "-")
	if !ok {
		return "", 0, false
	}
	kind := authorityKind(k)
	if kind != kindRoot && kind != kindSigning && kind != kindJWT {
		return "", 0, false
	}
	gen, err := strconv.Atoi(g)
	if err != nil || gen <= 0 || fmt.Sprintf("%06d", gen) != g {
		return "", 0, false
	}
	return kind, gen, true
}

func (b *Builtin) readAuthority(name string, kind authorityKind, gen int) (*authority, error) {
	path := filepath.Join(b.dir, name)
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("identity: key file %s has mode %v; it must be 0600", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("identity: key file %s: %s", path, fmt.Sprintf(format, args...))
	}
	a := &authority{kind: kind, gen: gen, file: name}
	var keyBlock *pem.Block
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			if a.cert != nil {
				return nil, bad("more than one certificate")
			}
			if a.cert, err = x509.ParseCertificate(block.Bytes); err != nil {
				return nil, bad("%v", err)
			}
		case "PRIVATE KEY":
			if keyBlock != nil {
				return nil, bad("more than one private key")
			}
			keyBlock = block
		default:
			return nil, bad("unexpected PEM block %q", block.Type)
		}
	}
	if len(bytes.TrimSpace(data)) != 0 {
		return nil, bad("trailing data")
	}
	if keyBlock == nil {
		return nil, bad("no private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, bad("%v", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, bad("the key is not ECDSA P-256")
	}
	a.key = ek
	if kind == kindJWT {
		if a.cert != nil {
			return nil, bad("a JWT key file holds a certificate")
		}
		a.kid = keyBlock.Headers[hdrKeyID]
		nb, err1 := time.Parse(time.RFC3339, keyBlock.Headers[hdrNotBefore])
		na, err2 := time.Parse(time.RFC3339, keyBlock.Headers[hdrNotAfter])
		if a.kid == "" || errors.Join(err1, err2) != nil || !nb.Before(na) {
			return nil, bad("missing or bad %s/%s/%s headers", hdrKeyID, hdrNotBefore, hdrNotAfter)
		}
		a.notBefore, a.notAfter = nb, na
		return a, nil
	}
	if a.cert == nil {
		return nil, bad("no certificate")
	}
	if !a.cert.IsCA {
		return nil, bad("the certificate is not a CA")
	}
	if !ek.PublicKey.Equal(a.cert.PublicKey) {
		return nil, bad("the key does not match the certificate")
	}
	if len(a.cert.URIs) != 1 || a.cert.URIs[0].String() != "spiffe://"+b.td.Name() {
		return nil, bad("the CA is not for trust domain %s", b.td)
	}
	if kind == kindRoot && a.cert.CheckSignatureFrom(a.cert) != nil {
		return nil, bad("the root is not self-signed")
	}
	a.notBefore, a.notAfter = a.cert.NotBefore, a.cert.NotAfter
	return a, nil
}
