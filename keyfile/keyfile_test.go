package keyfile

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	if _, err := Read(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no file: got %v, want fs.ErrNotExist", err)
	}
	key, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %04o, want 0600", fi.Mode().Perm())
	}
	got, err := Read(path)
	if err != nil || !got.Equal(key) {
		t.Fatalf("Read: got %v, want the key written", err)
	}
}

func TestReadRefuses(t *testing.T) {
	r, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(r)
	for _, tc := range []struct {
		name, data string
		mode       os.FileMode
		want       string
	}{
		{"readable by others", "", 0o644, "chmod 600"},
		{"not PEM", "hello", 0o600, "not one PEM"},
		{"two blocks", "", 0o600, "not one PEM"},
		{"truncated", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER[:20]})), 0o600, "asn1"},
		{"an RSA key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER})), 0o600, "want an ed25519 key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.key")
			data := tc.data
			if data == "" {
				Create(path)
				b, _ := os.ReadFile(path)
				data = string(b)
				if tc.name == "two blocks" {
					data += data
				}
			}
			os.WriteFile(path, []byte(data), tc.mode)
			os.Chmod(path, tc.mode)
			_, err := Read(path)
			if tc.mode != 0o600 && !errors.Is(err, ErrReadable) {
				t.Errorf("got %v, want ErrReadable", err)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, path, tc.want)
			}
		})
	}
}
