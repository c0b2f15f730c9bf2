package update_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/bundle/bundletest"
	"github.com/carebooth/carebooth/firmware/release"
	"github.com/carebooth/carebooth/firmware/slot"
	"github.com/carebooth/carebooth/firmware/update"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/store"
)

var target = bundle.Target{Platform: "linux/arm64", Board: "rpi4"}

// fleet is a real switchboard trusting one key, whose bundle downloads can be cut.
type fleet struct {
	t     *testing.T
	url   string
	admin *apiclient.Client
	priv  ed25519.PrivateKey
	pub   ed25519.PublicKey
	// cuts is how many bundle responses still to cut halfway.
	cuts     atomic.Int32
	bundles  atomic.Int32 // bundle requests served
	clinicID string
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	f := &fleet{t: t}
	f.pub, f.priv = bundletest.Key(t)
	st := store.NewMemory()
	hash, err := switchboard.HashPassword("fleet password 1", bcrypt.MinCost)
	must(t, err)
	must(t, st.CreateClinician(&store.Clinician{Username: "fleet", Name: "Fleet IT", Admin: true, PasswordHash: hash}))
	srv, err := switchboard.New(switchboard.Config{BcryptCost: bcrypt.MinCost,
		Firmware: switchboard.FirmwareConfig{Dir: filepath.Join(t.TempDir(), "firmware"), TrustedKeys: []ed25519.PublicKey{f.pub}}},
		switchboard.Deps{Store: st})
	must(t, err)
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/bundle") {
			f.bundles.Add(1)
			if f.cuts.Add(-1) >= 0 {
				h.ServeHTTP(&cutWriter{ResponseWriter: w, left: 700}, r)
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); ts.Close() })
	f.url = ts.URL
	anon, err := apiclient.New(ts.URL, "", nil)
	must(t, err)
	l, err := anon.Login(context.Background(), "fleet", "fleet password 1")
	must(t, err)
	f.admin = anon.WithToken(l.Token)
	c, err := f.admin.CreateClinic(context.Background(), "Riverside", "01632 960 123")
	must(t, err)
	f.clinicID = c.ID
	return f
}

// cutWriter passes on the first left bytes of the body and then fails the connection, as
// a dropped link does.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if c.left <= 0 {
		panic(http.ErrAbortHandler)
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	c.left -= len(p)
	n, err := c.ResponseWriter.Write(p)
	if c.left <= 0 {
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	return n, err
}

func (f *fleet) publish(version string, opt apiclient.PublishOptions) apiclient.Release {
	f.t.Helper()
	b := bundletest.Make(f.t, f.priv, version, target, map[string]string{"bin/boothd": "boothd " + version, "VERSION": version})
	r, err := f.admin.PublishFirmware(context.Background(), strings.NewReader(string(b)), int64(len(b)), opt)
	must(f.t, err)
	return r
}

func (f *fleet) release(id string) apiclient.Release {
	f.t.Helper()
	r, err := f.admin.Release(context.Background(), id)
	must(f.t, err)
	return r
}

// booth is one device: its credentials, its state directory and its slots.
type booth struct {
	t     *testing.T
	f     *fleet
	id    string
	sb    *apiclient.Client
	hc    *http.Client
	dir   string
	slots *slot.Dirs
}

func (f *fleet) booth(name string) *booth {
	f.t.Helper()
	d, tok, err := f.admin.CreateDevice(context.Background(), name, f.clinicID, "booth")
	must(f.t, err)
	sb, err := apiclient.New(f.url, tok, nil)
	must(f.t, err)
	dir := f.t.TempDir()
	slots, err := slot.NewDirs(filepath.Join(dir, "slots"))
	must(f.t, err)
	return &booth{t: f.t, f: f, id: d.ID, sb: sb, hc: update.BearerClient(nil, tok), dir: dir, slots: slots}
}

// start is one start of boothd running version: a new Manager and Updater, as after a
// restart.
func (b *booth) start(running string) *update.Updater {
	b.t.Helper()
	m, err := slot.New(slot.Config{StatePath: filepath.Join(b.dir, "slots.json"), Switcher: b.slots, Store: b.slots})
	must(b.t, err)
	u, err := update.New(update.Config{Target: target, Running: running, Keys: []ed25519.PublicKey{b.f.pub}, Dir: filepath.Join(b.dir, "firmware")},
		update.Deps{Switchboard: b.sb, HTTP: b.hc, Slots: m})
	must(b.t, err)
	return u
}

