// Package bundletest makes signed firmware bundles for tests of the packages that publish,
// serve and install them.
package bundletest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"testing/fstest"
	"time"

	"github.com/carebooth/carebooth/firmware/bundle"
)

// Key returns a new signing key pair.
func Key(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// Make returns a bundle of version for target holding files (path -> content, mode
// 0755), signed with key.
func Make(t testing.TB, key ed25519.PrivateKey, version string, target bundle.Target, files map[string]string) []byte {
	t.Helper()
	fsys := fstest.MapFS{}
	for p, c := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(c), Mode: 0o755}
	}
	var buf bytes.Buffer
	m := bundle.Manifest{Version: version, Target: target, Created: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	if _, err := bundle.Sign(&buf, fsys, m, key); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
