// Package seal encrypts and decrypts fields at rest with AES-256-GCM. Stores
// pass every message body and every visitor's personal fields through a
// Sealer, so a database dump holds no plaintext.
//
// It imports only the standard library.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// version is the first byte of every sealed value.
const version byte = 1

// ErrOpen means a sealed value could not be decrypted (wrong key, tampered or truncated).
var ErrOpen = errors.New("seal: cannot open value")

// Sealer encrypts and decrypts values; aad binds a value to its place (for
// example a message's conversation and seq) so sealed values cannot be swapped.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Keyring seals with its newest key and opens with any key it holds, so keys
// can be rotated while old values stay readable.
type Keyring struct {
	current uint32
	aeads   map[uint32]cipher.AEAD
	raw     map[uint32][]byte
}

var _ Sealer = (*Keyring)(nil)

// NewKeyring builds a keyring; keys[i] has id i+1 and the last key seals.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no keys")
	}
	byID := make(map[uint32][]byte, len(keys))
	for i, key := range keys {
		byID[uint32(i+1)] = key
	}
	return NewKeyringIDs(uint32(len(keys)), byID)
}

// NewKeyringIDs builds a keyring from keys by id; the key current seals and
// every key opens the values that carry its id.
func NewKeyringIDs(current uint32, keys map[uint32][]byte) (*Keyring, error) {
	if _, ok := keys[current]; !ok {
		return nil, fmt.Errorf("seal: current key %d is not in the ring", current)
	}
	k := &Keyring{current: current, aeads: make(map[uint32]cipher.AEAD, len(keys)), raw: make(map[uint32][]byte, len(keys))}
	for id, key := range keys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("seal: key %d is %d bytes, want %d", id, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("seal: key %d: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: key %d: %w", id, err)
		}
		k.aeads[id] = aead
		k.raw[id] = append([]byte(nil), key...)
	}
	return k, nil
}

// Current is the id of the key that seals.
func (k *Keyring) Current() uint32 { return k.current }

// Has reports whether the ring holds the key with this id.
func (k *Keyring) Has(id uint32) bool { _, ok := k.aeads[id]; return ok }

// Keys returns copies of the ring's keys by id. Stores use it once, to keep
// the keys that sealed values before data keys existed (wrapped by the
// master key) so those values stay readable after the master key changes.
func (k *Keyring) Keys() map[uint32][]byte {
	out := make(map[uint32][]byte, len(k.raw))
	for id, key := range k.raw {
		out[id] = append([]byte(nil), key...)
	}
	return out
}

// KeyID returns the id of the key a sealed value was sealed with.
func KeyID(sealed []byte) (uint32, bool) {
	if len(sealed) < 5 || sealed[0] != version {
		return 0, false
	}
	return binary.BigEndian.Uint32(sealed[1:5]), true
}

// NewKey returns a random AES-256 key.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("seal: new key: %w", err)
	}
	return key, nil
}

// Seal encrypts plaintext: version | key id (4 bytes) | nonce | ciphertext+tag.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	aead := k.aeads[k.current]
	out := make([]byte, 5+aead.NonceSize(), 5+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = version
	binary.BigEndian.PutUint32(out[1:5], k.current)
	if _, err := rand.Read(out[5:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, out[5:], plaintext, aad), nil
}

// Open decrypts a value made by Seal with any key of the ring.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 5 || sealed[0] != version {
		return nil, ErrOpen
	}
	aead, ok := k.aeads[binary.BigEndian.Uint32(sealed[1:5])]
	if !ok || len(sealed) < 5+aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	nonce := sealed[5 : 5+aead.NonceSize()]
	pt, err := aead.Open(nil, nonce, sealed[5+aead.NonceSize():], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// LoadOrCreateKeyFile reads a base64 key from path, creating the file with a
// new random key (mode 0600) when it does not exist.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return ParseKey(string(b))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("seal: read key: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("seal: new key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("seal: key dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("seal: create key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal: write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal: sync key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("seal: close key file: %w", err)
	}
	return key, nil
}

// ParseKey decodes a base64 (standard or URL alphabet) 32-byte key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("seal: key is %d bytes, want %d", len(key), KeySize)
			}
			return key, nil
		}
	}
	return nil, errors.New("seal: key is not base64")
}
