package agentvault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/zalando/go-keyring"
)

// Field names one secret a KeyStore keeps for an id (an agent id, a service id).
type Field string

// The fields of an id.
const (
	// FieldAPIKey is the API key used to call the agent or service with that id.
	FieldAPIKey Field = "api_key"
	// FieldClientID and FieldClientSecret are OAuth 2 client credentials: for an agent of ours,
	// the ones the registry issued at registration (exchanged for its JWT by a TokenSource).
	FieldClientID     Field = "oauth_client_id"
	FieldClientSecret Field = "oauth_client_secret"
	// FieldAgentKey is an agent's Ed25519 private key, base64url (unpadded) of the 64-byte key.
	FieldAgentKey Field = "agent_key"
	// FieldSPIFFEID is an agent's SPIFFE ID (not a secret; kept beside its key).
	FieldSPIFFEID Field = "spiffe_id"
)

// Fields are all the fields, in the order List reports them.
var Fields = []Field{FieldAPIKey, FieldClientID, FieldClientSecret, FieldAgentKey, FieldSPIFFEID}

// Valid reports whether f is one of Fields.
func (f Field) Valid() bool { return slices.Contains(Fields, f) }

// Errors of key stores.
var (
	// ErrNotFound: the store holds no value for the id and field.
	ErrNotFound = errors.New("agentvault: key not found")
	// ErrReadOnly: the store cannot be written (the environment).
	ErrReadOnly = errors.New("agentvault: key store is read-only")
	// ErrInsecureFile: the key file can be read or written by others than its owner.
	ErrInsecureFile = errors.New("agentvault: key file permissions are too open (want 0600)")
	// ErrListUnsupported: the store cannot enumerate what it holds (the OS keyring).
	ErrListUnsupported = errors.New("agentvault: key store cannot list its keys")
)

// Entry is one value a store holds, as List reports it (without the value).
type Entry struct {
	ID     string
	Field  Field
	Source string // the store's name: "file", "env" or "keyring"
}

// KeyStore keeps secrets by id and field. Get returns ErrNotFound when there is no value; Set
// and Delete return ErrReadOnly on a store that cannot be written; List returns
// ErrListUnsupported on a store that cannot enumerate. Implementations are safe for concurrent
// use.
type KeyStore interface {
	Get(ctx context.Context, id string, f Field) (string, error)
	Set(ctx context.Context, id string, f Field, value string) error
	Delete(ctx context.Context, id string, f Field) error
	List(ctx context.Context) ([]Entry, error)
}

func checkKey(id string, f Field) error {
	if strings.TrimSpace(id) == "" || len(id) > 256 {
		return fmt.Errorf("agentvault: invalid key id %q", id)
	}
	if !f.Valid() {
		return fmt.Errorf("agentvault: unknown field %q (want one of %v)", f, Fields)
	}
	return nil
}

// ---- file ----

// KeyFileEnv names the environment variable that overrides the default key file path. (It is
// not AGENTVAULT_KEY_FILE, which would be the API key of an id "file" to EnvStore.)
const KeyFileEnv = "AGENTVAULT_KEYS_FILE"

// DefaultKeyFile is the key file's path: $AGENTVAULT_KEYS_FILE, else agentvault/keys.json in
// the user's configuration directory (~/.config on Linux).
func DefaultKeyFile() (string, error) {
	if p := os.Getenv(KeyFileEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("agentvault: no place for the key file (set %s): %w", KeyFileEnv, err)
	}
	return filepath.Join(dir, "agentvault", "keys.json"), nil
}

// FileStore keeps keys in one JSON file readable and writable by its owner only:
//
//	{"version": 1, "keys": {"agt_01J…": {"api_key": "…", "oauth_client_id": "…"}}}
//
// A file whose mode gives any access to group or others is refused on read (ErrInsecureFile)
// and never written that way: every write goes to a temporary file with mode 0600 in the same
// directory, is synced, and renamed over the file, so a reader sees the old or the new file,
// never a part. Writers in one process are serialized; across processes the last rename wins.
// (On Windows, where modes mean little, the check is skipped.)
type FileStore struct {
	path string
	mu   sync.Mutex
}

