package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpenRoundTrip(t *testing.T) {
	k, err := NewKeyring(key(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range []string{"", "hello", "你好，我的订单在哪里？"} {
		s, err := k.Seal([]byte(pt), []byte("aad"))
		if err != nil {
			t.Fatalf("Seal(%q): %v", pt, err)
		}
		if pt != "" && bytes.Contains(s, []byte(pt)) {
			t.Errorf("Seal(%q) output contains the plaintext", pt)
		}
		got, err := k.Open(s, []byte("aad"))
		if err != nil || string(got) != pt {
			t.Errorf("Open(Seal(%q)) = %q, %v; want the plaintext", pt, got, err)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	k, _ := NewKeyring(key(1))
	other, _ := NewKeyring(key(2))
	s, _ := k.Seal([]byte("secret"), []byte("a"))
	tampered := append([]byte(nil), s...)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name   string
		ring   *Keyring
		sealed []byte
		aad    string
	}{
		{"wrong aad", k, s, "b"},
		{"tampered", k, tampered, "a"},
		{"truncated", k, s[:10], "a"},
		{"empty", k, nil, "a"},
		{"unknown key id", other, s, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.ring.Open(tt.sealed, []byte(tt.aad)); !errors.Is(err, ErrOpen) {
				t.Errorf("Open = %v, want ErrOpen", err)
			}
		})
	}
}

func TestRotationKeepsOldValuesReadable(t *testing.T) {
	old, _ := NewKeyring(key(1))
	s, _ := old.Seal([]byte("before rotation"), nil)
	rotated, err := NewKeyring(key(1), key(2))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(s, nil); err != nil || string(got) != "before rotation" {
		t.Errorf("rotated.Open(old) = %q, %v", got, err)
	}
	s2, _ := rotated.Seal([]byte("after"), nil)
	if _, err := old.Open(s2, nil); !errors.Is(err, ErrOpen) {
		t.Errorf("old ring opened a value sealed with the new key: %v", err)
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "master.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("second load = %x, %v; want the same key %x", k2, err, k1)
	}
	if _, err := ParseKey("c2hvcnQ="); err == nil {
		t.Error("ParseKey accepted a 5-byte key")
	}
}
