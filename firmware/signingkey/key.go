package signingkey

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/carebooth/carebooth/atomicfile"
)

// The first word of each key file's line.
const (
	PublicPrefix  = "carebooth-firmware-ed25519"
	PrivatePrefix = "carebooth-firmware-ed25519-private"
)

// Generate makes a new key pair from rand (crypto/rand.Reader outside tests).
func Generate(rand io.Reader) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("generate signing key: %w", err)
	}
	return pub, priv, nil
}

// FormatPublic returns pub as a line of a trust file, with an optional comment (one
// line, such as who holds the private half).
func FormatPublic(pub ed25519.PublicKey, comment string) []byte {
	line := PublicPrefix + " " + base64.StdEncoding.EncodeToString(pub)
	if c := strings.Join(strings.Fields(comment), " "); c != "" {
		line += " " + c
	}
	return []byte(line + "\n")
}

// ParsePublic reads every public key of a trust file; name is used in errors.
func ParsePublic(name string, data []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if f[0] != PublicPrefix || len(f) < 2 {
			return nil, fmt.Errorf("%s:%d: want %q and a base64 key; is this a private key or another kind of key?", name, i+1, PublicPrefix)
		}
		k, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%s:%d: the key is not %d bytes of base64; copy the line from the .pub file boothctl firmware keygen wrote", name, i+1, ed25519.PublicKeySize)
		}
		keys = append(keys, ed25519.PublicKey(k))
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no public keys in it", name)
	}
	return keys, nil
}

// ReadPublic reads the trust file at path.
func ReadPublic(path string) ([]ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trusted keys: %w", err)
	}
	return ParsePublic(path, data)
}

// WritePair writes priv to privPath (0600) and its public half to pubPath (0644). It
// refuses to replace an existing private key: a lost release key cannot be recovered.
func WritePair(privPath, pubPath string, priv ed25519.PrivateKey, comment string) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("write %s: the private key is %d bytes, want %d", privPath, len(priv), ed25519.PrivateKeySize)
	}
	if _, err := os.Lstat(privPath); err == nil {
		return fmt.Errorf("write %s: it already exists; move it away first if you mean to replace the release key", privPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", privPath, err)
	}
	line := PrivatePrefix + " " + base64.StdEncoding.EncodeToString(priv.Seed()) + "\n"
	if err := atomicfile.Write(privPath, []byte(line), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(pubPath, FormatPublic(priv.Public().(ed25519.PublicKey), comment), 0o644)
}

// ReadPrivate reads the private key at path, refusing one others may read.
func ReadPrivate(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("read signing key %s: mode %04o lets others read it; chmod 600 %s (and consider the key exposed)", path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	f := strings.Fields(string(bytes.TrimSpace(data)))
	if len(f) != 2 || f[0] != PrivatePrefix {
		return nil, fmt.Errorf("read signing key %s: want one line %q and a base64 seed", path, PrivatePrefix)
	}
	seed, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("read signing key %s: the seed is not %d bytes of base64", path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
