package signingkey

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAndReadPair(t *testing.T) {
	dir := t.TempDir()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	privPath, pubPath := filepath.Join(dir, "release.key"), filepath.Join(dir, "release.pub")
	if err := WritePair(privPath, pubPath, priv, "release key, held by IT"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(privPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode: got %v, %v, want 0600", fi.Mode().Perm(), err)
	}
	got, err := ReadPrivate(privPath)
	if err != nil || !got.Equal(priv) {
		t.Errorf("ReadPrivate: got %v, %v, want the key written", got, err)
	}
	keys, err := ReadPublic(pubPath)
	if err != nil || len(keys) != 1 || !keys[0].Equal(priv.Public()) {
		t.Errorf("ReadPublic: got %v, %v, want the public half", keys, err)
	}
	if err := WritePair(privPath, pubPath, priv, ""); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second WritePair: got %v, want a refusal to replace the key", err)
	}
}

func TestReadPrivateRefusesReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	if err := WritePair(path, path+".pub", priv, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPrivate(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("got %v, want a refusal naming chmod 600", err)
	}
}

func TestParsePublic(t *testing.T) {
	a := FormatPublic(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey), "old")
	b := FormatPublic(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32)).Public().(ed25519.PublicKey), "")
	tests := []struct {
		name    string
		data    string
		want    int
		wantErr string
	}{
		{"two keys and a comment", "# release keys\n" + string(a) + "\n" + string(b), 2, ""},
		{"empty", "# nothing\n", 0, "no public keys"},
		{"private key pasted", PrivatePrefix + " AAAA\n", 0, "trust:1:"},
		{"short key", PublicPrefix + " AAAA\n", 0, "trust:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParsePublic("trust", []byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(keys) != tt.want {
				t.Errorf("got %d keys, %v, want %d", len(keys), err, tt.want)
			}
		})
	}
}
