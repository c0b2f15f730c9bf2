package bundle_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing/fstest"
	"time"

	"github.com/carebooth/carebooth/firmware/bundle"
)

// A release is signed with the release key; a booth that trusts its public half checks it
// and unpacks it into a staging directory, and refuses one altered on the way.
func ExampleSign() {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, ed25519.SeedSize))
	target := bundle.Target{Platform: "linux/arm64", Board: "rpi4"}
	files := fstest.MapFS{
		"bin/boothd": {Data: []byte("the daemon"), Mode: 0o755},
		"VERSION":    {Data: []byte("1.4.0\n"), Mode: 0o644},
	}
	var b bytes.Buffer
	if _, err := bundle.Sign(&b, files, bundle.Manifest{Version: "1.4.0", Target: target, Created: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}, key); err != nil {
		fmt.Println(err)
		return
	}

	tmp, err := os.MkdirTemp("", "bundle-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)
	trusted := []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	policy := bundle.Policy{Target: target, Running: "1.3.2"}
	st, err := bundle.Extract(filepath.Join(tmp, "staging"), bytes.NewReader(b.Bytes()), int64(b.Len()), trusted, policy)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("staged", st.Manifest.Version, "for", st.Manifest.Target)
	for _, f := range st.Manifest.Files {
		fmt.Println(f.Path, f.Size, f.Mode)
	}

	altered := bytes.Replace(b.Bytes(), []byte("the daemon"), []byte("the Daemon"), 1)
	_, err = bundle.Extract(filepath.Join(tmp, "again"), bytes.NewReader(altered), int64(len(altered)), trusted, policy)
	fmt.Println("altered bundle refused:", errors.Is(err, bundle.ErrHash))
	// Output:
	// staged 1.4.0 for linux/arm64 (rpi4)
	// VERSION 6 0644
	// bin/boothd 10 0755
	// altered bundle refused: true
}