func (b *booth) announcement() (release.Announcement, bool) {
	b.t.Helper()
	a, ok, err := b.sb.FirmwareAnnouncement(context.Background())
	must(b.t, err)
	return a, ok
}

func (b *booth) progress(r apiclient.Release) (release.Stage, string) {
	for _, d := range r.Devices {
		if d.DeviceID == b.id {
			return d.Stage, d.Reason
		}
	}
	return "", ""
}

type checks func(context.Context) error

func (c checks) Run(ctx context.Context) error { return c(ctx) }

var healthy = checks(func(context.Context) error { return nil })

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestEndToEnd: a release is published, announced, downloaded (the first transfer cut
// halfway and resumed), verified, installed into the other slot, "restarted" into (a new
// Manager), health checked, committed and reported; the switchboard shows it committed.
func TestEndToEnd(t *testing.T) {
	f := newFleet(t)
	b := f.booth("booth-1")
	ctx := context.Background()
	u := b.start("1.0.0")
	must(t, u.Start(ctx, healthy))

	rel := f.publish("1.1.0", apiclient.PublishOptions{Canaries: []string{b.id}})
	a, ok := b.announcement()
	if !ok || a.Version != "1.1.0" {
		t.Fatalf("announcement: got %+v, %v, want 1.1.0", a, ok)
	}
	f.cuts.Store(1)
	if err := u.Apply(ctx, a); !errors.Is(err, update.ErrRestart) {
		t.Fatalf("apply: got %v, want ErrRestart", err)
	}
	if n := f.bundles.Load(); n != 2 {
		t.Errorf("bundle requests: got %d, want 2 (cut, then resumed)", n)
	}
	if stage, _ := b.progress(f.release(rel.ID)); stage != release.StageInstalled {
		t.Errorf("after install: got stage %q, want installed", stage)
	}
	if got, err := os.ReadFile(filepath.Join(b.slots.Dir(slot.B), "bin/boothd")); err != nil || string(got) != "boothd 1.1.0" {
		t.Fatalf("slot b: got %q, %v, want the new boothd", got, err)
	}

	// The restart: boothd 1.1.0 starts from slot b.
	u = b.start("1.1.0")
	var checked bool
	must(t, u.Start(ctx, checks(func(context.Context) error { checked = true; return nil })))
	if !checked {
		t.Error("the release on trial was committed without its health checks")
	}
	got := f.release(rel.ID)
	if stage, _ := b.progress(got); stage != release.StageCommitted || got.Phase != "all" || got.Paused {
		t.Errorf("after the restart: got stage %q, phase %s, paused %v, want committed, all, running", stage, got.Phase, got.Paused)
	}
	if _, ok := b.announcement(); ok {
		t.Error("announced again after committing")
	}
	if _, err := os.Stat(filepath.Join(b.dir, "firmware", "pending.json")); !os.IsNotExist(err) {
		t.Errorf("pending record after the report: got %v, want it gone", err)
	}
}

// TestHealthFailureRollsBack: a release whose health check fails rolls back to the
// committed slot, says why, and the rollout pauses so the next booth is not announced it.
func TestHealthFailureRollsBack(t *testing.T) {
	f := newFleet(t)
	canary, other := f.booth("booth-1"), f.booth("booth-2")
	ctx := context.Background()
	u := canary.start("1.0.0")
	must(t, u.Start(ctx, healthy))
	rel := f.publish("1.1.0", apiclient.PublishOptions{Canaries: []string{canary.id}})
	if _, ok := other.announcement(); ok {
		t.Fatal("the non-canary was announced the release in its canary phase")
	}
	a, _ := canary.announcement()
	if err := u.Apply(ctx, a); !errors.Is(err, update.ErrRestart) {
		t.Fatalf("apply: got %v, want ErrRestart", err)
	}
	u = canary.start("1.1.0")
	err := u.Start(ctx, checks(func(context.Context) error { return errors.New("camera: open /dev/video0: no such device") }))
	if !errors.Is(err, update.ErrRestart) {
		t.Fatalf("start with a failing check: got %v, want ErrRestart (back to the committed slot)", err)
	}
	if booted, _ := canary.slots.Booted(); booted != slot.A {
		t.Errorf("after the rollback: got slot %s, want a", booted)
	}
	got := f.release(rel.ID)
	stage, reason := canary.progress(got)
	if stage != release.StageRolledBack || !strings.Contains(reason, "camera: open /dev/video0") {
		t.Errorf("report: got %q %q, want rolled_back naming the camera", stage, reason)
	}
	if !got.Paused || !strings.Contains(got.PausedReason, "camera") {
		t.Errorf("rollout: got paused %v %q, want paused by the canary's rollback", got.Paused, got.PausedReason)
	}
	if _, ok := other.announcement(); ok {
		t.Error("the non-canary was announced a paused release")
	}
	must(t, canary.start("1.0.0").Start(ctx, healthy)) // back on 1.0.0, nothing to do
}

// TestRefusals: what a booth refuses is reported with its reason, and nothing is
// installed.
func TestRefusals(t *testing.T) {
	tests := []struct {
		name    string
		running string
		publish apiclient.PublishOptions
		version string
		edit    func(*release.Announcement)
		want    error
		says    string
	}{
		{"downgrade", "1.2.0", apiclient.PublishOptions{}, "1.1.0", nil, bundle.ErrDowngrade, "not newer than the running 1.2.0"},
		{"same version", "1.1.0", apiclient.PublishOptions{}, "1.1.0", nil, bundle.ErrDowngrade, "not newer"},
		{"dev build", "dev", apiclient.PublishOptions{}, "1.1.0", nil, bundle.ErrDowngrade, "not a release version"},
		{"wrong target", "1.0.0", apiclient.PublishOptions{}, "1.1.0", func(a *release.Announcement) { a.Target.Board = "rpi5" }, bundle.ErrTarget, "rpi5"},
		{"wrong hash", "1.0.0", apiclient.PublishOptions{}, "1.1.0", func(a *release.Announcement) { a.SHA256 = strings.Repeat("0", 64) }, bundle.ErrHash, "SHA-256"},
		{"wrong size", "1.0.0", apiclient.PublishOptions{}, "1.1.0", func(a *release.Announcement) { a.Size-- }, bundle.ErrTruncated, "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFleet(t)
			b := f.booth("booth-1")
			ctx := context.Background()
			u := b.start(tt.running)
			must(t, u.Start(ctx, healthy))
			rel := f.publish(tt.version, tt.publish)
			a, ok := b.announcement()
			if !ok {
				t.Fatal("no announcement")
			}
			if tt.edit != nil {
				tt.edit(&a)
			}
			err := u.Apply(ctx, a)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("apply: got %v, want %v saying %q", err, tt.want, tt.says)
			}
			stage, reason := b.progress(f.release(rel.ID))
			if stage != release.StageRefused || !strings.Contains(reason, tt.says) {
				t.Errorf("report: got %q %q, want refused saying %q", stage, reason, tt.says)
			}
			if ents, _ := os.ReadDir(b.slots.Dir(slot.B)); len(ents) != 0 {
				t.Errorf("slot b holds %d entries after a refusal, want none", len(ents))
			}
		})
	}
}

