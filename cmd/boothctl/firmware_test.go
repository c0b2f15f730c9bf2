package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/signingkey"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/store"
)

// inDir runs boothctl with its config in dir and extra environment.
func inDir(dir string, vars map[string]string) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		all := map[string]string{"HOME": dir, "XDG_CONFIG_HOME": dir}
		for k, v := range vars {
			all[k] = v
		}
		var out bytes.Buffer
		err := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(k string) string { return all[k] }})
		return out.String(), err
	}
}

// signed makes a key with keygen and a bundle of a build tree with sign, returning the
// key's path and the bundle's.
func signed(t *testing.T, boothctl func(...string) (string, error), dir, version string) (key, out string) {
	t.Helper()
	key = filepath.Join(dir, "release.key")
	if _, err := os.Stat(key); err != nil {
		if out, err := boothctl("firmware", "keygen", "--out", key, "--comment", "test key"); err != nil {
			t.Fatalf("keygen: %v: %s", err, out)
		}
	}
	build := filepath.Join(dir, "build-"+version)
	must(t, os.MkdirAll(filepath.Join(build, "bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(build, "bin", "boothd"), []byte("boothd "+version), 0o755))
	out = filepath.Join(dir, "boothd-"+version+".tar")
	if o, err := boothctl("firmware", "sign", "--key", key, "--version", version, "--target", "linux/arm64:rpi4", "--out", out, build); err != nil {
		t.Fatalf("sign: %v: %s", err, o)
	}
	return key, out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestFirmwareKeygenAndSign(t *testing.T) {
	dir := t.TempDir()
	boothctl := inDir(dir, nil)
	key, out := signed(t, boothctl, dir, "1.2.0")
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: got %v, %v, want mode 0600", fi.Mode(), err)
	}
	pub, err := signingkey.ReadPublic(key + ".pub")
	must(t, err)
	f, err := os.Open(out)
	must(t, err)
	defer f.Close()
	fi, _ := f.Stat()
	m, err := bundle.Verify(f, fi.Size(), pub, bundle.Policy{Target: bundle.Target{Platform: "linux/arm64", Board: "rpi4"}, Running: "1.1.0"})
	if err != nil || m.Version != "1.2.0" || len(m.Files) != 1 || m.Files[0].Path != "bin/boothd" || m.Files[0].Mode != "0755" {
		t.Fatalf("the signed bundle: got %+v, %v, want 1.2.0 holding bin/boothd 0755, trusted by the .pub key", m, err)
	}
	if o, err := boothctl("firmware", "keygen", "--out", key); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("keygen over an existing key: got %v %q, want it refused", err, o)
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, ".bundle-*")); len(ents) != 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestFirmwareSignRefusals(t *testing.T) {
	dir := t.TempDir()
	boothctl := inDir(dir, nil)
	key, _ := signed(t, boothctl, dir, "1.0.0")
	build := filepath.Join(dir, "build-1.0.0")
	out := filepath.Join(dir, "x.tar")
	tests := []struct {
		name  string
		args  []string
		usage bool
		says  string
	}{
		{"no version", []string{"--key", key, "--target", "linux/arm64", "--out", out, build}, true, "--version"},
		{"bad version", []string{"--key", key, "--version", "one", "--target", "linux/arm64", "--out", out, build}, true, `"one"`},
		{"bad target", []string{"--key", key, "--version", "1.0.0", "--target", "arm64", "--out", out, build}, true, "GOOS/GOARCH"},
		{"a file", []string{"--key", key, "--version", "1.0.0", "--target", "linux/arm64", "--out", out, filepath.Join(build, "bin", "boothd")}, false, "directory"},
		{"public key", []string{"--key", key + ".pub", "--version", "1.0.0", "--target", "linux/arm64", "--out", out, build}, false, "signing key"},
		{"no dir", []string{"--key", key, "--version", "1.0.0", "--target", "linux/arm64", "--out", out}, true, "DIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := boothctl(append([]string{"firmware", "sign"}, tt.args...)...)
			var ue *usageError
			if err == nil || errors.As(err, &ue) != tt.usage || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v (%q), want a refusal (usage error %v) saying %q", err, o, tt.usage, tt.says)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a bundle was written after a refusal")
			}
		})
	}
}

