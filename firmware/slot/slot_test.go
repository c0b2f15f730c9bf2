package slot

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/jonboulle/clockwork"
)

var (
	testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	target  = bundle.Target{Platform: "linux/arm64", Board: "rpi4"}
	// Two releases whose file sets differ, so that a slot holding a mix of them, or a
	// part of one, is noticed.
	releases = map[string]fstest.MapFS{
		"1.0.0": {
			"bin/boothd":     {Data: []byte("boothd 1.0.0\n"), Mode: 0o755},
			"share/old.txt":  {Data: []byte("only in 1.0.0\n"), Mode: 0o644},
			"share/motd.txt": {Data: []byte("hello from 1.0.0\n"), Mode: 0o644},
		},
		"2.0.0": {
			"bin/boothd":         {Data: bytes.Repeat([]byte("boothd 2.0.0\n"), 1000), Mode: 0o755},
			"share/motd.txt":     {Data: []byte("hello from 2.0.0\n"), Mode: 0o644},
			"share/new/data.bin": {Data: bytes.Repeat([]byte{9}, 5000), Mode: 0o600},
		},
	}
)

// stage signs release version and extracts it into a staging directory.
func stage(t testing.TB, version string) *bundle.Staged {
	t.Helper()
	var b bytes.Buffer
	if _, err := bundle.Sign(&b, releases[version], bundle.Manifest{Version: version, Target: target, Created: time.Unix(0, 0)}, testKey); err != nil {
		t.Fatal(err)
	}
	st, err := bundle.Extract(filepath.Join(t.TempDir(), "staging"), &b, int64(b.Len()),
		[]ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}, bundle.Policy{Target: target, AllowDowngrade: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

type checkFunc func(ctx context.Context) error

func (f checkFunc) Run(ctx context.Context) error { return f(ctx) }

var (
	passes    = checkFunc(func(context.Context) error { return nil })
	noCamera  = checkFunc(func(context.Context) error { return errors.New("camera: open /dev/video0: no such device") })
	testClock = clockwork.NewFakeClockAt(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
)

type device struct {
	dirs *Dirs
	m    *Manager
}

func newDevice(t testing.TB, dir string) device {
	t.Helper()
	dev, err := openDevice(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

func openDevice(dir string) (device, error) {
	d, err := NewDirs(filepath.Join(dir, "slots"))
	if err != nil {
		return device{}, err
	}
	m, err := New(Config{StatePath: filepath.Join(dir, "slots.json"), Switcher: d, Store: d, MaxTries: 3, Clock: testClock})
	return device{d, m}, err
}

// committed returns a device running release 1.0.0, committed, in slot b.
func committed(t testing.TB, dir string, v1 *bundle.Staged) device {
	t.Helper()
	dev := newDevice(t, dir)
	mustBoot(t, dev.m)
	if _, err := dev.m.Install(v1); err != nil {
		t.Fatal(err)
	}
	mustBoot(t, dev.m)
	if _, err := dev.m.Confirm(context.Background(), passes); err != nil {
		t.Fatal(err)
	}
	return dev
}

func mustBoot(t testing.TB, m *Manager) Decision {
	t.Helper()
	d, err := m.Boot()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkRuns checks that the slot the link names holds exactly release version.
func checkRuns(t testing.TB, dev device, version string) {
	t.Helper()
	booted, err := dev.dirs.Booted()
	if err != nil {
		t.Fatal(err)
	}
	if err := sameFiles(dev.dirs.Dir(booted), releases[version]); err != nil {
		t.Fatalf("slot %s: %v, want exactly release %s", booted, err, version)
	}
}

func sameFiles(dir string, want fstest.MapFS) error {
	got := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[rel] = true
		w, ok := want[rel]
		if !ok {
			return errors.New("holds " + rel + ", not in the release")
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		if !bytes.Equal(data, w.Data) || info.Mode().Perm() != w.Mode.Perm() {
			return errors.New(rel + " differs from the release's")
		}
		return nil
	})
	if err != nil {
		return err
	}
	for p := range want {
		if !got[p] {
			return errors.New("lacks " + p)
		}
	}
	return nil
}

func TestInstallCommit(t *testing.T) {
	v1, v2 := stage(t, "1.0.0"), stage(t, "2.0.0")
	dev := committed(t, t.TempDir(), v1)
	checkRuns(t, dev, "1.0.0")

	d, err := dev.m.Install(v2)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Restart || !d.Trying || d.Slot != A {
		t.Errorf("install: got %+v, want a restart into slot a on trial", d)
	}
	d = mustBoot(t, dev.m)
	if !d.Trying || d.Restart || d.Version != "2.0.0" {
		t.Errorf("boot: got %+v, want 2.0.0 on trial, already running", d)
	}
	checkRuns(t, dev, "2.0.0")
	if d, err = dev.m.Confirm(context.Background(), passes); err != nil || d.Trying || d.RolledBack != nil {
		t.Fatalf("confirm: got %+v, %v, want committed", d, err)
	}
	st, _ := dev.m.State()
	if st.Active != A || st.Trying != "" || st.Slots[A].Version != "2.0.0" || st.LastError != nil {
		t.Errorf("state: got %+v, want 2.0.0 committed in a", st)
	}
	d = mustBoot(t, dev.m)
	if d.Trying || d.Restart || d.Version != "2.0.0" {
		t.Errorf("next boot: got %+v, want 2.0.0, committed", d)
	}
}

func TestRollback(t *testing.T) {
	v1, v2 := stage(t, "1.0.0"), stage(t, "2.0.0")
	tests := []struct {
		name   string
		start  func(t *testing.T, dev device) Decision // from the install to the rollback
		reason string
	}{
		{"a failed health check", func(t *testing.T, dev device) Decision {
			mustBoot(t, dev.m)
			d, err := dev.m.Confirm(context.Background(), noCamera)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}, "health check failed: camera: open /dev/video0"},
		{"a crash loop", func(t *testing.T, dev device) Decision {
			for i := 0; i < 3; i++ {
				if d := mustBoot(t, dev.m); !d.Trying {
					t.Fatalf("start %d: got %+v, want still on trial", i+1, d)
				}
				// ...and the release crashes before its checks finish.
			}
			return mustBoot(t, dev.m)
		}, "3 starts without passing its health checks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := committed(t, t.TempDir(), v1)
			if _, err := dev.m.Install(v2); err != nil {
				t.Fatal(err)
			}
			d := tt.start(t, dev)
			if d.RolledBack == nil || !strings.Contains(d.RolledBack.Reason, tt.reason) || d.RolledBack.Version != "2.0.0" {
				t.Fatalf("got %+v, want 2.0.0 rolled back for %q", d.RolledBack, tt.reason)
			}
			if !d.Restart || d.Slot != B || d.Trying {
				t.Errorf("decision: got %+v, want a restart into the committed slot b", d)
			}
			checkRuns(t, dev, "1.0.0")
			st, _ := dev.m.State()
			if st.Trying != "" || st.LastError == nil || !strings.Contains(st.LastError.String(), tt.reason) {
				t.Errorf("state: got %+v, want the failure recorded for the report", st)
			}
			if d := mustBoot(t, dev.m); d.Trying || d.Restart || d.Version != "1.0.0" {
				t.Errorf("next boot: got %+v, want 1.0.0 as before", d)
			}
		})
	}
}

func TestInstallWhileTrying(t *testing.T) {
	v1, v2 := stage(t, "1.0.0"), stage(t, "2.0.0")
	dev := committed(t, t.TempDir(), v1)
	if _, err := dev.m.Install(v2); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.m.Install(v2); !errors.Is(err, ErrBusy) {
		t.Errorf("got %v, want ErrBusy", err)
	}
}

// bootloader is a Switcher that behaves as the Pi's tryboot does: Try lasts one start,
// and fallBack makes the trial never come up, so each start is the committed slot.
type bootloader struct {
	committed, next, booted Name
	once                    bool
	fallBack                bool
}

func (b *bootloader) Booted() (Name, error) { return b.booted, nil }
func (b *bootloader) Try(n Name) error      { b.next, b.once = n, true; return nil }
func (b *bootloader) Commit(n Name) error   { b.committed = n; return nil }

// restart is a reboot: a tryboot start once, then the committed slot.
func (b *bootloader) restart() {
	b.booted = b.committed
	if b.once && !b.fallBack {
		b.booted = b.next
	}
	b.once = false
}

type nopStore struct{}

func (nopStore) Wipe(Name) error                  { return nil }
func (nopStore) Write(Name, *bundle.Staged) error { return nil }

// The same Manager drives a bootloader that tries once: a trial that comes up is
// committed; one whose every start ends in the committed slot is retried up to MaxTries
// times and then given up, without the committed slot ever leaving.
func TestTrybootBootloader(t *testing.T) {
	for _, fallBack := range []bool{false, true} {
		bl := &bootloader{committed: A, booted: A, fallBack: fallBack}
		m, err := New(Config{StatePath: filepath.Join(t.TempDir(), "s.json"), Switcher: bl, Store: nopStore{}, MaxTries: 3, Clock: testClock})
		if err != nil {
			t.Fatal(err)
		}
		mustBoot(t, m)
		d, err := m.Install(&bundle.Staged{Manifest: bundle.Manifest{Version: "2.0.0"}})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; d.Restart && i < 10; i++ {
			bl.restart()
			if d = mustBoot(t, m); d.Trying && !d.Restart {
				if d, err = m.Confirm(context.Background(), passes); err != nil {
					t.Fatal(err)
				}
			}
			if !fallBack && bl.booted != B && !d.Restart {
				t.Errorf("start %d: got slot %s, want the trial b", i, bl.booted)
			}
		}
		st, _ := m.State()
		switch {
		case !fallBack && (st.Active != B || bl.committed != B):
			t.Errorf("trial that comes up: got active %s, bootloader default %s, want b, b", st.Active, bl.committed)
		case fallBack && (st.Active != A || bl.committed != A || st.LastError == nil):
			t.Errorf("trial that never comes up: got active %s, default %s, failure %v, want a, a and a recorded failure", st.Active, bl.committed, st.LastError)
		}
	}
}

func TestStateFileRefused(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"newer schema", `{"schema": 2, "active": "a"}`, "newer than this build"},
		{"not JSON", `{"schema"`, "damaged"},
		{"unknown slot", `{"schema": 1, "active": "c"}`, "not a state this build wrote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dev := newDevice(t, dir)
			os.WriteFile(filepath.Join(dir, "slots.json"), []byte(tt.data), 0o644)
			if _, err := dev.m.Boot(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// An install is refused while the link names another slot than the committed one (a
// rollback's switch a kill left undone): it would wipe the slot that runs.
func TestInstallBeforeBootRepairs(t *testing.T) {
	v1, v2 := stage(t, "1.0.0"), stage(t, "2.0.0")
	dev := committed(t, t.TempDir(), v1)
	if err := dev.dirs.Commit(A); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.m.Install(v2); err == nil || !strings.Contains(err.Error(), "call Boot first") {
		t.Fatalf("got %v, want a refusal until Boot", err)
	}
	if d := mustBoot(t, dev.m); !d.Restart || d.Slot != B {
		t.Errorf("boot: got %+v, want a switch back to the committed b", d)
	}
	if _, err := dev.m.Install(v2); err != nil {
		t.Errorf("after Boot: got %v, want the install", err)
	}
}
