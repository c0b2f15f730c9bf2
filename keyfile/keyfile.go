// Package keyfile reads and writes the ed25519 private keys Carebooth keeps on disk (a
// device's identity key, the switchboard's CA key): PEM "PRIVATE KEY" (PKCS #8, RFC
// 8410), written with atomicfile and mode 0600, and refused when other users may read
// the file or it holds anything but one ed25519 key. A refused key is never replaced
// here: the caller says what replacing it would cost.
package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/carebooth/carebooth/atomicfile"
)

// ErrReadable matches the error Read returns for a key file other users may read.
var ErrReadable = errors.New("other users may read it")

// Read returns the key in path. A missing file is an error matching fs.ErrNotExist;
// every other error names the file and what is wrong.
func Read(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&0o077 != 0 {
		return nil, fmt.Errorf("key %s: mode %04o: %w; run chmod 600 %s", path, fi.Mode().Perm(), ErrReadable, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	key, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return key, nil
}

// Parse reads one PEM "PRIVATE KEY" block holding an ed25519 key.
func Parse(data []byte) (ed25519.PrivateKey, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New(`not one PEM "PRIVATE KEY" block`)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, want an ed25519 key", k)
	}
	return key, nil
}

// Create makes a new key and writes it to path (mode 0600, atomically).
func Create(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	if err := atomicfile.Write(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	return key, nil
}