// firmwareSwitchboard is a switchboard trusting the key in pubPath, with the fleet
// admin "fleet" logged in through boothctl, and a booth.
func firmwareSwitchboard(t *testing.T, dir string, pub []ed25519.PublicKey) (boothctl func(...string) (string, error), admin *apiclient.Client, booth *apiclient.Client, boothID string) {
	t.Helper()
	st := store.NewMemory()
	hash, err := switchboard.HashPassword("fleet password 1", bcrypt.MinCost)
	must(t, err)
	must(t, st.CreateClinician(&store.Clinician{Username: "fleet", Name: "Fleet IT", Admin: true, PasswordHash: hash}))
	srv, err := switchboard.New(switchboard.Config{BcryptCost: bcrypt.MinCost,
		Firmware: switchboard.FirmwareConfig{Dir: filepath.Join(t.TempDir(), "firmware"), TrustedKeys: pub}}, switchboard.Deps{Store: st})
	must(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close() })
	anon, err := apiclient.New(ts.URL, "", nil)
	must(t, err)
	l, err := anon.Login(context.Background(), "fleet", "fleet password 1")
	must(t, err)
	admin = anon.WithToken(l.Token)
	c, err := admin.CreateClinic(context.Background(), "Riverside", "1")
	must(t, err)
	d, tok, err := admin.CreateDevice(context.Background(), "booth-1", c.ID, "booth")
	must(t, err)
	booth = anon.WithToken(tok)
	return inDir(dir, map[string]string{"CAREBOOTH_SERVER": ts.URL, "CAREBOOTH_TOKEN": l.Token}), admin, booth, d.ID
}

func TestFirmwarePublishStatusPause(t *testing.T) {
	dir := t.TempDir()
	key, out := signed(t, inDir(dir, nil), dir, "1.2.0")
	pub, err := signingkey.ReadPublic(key + ".pub")
	must(t, err)
	boothctl, _, booth, boothID := firmwareSwitchboard(t, dir, pub)

	o, err := boothctl("firmware", "publish", out, "--devices", boothID, "--notes", "camera fix", "--json")
	if err != nil {
		t.Fatalf("publish: %v: %s", err, o)
	}
	var rel api.Release
	must(t, json.Unmarshal([]byte(o), &rel))
	if rel.Version != "1.2.0" || rel.Phase != "canary" || rel.Notes != "camera fix" {
		t.Fatalf("publish --json: got %+v", rel)
	}
	a, ok, err := booth.FirmwareAnnouncement(context.Background())
	if err != nil || !ok || a.ReleaseID != rel.ID {
		t.Fatalf("the canary's announcement: got %+v, %v, %v", a, ok, err)
	}
	must(t, booth.ReportFirmware(context.Background(), rel.ID, apiclient.FirmwareReport{Stage: "downloading", Percent: 40}))

	o, err = boothctl("firmware", "status")
	if err != nil || !strings.Contains(o, rel.ID) || !strings.Contains(o, "1.2.0") || !strings.Contains(o, "downloading 1") {
		t.Errorf("status: got %v\n%s\nwant the release with one booth downloading", err, o)
	}
	o, err = boothctl("firmware", "status", rel.ID)
	if err != nil || !strings.Contains(o, "camera fix") || !strings.Contains(o, "downloading 40%") || !strings.Contains(o, "canary") {
		t.Errorf("status RELEASE: got %v\n%s\nwant the notes, the canary ring and the booth at 40%%", err, o)
	}
	o, err = boothctl("firmware", "pause", rel.ID)
	if err != nil || !strings.Contains(o, "paused: paused by fleet") {
		t.Errorf("pause: got %v %q", err, o)
	}
	o, err = boothctl("firmware", "resume", rel.ID)
	if err != nil || !strings.Contains(o, "canary") {
		t.Errorf("resume: got %v %q", err, o)
	}
	if _, err := boothctl("firmware", "pause", "nope"); err == nil || !strings.Contains(err.Error(), `no firmware release "nope"`) {
		t.Errorf("pause an unknown release: got %v", err)
	}
}

func TestFirmwarePublishRefused(t *testing.T) {
	dir := t.TempDir()
	_, out := signed(t, inDir(dir, nil), dir, "1.2.0")
	// The switchboard trusts another key.
	other, _, err := ed25519.GenerateKey(nil)
	must(t, err)
	boothctl, _, _, _ := firmwareSwitchboard(t, dir, []ed25519.PublicKey{other})
	o, err := boothctl("firmware", "publish", out)
	if err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("publish with an untrusted key: got %v %q, want the signature named", err, o)
	}
	if _, err := boothctl("firmware", "publish", out, "--canary", "10", "--devices", "x"); err == nil {
		t.Error("--canary with --devices: got nil error")
	}
	o, err = boothctl("firmware", "status")
	if err != nil || strings.Contains(o, "1.2.0") {
		t.Errorf("status after a refusal: got %v %q, want no release", err, o)
	}
}
