package slot_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"testing/fstest"
	"time"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/health"
	"github.com/carebooth/carebooth/firmware/slot"
)

// A booth's life with a new release, in development slots: a checked bundle is installed
// into the other slot, the next start tries it, and its health checks commit it.
func ExampleManager() {
	tmp, err := os.MkdirTemp("", "slot-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)

	// A signed 1.1.0, checked and staged (package bundle).
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))
	target := bundle.Target{Platform: "linux/arm64", Board: "rpi4"}
	var b bytes.Buffer
	files := fstest.MapFS{"bin/boothd": {Data: []byte("boothd 1.1.0"), Mode: 0o755}}
	bundle.Sign(&b, files, bundle.Manifest{Version: "1.1.0", Target: target, Created: time.Unix(0, 0)}, key)
	staged, err := bundle.Extract(filepath.Join(tmp, "staging"), &b, int64(b.Len()),
		[]ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, bundle.Policy{Target: target, Running: "1.0.0"})
	if err != nil {
		fmt.Println(err)
		return
	}

	dirs, err := slot.NewDirs(filepath.Join(tmp, "slots"))
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := slot.New(slot.Config{StatePath: filepath.Join(tmp, "slots.json"), Switcher: dirs, Store: dirs})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, _ := m.Boot()
	fmt.Println("start: slot", d.Slot)
	d, err = m.Install(staged)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("installed", d.Version, "in slot", d.Slot, "restart:", d.Restart)

	// The restart: boothd starts from slots/current, now slot b.
	d, _ = m.Boot()
	fmt.Println("start: slot", d.Slot, "trying:", d.Trying)
	checks, _ := health.NewRunner(nil, nil, health.Check{Name: "screen", Timeout: time.Second, Run: func(context.Context) error { return nil }})
	d, err = m.Confirm(context.Background(), checks)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("committed", d.Version, "in slot", d.Slot)
	// Output:
	// start: slot a
	// installed 1.1.0 in slot b restart: true
	// start: slot b trying: true
	// committed 1.1.0 in slot b
}