// TestAllowDowngrade: a release published with --allow-downgrade installs over a newer
// version.
func TestAllowDowngrade(t *testing.T) {
	f := newFleet(t)
	b := f.booth("booth-1")
	u := b.start("1.2.0")
	must(t, u.Start(context.Background(), healthy))
	f.publish("1.1.0", apiclient.PublishOptions{AllowDowngrade: true})
	a, _ := b.announcement()
	if err := u.Apply(context.Background(), a); !errors.Is(err, update.ErrRestart) {
		t.Fatalf("apply: got %v, want ErrRestart", err)
	}
}

// TestWaitsForIdle: nothing is downloaded or installed while the booth is in a call.
func TestWaitsForIdle(t *testing.T) {
	f := newFleet(t)
	b := f.booth("booth-1")
	m, err := slot.New(slot.Config{StatePath: filepath.Join(b.dir, "slots.json"), Switcher: b.slots, Store: b.slots})
	must(t, err)
	u, err := update.New(update.Config{Target: target, Running: "1.0.0", Keys: []ed25519.PublicKey{f.pub}, Dir: filepath.Join(b.dir, "firmware")},
		update.Deps{Switchboard: b.sb, HTTP: b.hc, Slots: m, Idle: func() bool { return false }})
	must(t, err)
	must(t, u.Start(context.Background(), healthy))
	f.publish("1.1.0", apiclient.PublishOptions{})
	a, _ := b.announcement()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- u.Apply(ctx, a) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("apply during a call: got %v, want it to wait until cancelled", err)
	}
	if n := f.bundles.Load(); n != 0 {
		t.Errorf("bundle requests during a call: got %d, want 0", n)
	}
}
