package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

var (
	testKey   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	otherKey  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	pi4       = Target{Platform: "linux/arm64", Board: "rpi4"}
	created   = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	trusted   = []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}
	policy    = Policy{Target: pi4, Running: "1.2.0", MaxSize: 1 << 20}
	testFiles = fstest.MapFS{
		"bin/boothd":       {Data: []byte("#!/bin/sh\necho boothd 1.3.0\n"), Mode: 0o755},
		"share/motd.txt":   {Data: []byte("welcome\n"), Mode: 0o644},
		"share/empty.conf": {Data: nil, Mode: 0o600},
	}
)

// signed builds a good bundle of testFiles at version.
func signed(t testing.TB, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Sign(&buf, testFiles, Manifest{Version: version, Target: pi4, Created: created}, testKey); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// entry is one archive entry of a hand-built bundle.
type entry struct {
	name string
	typ  byte
	data []byte
	link string
}

func archive(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Typeflag: typ, Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Linkname: e.link, ModTime: created}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write(e.data)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// manifestEntries returns the signed manifest and signature entries for raw manifest
// JSON, signed with key.
func manifestEntries(raw []byte, key ed25519.PrivateKey) []entry {
	return []entry{{name: ManifestName, data: raw}, {name: SignatureName, data: ed25519.Sign(key, raw)}}
}

func manifestJSON(t testing.TB, m Manifest) []byte {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// evil is a manifest of one file at path with content data, signed by the trusted key:
// only the device's own checks stand between it and the disk.
func evil(t testing.TB, path string, data []byte, typ byte) []byte {
	t.Helper()
	sum := sha(data)
	m := Manifest{Format: 1, Version: "9.0.0", Target: pi4, Created: created,
		Files: []File{{Path: path, Size: int64(len(data)), SHA256: sum, Mode: "0644"}}}
	raw := manifestJSON(t, m)
	return archive(t, append(manifestEntries(raw, testKey), entry{name: path, data: data, typ: typ, link: "/etc/passwd"})...)
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestExtractGood(t *testing.T) {
	for name, b := range map[string][]byte{"tar": signed(t, "1.3.0"), "tar.gz": gz(t, signed(t, "1.3.0"))} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "staging")
			st, err := Extract(dir, bytes.NewReader(b), int64(len(b)), trusted, policy)
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if st.Manifest.Version != "1.3.0" || len(st.Manifest.Files) != 3 {
				t.Errorf("manifest: got %+v, want version 1.3.0 with 3 files", st.Manifest)
			}
			for p, f := range testFiles {
				got, err := os.ReadFile(filepath.Join(dir, p))
				if err != nil || !bytes.Equal(got, f.Data) {
					t.Errorf("%s: got %q, %v, want %q", p, got, err, f.Data)
				}
				fi, _ := os.Stat(filepath.Join(dir, p))
				if fi.Mode().Perm() != f.Mode.Perm() {
					t.Errorf("%s mode: got %v, want %v", p, fi.Mode().Perm(), f.Mode.Perm())
				}
			}
			if !ed25519.Verify(trusted[0], st.ManifestJSON, st.Signature) {
				t.Error("Staged's manifest and signature: got a pair that does not verify, want the signed pair")
			}
		})
	}
}