// NewFileStore returns the file store at path (the file need not exist yet).
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Path is the file's path.
func (s *FileStore) Path() string { return s.path }

// Name is "file".
func (s *FileStore) Name() string { return "file" }

const keyFileVersion = 1

type keyFile struct {
	Version int                         `json:"version"`
	Keys    map[string]map[Field]string `json:"keys"`
}

func (s *FileStore) read() (*keyFile, error) {
	kf := &keyFile{Version: keyFileVersion, Keys: map[string]map[Field]string{}}
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return kf, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agentvault: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("agentvault: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v; chmod 600 it", ErrInsecureFile, s.path, fi.Mode().Perm())
	}
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(kf); err != nil {
		return nil, fmt.Errorf("agentvault: key file %s: %w", s.path, err)
	}
	if kf.Version != keyFileVersion {
		return nil, fmt.Errorf("agentvault: key file %s has version %d; this library reads version %d", s.path, kf.Version, keyFileVersion)
	}
	if kf.Keys == nil {
		kf.Keys = map[string]map[Field]string{}
	}
	return kf, nil
}

func (s *FileStore) write(kf *keyFile) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("agentvault: %w", err)
	}
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return fmt.Errorf("agentvault: encoding key file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".keys-*.tmp")
	if err != nil {
		return fmt.Errorf("agentvault: %w", err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	// CreateTemp makes 0600 files already; Chmod states it whatever the platform's default.
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("agentvault: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("agentvault: writing key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("agentvault: writing key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("agentvault: writing key file: %w", err)
	}
	if err := os.Rename(name, s.path); err != nil {
		return fmt.Errorf("agentvault: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil { // make the rename durable
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Get implements KeyStore.
func (s *FileStore) Get(_ context.Context, id string, f Field) (string, error) {
	if err := checkKey(id, f); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kf, err := s.read()
	if err != nil {
		return "", err
	}
	v, ok := kf.Keys[id][f]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

// Set implements KeyStore.
func (s *FileStore) Set(_ context.Context, id string, f Field, value string) error {
	if err := checkKey(id, f); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kf, err := s.read()
	if err != nil {
		return err
	}
	if kf.Keys[id] == nil {
		kf.Keys[id] = map[Field]string{}
	}
	kf.Keys[id][f] = value
	return s.write(kf)
}

// Delete implements KeyStore; deleting what is not there is not an error.
func (s *FileStore) Delete(_ context.Context, id string, f Field) error {
	if err := checkKey(id, f); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kf, err := s.read()
	if err != nil {
		return err
	}
	if _, ok := kf.Keys[id][f]; !ok {
		return nil
	}
	delete(kf.Keys[id], f)
	if len(kf.Keys[id]) == 0 {
		delete(kf.Keys, id)
	}
	return s.write(kf)
}

// List implements KeyStore: entries by id, then in the order of Fields.
func (s *FileStore) List(_ context.Context) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kf, err := s.read()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, id := range sortedKeys(kf.Keys) {
		for _, f := range Fields {
			if _, ok := kf.Keys[id][f]; ok {
				out = append(out, Entry{ID: id, Field: f, Source: s.Name()})
			}
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// ---- environment ----

// The environment variables of EnvStore: a prefix and suffix around the id in its environment
// form (EnvID).
const envPrefix = "AGENTVAULT_"

var envShapes = []struct {
	field          Field
	prefix, suffix string
}{
	{FieldAPIKey, "AGENTVAULT_KEY_", ""},
	{FieldClientID, "AGENTVAULT_OAUTH_", "_CLIENT_ID"},
	{FieldClientSecret, "AGENTVAULT_OAUTH_", "_CLIENT_SECRET"},
	{FieldAgentKey, "AGENTVAULT_AGENT_KEY_", ""},
	{FieldSPIFFEID, "AGENTVAULT_SPIFFE_ID_", ""},
}

// EnvID is an id as it appears in an environment variable name: upper case, every character
// other than A–Z and 0–9 replaced by "_" (agt_01jd-x → AGT_01JD_X).
func EnvID(id string) string {
	b := []byte(strings.ToUpper(id))
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// EnvName is the environment variable EnvStore reads for id and f:
//
//	FieldAPIKey        AGENTVAULT_KEY_<ID>
//	FieldClientID      AGENTVAULT_OAUTH_<ID>_CLIENT_ID
//	FieldClientSecret  AGENTVAULT_OAUTH_<ID>_CLIENT_SECRET
//	FieldAgentKey      AGENTVAULT_AGENT_KEY_<ID>
//	FieldSPIFFEID      AGENTVAULT_SPIFFE_ID_<ID>
//
// where <ID> is EnvID(id).
func EnvName(id string, f Field) string {
	for _, s := range envShapes {
		if s.field == f {
			return s.prefix + EnvID(id) + s.suffix
		}
	}
	return ""
}

// EnvStore reads keys from environment variables named by EnvName. It cannot be written. Since
// the names upper-case the id, List reports ids in their environment form.
type EnvStore struct {
	// Environ lists the variables (os.Environ when nil).
	Environ func() []string
}

// Name is "env".
func (EnvStore) Name() string { return "env" }

func (e EnvStore) environ() []string {
	if e.Environ != nil {
		return e.Environ()
	}
	return os.Environ()
}

// Get implements KeyStore. An empty variable counts as unset.
func (e EnvStore) Get(_ context.Context, id string, f Field) (string, error) {
	if err := checkKey(id, f); err != nil {
		return "", err
	}
	name := EnvName(id, f) + "="
	for _, kv := range e.environ() {
		if v, ok := strings.CutPrefix(kv, name); ok && v != "" {
			return v, nil
		}
	}
	return "", ErrNotFound
}

// Set implements KeyStore: ErrReadOnly.
func (EnvStore) Set(context.Context, string, Field, string) error { return ErrReadOnly }

// Delete implements KeyStore: ErrReadOnly.
func (EnvStore) Delete(context.Context, string, Field) error { return ErrReadOnly }

// List implements KeyStore.
func (e EnvStore) List(_ context.Context) ([]Entry, error) {
	var out []Entry
	for _, kv := range e.environ() {
		name, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || v == "" {
			continue
		}
		if en, ok := parseEnvName(name); ok {
			en.Source = e.Name()
			out = append(out, en)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return slices.Index(Fields, a.Field) - slices.Index(Fields, b.Field)
	})
	return out, nil
}

// parseEnvName reads the id and field of an EnvStore variable name; the OAuth shapes are
// tried before the plain ones so that AGENTVAULT_OAUTH_X_CLIENT_ID is not an id "OAUTH_X…".
func parseEnvName(name string) (Entry, bool) {
	for _, s := range envShapes {
		if s.suffix == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(name, s.prefix); ok {
			if id, ok := strings.CutSuffix(rest, s.suffix); ok && id != "" {
				return Entry{ID: id, Field: s.field}, true
			}
		}
	}
	for _, s := range envShapes {
		if s.suffix != "" {
			continue
		}
		if id, ok := strings.CutPrefix(name, s.prefix); ok && id != "" {
			return Entry{ID: id, Field: s.field}, true
		}
	}
	return Entry{}, false
}

// ---- OS keyring ----

// DefaultKeyringService is the keyring service KeyringStore uses when none is set.
const DefaultKeyringService = "agentvault"

// KeyringStore keeps keys in the operating system's keyring (macOS Keychain, the Secret Service
// over D-Bus on Linux, the Windows Credential Manager) through github.com/zalando/go-keyring:
// one item per id and field, under the service Service with the account "<id>/<field>". The
// keyring cannot be enumerated, so List returns ErrListUnsupported. It is an opt-in backend:
// on a machine without a keyring daemon every call fails.
type KeyringStore struct {
	// Service is the keyring service (DefaultKeyringService when empty).
	Service string
}

// Name is "keyring".
func (KeyringStore) Name() string { return "keyring" }

func (k KeyringStore) service() string {
	if k.Service == "" {
		return DefaultKeyringService
	}
	return k.Service
}

func keyringUser(id string, f Field) string { return id + "/" + string(f) }

// Get implements KeyStore.
func (k KeyringStore) Get(_ context.Context, id string, f Field) (string, error) {
	if err := checkKey(id, f); err != nil {
		return "", err
	}
	v, err := keyring.Get(k.service(), keyringUser(id, f))
	if errors.Is(err, keyring.ErrNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("agentvault: keyring: %w", err)
	}
	return v, nil
}

// Set implements KeyStore.
func (k KeyringStore) Set(_ context.Context, id string, f Field, value string) error {
	if err := checkKey(id, f); err != nil {
		return err
	}
	if err := keyring.Set(k.service(), keyringUser(id, f), value); err != nil {
		return fmt.Errorf("agentvault: keyring: %w", err)
	}
	return nil
}

// Delete implements KeyStore; deleting what is not there is not an error.
func (k KeyringStore) Delete(_ context.Context, id string, f Field) error {
	if err := checkKey(id, f); err != nil {
		return err
	}
	err := keyring.Delete(k.service(), keyringUser(id, f))
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("agentvault: keyring: %w", err)
	}
	return nil
}

// List implements KeyStore: ErrListUnsupported.
func (KeyringStore) List(context.Context) ([]Entry, error) { return nil, ErrListUnsupported }

// ---- chain ----

// ChainStore asks its stores in order: Get returns the first value found, so the first store
// takes precedence. Set and Delete go to the first store that can be written (the file in
// DefaultKeyStore's chain). List merges the stores' entries, skipping stores that cannot list.
type ChainStore struct {
	stores []KeyStore
}

// NewChainStore returns a chain of stores, the first taking precedence.
func NewChainStore(stores ...KeyStore) *ChainStore {
	return &ChainStore{stores: stores}
}

// Stores are the chain's stores in order.
func (c *ChainStore) Stores() []KeyStore { return slices.Clone(c.stores) }

// Lookup is Get that also names the store the value came from ("file", "env", "keyring", or
// "" for a store without a Name method).
func (c *ChainStore) Lookup(ctx context.Context, id string, f Field) (value, source string, err error) {
	for _, s := range c.stores {
		v, err := s.Get(ctx, id, f)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		return v, storeName(s), nil
	}
	return "", "", ErrNotFound
}

func storeName(s KeyStore) string {
	if n, ok := s.(interface{ Name() string }); ok {
		return n.Name()
	}
	return ""
}

// Get implements KeyStore.
func (c *ChainStore) Get(ctx context.Context, id string, f Field) (string, error) {
	v, _, err := c.Lookup(ctx, id, f)
	return v, err
}

// Set implements KeyStore.
func (c *ChainStore) Set(ctx context.Context, id string, f Field, value string) error {
	for _, s := range c.stores {
		if err := s.Set(ctx, id, f, value); !errors.Is(err, ErrReadOnly) {
			return err
		}
	}
	return ErrReadOnly
}

// Delete implements KeyStore.
func (c *ChainStore) Delete(ctx context.Context, id string, f Field) error {
	for _, s := range c.stores {
		if err := s.Delete(ctx, id, f); !errors.Is(err, ErrReadOnly) {
			return err
		}
	}
	return ErrReadOnly
}

// List implements KeyStore.
func (c *ChainStore) List(ctx context.Context) ([]Entry, error) {
	var out []Entry
	for _, s := range c.stores {
		es, err := s.List(ctx)
		if errors.Is(err, ErrListUnsupported) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// KeyringEnv names the environment variable that opts DefaultKeyStore into the OS keyring
// ("1" or "true").
const KeyringEnv = "AGENTVAULT_USE_KEYRING"

// DefaultKeyStore is the chain file > environment > keyring of the earlier agentvault library:
// the file at DefaultKeyFile, then EnvStore, then — only when useKeyring is true or
// AGENTVAULT_USE_KEYRING is set — the OS keyring.
func DefaultKeyStore(useKeyring bool) (*ChainStore, error) {
	path, err := DefaultKeyFile()
	if err != nil {
		return nil, err
	}
	stores := []KeyStore{NewFileStore(path), EnvStore{}}
	if v := strings.ToLower(os.Getenv(KeyringEnv)); useKeyring || v == "1" || v == "true" {
		stores = append(stores, KeyringStore{})
	}
	return NewChainStore(stores...), nil
}