func TestRefused(t *testing.T) {
	good := signed(t, "1.3.0")
	goodRaw := signedManifest(t, good)

	tamperedFile := bytes.Clone(good)
	i := bytes.Index(tamperedFile, []byte("echo boothd"))
	tamperedFile[i] = 'E'

	tamperedManifest := bytes.Clone(good)
	i = bytes.Index(tamperedManifest, []byte(`"1.3.0"`))
	copy(tamperedManifest[i:], `"9.3.0"`)

	unsigned := archive(t, entry{name: ManifestName, data: goodRaw}, entry{name: "bin/boothd", data: testFiles["bin/boothd"].Data})
	var otherSigned bytes.Buffer
	Sign(&otherSigned, testFiles, Manifest{Version: "1.3.0", Target: pi4, Created: created}, otherKey)
	var wrongBoard, wrongArch bytes.Buffer
	Sign(&wrongBoard, testFiles, Manifest{Version: "1.3.0", Target: Target{"linux/arm64", "rpi5"}, Created: created}, testKey)
	Sign(&wrongArch, testFiles, Manifest{Version: "1.3.0", Target: Target{"linux/amd64", "rpi4"}, Created: created}, testKey)

	var m Manifest
	json.Unmarshal(goodRaw, &m)
	unknownField := bytes.Replace(goodRaw, []byte(`"format": 1,`), []byte(`"format": 1, "postinstall": "rm -rf /",`), 1)
	extraEntry := archive(t, append(append(manifestEntries(goodRaw, testKey), filesOf(m)...), entry{name: "extra", data: []byte("x")})...)
	m2 := m
	m2.Files = append([]File{}, m.Files...)
	m2.Files[0].Size = 2 << 20
	hugeFile := manifestJSON(t, m2)

	tests := []struct {
		name   string
		bundle []byte
		size   int64 // 0: len(bundle)
		policy Policy
		want   error
		msg    string
	}{
		{"a file altered after signing", tamperedFile, 0, policy, ErrHash, `"bin/boothd" has SHA-256`},
		{"the manifest altered after signing", tamperedManifest, 0, policy, ErrSignature, "signed by none"},
		{"unsigned", unsigned, 0, policy, ErrSignature, "unsigned"},
		{"signed by an untrusted key", otherSigned.Bytes(), 0, policy, ErrSignature, "signed by none"},
		{"no trusted keys", good, 0, policy, ErrSignature, "trusts no keys"},
		{"wrong board", wrongBoard.Bytes(), 0, policy, ErrTarget, "built for linux/arm64 (rpi5), this device is linux/arm64 (rpi4)"},
		{"wrong platform", wrongArch.Bytes(), 0, policy, ErrTarget, "built for linux/amd64"},
		{"a downgrade", good, 0, Policy{Target: pi4, Running: "1.10.0"}, ErrDowngrade, "1.3.0 is not newer than the running 1.10.0"},
		{"the running version again", good, 0, Policy{Target: pi4, Running: "v1.3.0"}, ErrDowngrade, "not newer"},
		{"a release over a pre-release's successor", good, 0, Policy{Target: pi4, Running: "1.3.1-rc.1"}, ErrDowngrade, "not newer"},
		{"a dev build cannot tell", good, 0, Policy{Target: pi4, Running: "dev"}, ErrDowngrade, `"dev" is not a release version`},
		{"larger than the device allows", good, 0, Policy{Target: pi4, Running: "1.0.0", MaxSize: 1000}, ErrTooLarge, "over the limit of 1000"},
		{"longer than declared", append(bytes.Clone(good), make([]byte, 1024)...), int64(len(good)), policy, ErrTooLarge, "more than the declared"},
		{"shorter than declared", good, int64(len(good)) + 1, policy, ErrTruncated, "resume"},
		{"a file over the limit", archive(t, manifestEntries(hugeFile, testKey)...), 0, policy, ErrTooLarge, `"bin/boothd"`},
		{"an unknown manifest field", archive(t, manifestEntries(unknownField, testKey)...), 0, policy, ErrFormat, "postinstall"},
		{"an unlisted entry", extraEntry, 0, policy, ErrFormat, `"extra" after the last listed file`},
		{"manifest not first", archive(t, entry{name: "x", data: nil}), 0, policy, ErrFormat, "first entry"},
		{"not a tar at all", []byte(strings.Repeat("garbage!", 200)), 0, policy, ErrFormat, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := trusted
			if tt.name == "no trusted keys" {
				keys = nil
			}
			size := tt.size
			if size == 0 {
				size = int64(len(tt.bundle))
			}
			dir := t.TempDir()
			_, err := Extract(dir, bytes.NewReader(tt.bundle), size, keys, tt.policy)
			if !errors.Is(err, tt.want) || !strings.Contains(errString(err), tt.msg) {
				t.Fatalf("got %v, want %v containing %q", err, tt.want, tt.msg)
			}
			assertEmpty(t, dir)
		})
	}
}

func TestDowngradeAllowed(t *testing.T) {
	b := signed(t, "1.3.0")
	p := Policy{Target: pi4, Running: "2.0.0", AllowDowngrade: true}
	if _, err := Verify(bytes.NewReader(b), int64(len(b)), trusted, p); err != nil {
		t.Errorf("got %v, want an explicitly allowed downgrade accepted", err)
	}
}

// Every cut of a download, however short, is refused as truncated, never as a good bundle
// and never as something a person would chase (a bad signature, a hash).
func TestTruncatedAnywhere(t *testing.T) {
	for name, b := range map[string][]byte{"tar": signed(t, "1.3.0"), "tar.gz": gz(t, signed(t, "1.3.0"))} {
		t.Run(name, func(t *testing.T) {
			step := 1
			if len(b) > 2000 {
				step = 37
			}
			for cut := 0; cut < len(b); cut += step {
				dir := t.TempDir()
				_, err := Extract(dir, bytes.NewReader(b[:cut]), int64(len(b)), trusted, policy)
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("cut at %d of %d: got %v, want ErrTruncated", cut, len(b), err)
				}
				assertEmpty(t, dir)
			}
		})
	}
}

// Signed manifests that name paths outside the slot, or entries that are not regular
// files, are refused before anything is written, and nothing appears outside staging.
func TestPathsRefused(t *testing.T) {
	tests := []struct {
		name string
		path string
		typ  byte
	}{
		{"parent", "../outside", 0},
		{"deep parent", "bin/../../outside", 0},
		{"absolute", "/tmp/outside", 0},
		{"unclean", "bin//boothd", 0},
		{"dot", "./boothd", 0},
		{"backslash", `..\outside`, 0},
		{"the manifest's own name", "manifest.json", 0},
		{"symlink", "bin/boothd", tar.TypeSymlink},
		{"hard link", "bin/boothd", tar.TypeLink},
		{"device", "dev/sda", tar.TypeBlock},
		{"fifo", "run/fifo", tar.TypeFifo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "staging")
			b := evil(t, tt.path, []byte("pwned"), tt.typ)
			_, err := Extract(dir, bytes.NewReader(b), int64(len(b)), trusted, policy)
			if !errors.Is(err, ErrPath) {
				t.Fatalf("got %v, want ErrPath", err)
			}
			assertEmpty(t, dir)
			ents, _ := os.ReadDir(parent)
			if len(ents) != 1 {
				t.Errorf("beside staging: got %d entries, want only staging", len(ents))
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		f := File{Path: "a", Size: 0, SHA256: sha(nil), Mode: "0644"}
		m := Manifest{Format: 1, Version: "2.0.0", Target: pi4, Created: created, Files: []File{f, f}}
		b := archive(t, manifestEntries(manifestJSON(t, m), testKey)...)
		if _, err := Verify(bytes.NewReader(b), int64(len(b)), trusted, policy); !errors.Is(err, ErrPath) {
			t.Errorf("got %v, want ErrPath", err)
		}
	})
	t.Run("file and directory", func(t *testing.T) {
		m := Manifest{Format: 1, Version: "2.0.0", Target: pi4, Created: created, Files: []File{
			{Path: "bin", SHA256: sha(nil), Mode: "0644"}, {Path: "bin/x", SHA256: sha(nil), Mode: "0644"}}}
		b := archive(t, manifestEntries(manifestJSON(t, m), testKey)...)
		if _, err := Verify(bytes.NewReader(b), int64(len(b)), trusted, policy); !errors.Is(err, ErrPath) {
			t.Errorf("got %v, want ErrPath", err)
		}
	})
}

func TestCheckPath(t *testing.T) {
	for _, p := range []string{"", "/a", "a/", "a//b", "./a", "a/.", "a/../b", "..", `a\b`, "a\x00b", SignatureName, strings.Repeat("a", MaxPathBytes+1)} {
		if err := checkPath(p); !errors.Is(err, ErrPath) {
			t.Errorf("checkPath(%q): got %v, want ErrPath", p, err)
		}
	}
	for _, p := range []string{"a", "bin/boothd", "share/.hidden", "a..b", "lib/x/y/z.so"} {
		if err := checkPath(p); err != nil {
			t.Errorf("checkPath(%q): got %v, want nil", p, err)
		}
	}
}

func TestStagingMustBeEmpty(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "left"), nil, 0o600)
	b := signed(t, "1.3.0")
	if _, err := Extract(dir, bytes.NewReader(b), int64(len(b)), trusted, policy); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("got %v, want a refusal of a non-empty staging directory", err)
	}
}

func TestSignRefusesSymlinks(t *testing.T) {
	files := fstest.MapFS{"a": {Data: []byte("x")}, "l": {Data: []byte("a"), Mode: os.ModeSymlink}}
	var buf bytes.Buffer
	if _, err := Sign(&buf, files, Manifest{Version: "1.0.0", Target: pi4, Created: created}, testKey); !errors.Is(err, ErrPath) {
		t.Errorf("got %v, want ErrPath", err)
	}
}

func TestVersionCompare(t *testing.T) {
	// Each is older than the next (semver.org's own list, and numeric fields).
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0", "2.0.0", "10.0.0"}
	for i := range order {
		for j := range order {
			a, err1 := ParseVersion(order[i])
			b, err2 := ParseVersion(order[j])
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%s vs %s: got %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	for _, bad := range []string{"", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.x", "1.2.3-", "1.2.3-a..b", "1.2.3-01", "1.2.3+build", "dev"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q): got nil error, want one", bad)
		}
	}
}

func signedManifest(t testing.TB, b []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(tr)
	return buf.Bytes()
}

func filesOf(m Manifest) []entry {
	var es []entry
	for _, f := range m.Files {
		es = append(es, entry{name: f.Path, data: testFiles[f.Path].Data})
	}
	return es
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("staging after a refusal: got %d entries (%s...), want none", len(ents), ents[0].Name())
	}
}

// A test binary is an unstamped "dev" build, which cannot tell newer from older.
func TestDevicePolicy(t *testing.T) {
	p := DevicePolicy(pi4)
	if p.Running != "dev" || p.AllowDowngrade || p.Target != pi4 {
		t.Fatalf("got %+v, want the running dev build's policy for %v", p, pi4)
	}
	b := signed(t, "1.3.0")
	if _, err := Verify(bytes.NewReader(b), int64(len(b)), trusted, p); !errors.Is(err, ErrDowngrade) {
		t.Errorf("got %v, want ErrDowngrade from a dev build", err)
	}
}
