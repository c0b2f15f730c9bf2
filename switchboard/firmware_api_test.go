package switchboard

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/bundle/bundletest"
	"github.com/carebooth/carebooth/firmware/release"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
)

var testTarget = bundle.Target{Platform: "linux/arm64", Board: "rpi4"}

// firmwareEnv is an env whose switchboard trusts pub and keeps firmware in dir, with a
// fleet admin.
type firmwareEnv struct {
	*env
	dir      string
	priv     ed25519.PrivateKey
	fleetTok string
}

func newFirmwareEnv(t *testing.T, maxBytes int64) *firmwareEnv {
	pub, priv := bundletest.Key(t)
	dir := filepath.Join(t.TempDir(), "firmware")
	e := newEnvWith(t, func(c *Config) {
		c.Firmware = FirmwareConfig{Dir: dir, TrustedKeys: []ed25519.PublicKey{pub}, MaxBytes: maxBytes,
			Targets: []bundle.Target{testTarget, {Platform: "linux/amd64"}}}
	})
	fleet := e.addClinician("fleet", "Fleet IT", "", true).tok
	return &firmwareEnv{env: e, dir: dir, priv: priv, fleetTok: fleet}
}

func (e *firmwareEnv) publish(query, tok string, body []byte) (int, []byte) {
	e.t.Helper()
	return e.doRaw("POST", "/api/v1/firmware"+query, tok, "application/octet-stream", body)
}

func (e *firmwareEnv) release(id string) api.Release {
	e.t.Helper()
	st, body := e.do("GET", "/api/v1/firmware/"+id, e.fleetTok, nil)
	if st != http.StatusOK {
		e.t.Fatalf("GET release: got %d %s, want 200", st, body)
	}
	var r api.Release
	must(e.t, json.Unmarshal(body, &r))
	return r
}

func (e *firmwareEnv) announcement(tok string) (api.FirmwareAnnouncement, bool) {
	e.t.Helper()
	st, body := e.do("GET", "/api/v1/firmware/announcement", tok, nil)
	switch st {
	case http.StatusNoContent:
		return api.FirmwareAnnouncement{}, false
	case http.StatusOK:
		var a api.FirmwareAnnouncement
		must(e.t, json.Unmarshal(body, &a))
		return a, true
	}
	e.t.Fatalf("announcement: got %d %s, want 200 or 204", st, body)
	return api.FirmwareAnnouncement{}, false
}

func (e *firmwareEnv) report(tok, id string, rep release.Report) {
	e.t.Helper()
	if st, body := e.do("POST", "/api/v1/firmware/"+id+"/reports", tok, rep); st != http.StatusOK {
		e.t.Fatalf("report %s: got %d %s, want 200", rep.Stage, st, body)
	}
}

// TestPublishFirmwareRefused: every bundle the devices would refuse, and every caller
// who may not publish, is refused with the reason, and nothing is stored.
func TestPublishFirmwareRefused(t *testing.T) {
	e := newFirmwareEnv(t, 64<<10)
	good := bundletest.Make(t, e.priv, "1.2.0", testTarget, map[string]string{"bin/boothd": "new boothd"})
	_, stranger := bundletest.Key(t)
	tampered := bytes.Replace(good, []byte("new boothd"), []byte("bad boothd"), 1)
	tests := []struct {
		name, query, tok string
		body             []byte
		status           int
		code, says       string
	}{
		{"tampered file", "", e.fleetTok, tampered, 422, api.CodeBadBundle, "content does not match"},
		{"untrusted key", "", e.fleetTok, bundletest.Make(t, stranger, "1.2.0", testTarget, map[string]string{"bin/boothd": "x"}), 422, api.CodeBadBundle, "signature"},
		{"unsigned", "", e.fleetTok, unsigned(t, good), 422, api.CodeBadBundle, "manifest.sig"},
		{"wrong target", "", e.fleetTok, bundletest.Make(t, e.priv, "1.2.0", bundle.Target{Platform: "linux/arm64", Board: "rpi5"}, map[string]string{"bin/boothd": "x"}), 422, api.CodeBadBundle, "linux/arm64 (rpi5), and this fleet runs linux/arm64 (rpi4), linux/amd64"},
		{"not a bundle", "", e.fleetTok, []byte("#!/bin/sh\necho hello\n"), 422, api.CodeBadBundle, "rebuild the bundle"},
		{"truncated", "", e.fleetTok, good[:len(good)/2], 422, api.CodeBadBundle, "bundle refused"},
		{"empty", "", e.fleetTok, nil, 422, api.CodeBadBundle, "empty"},
		{"too large", "", e.fleetTok, bytes.Repeat([]byte{0}, 65<<10), 413, api.CodeTooLarge, "limit"},
		{"site admin", "", e.adminTok, good, 403, api.CodeForbidden, "fleet admins"},
		{"clinician", "", e.docTok, good, 403, api.CodeForbidden, "admin"},
		{"device", "", e.boothTok, good, 403, api.CodeForbidden, ""},
		{"bad canary", "?canary=150", e.fleetTok, good, 400, api.CodeBadRequest, "percentage"},
		{"unknown canary device", "?devices=nope", e.fleetTok, good, 400, api.CodeBadRequest, `no device "nope"`},
		{"both", "?canary=10&devices=" + e.booth.ID, e.fleetTok, good, 400, api.CodeBadRequest, "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := e.publish(tt.query, tt.tok, tt.body)
			if st != tt.status {
				t.Fatalf("got %d %s, want %d", st, body, tt.status)
			}
			got := errorOf(t, body)
			if got.Code != tt.code || !strings.Contains(got.Message, tt.says) {
				t.Errorf("got %s %q, want %s saying %q", got.Code, got.Message, tt.code, tt.says)
			}
			rs, _ := e.st.Releases()
			ents, _ := os.ReadDir(e.dir)
			if len(rs) != 0 || len(ents) != 0 {
				t.Errorf("got %d releases and %d files after a refusal, want none", len(rs), len(ents))
			}
		})
	}
	// The good bundle itself is accepted, so the refusals above are the bundles' fault.
	if st, body := e.publish("", e.fleetTok, good); st != http.StatusCreated {
		t.Fatalf("good bundle: got %d %s, want 201", st, body)
	}
}

func TestPublishFirmwareWithoutKeys(t *testing.T) {
	e := newEnv(t)
	fleet := e.addClinician("fleet", "Fleet IT", "", true).tok
	st, body := e.doRaw("POST", "/api/v1/firmware", fleet, "application/octet-stream", []byte("x"))
	if st != http.StatusServiceUnavailable || !strings.Contains(errorOf(t, body).Message, "-firmware-keys") {
		t.Errorf("got %d %s, want 503 naming -firmware-keys", st, body)
	}
}

// TestRolloutCanaryFailurePauses: a release goes to its canary only; the canary's
// rollback pauses it, so the other booth is never announced it until an admin resumes
// and promotes; a canary's commit opens it to everyone.
func TestRolloutCanaryFailurePauses(t *testing.T) {
	e := newFirmwareEnv(t, 0)
	b := bundletest.Make(t, e.priv, "1.2.0", testTarget, map[string]string{"bin/boothd": "new boothd"})
	st, body := e.publish("?devices="+e.booth.ID+"&notes=camera+fix", e.fleetTok, b)
	if st != http.StatusCreated {
		t.Fatalf("publish: got %d %s", st, body)
	}
	var rel api.Release
	must(t, json.Unmarshal(body, &rel))
	if rel.Phase != "canary" || rel.Version != "1.2.0" || rel.Target != testTarget || rel.Size != int64(len(b)) || rel.Notes != "camera fix" {
		t.Fatalf("published: got %+v", rel)
	}
	if _, ok := e.announcement(e.otherBoothTok); ok {
		t.Fatal("non-canary announced a release in its canary phase")
	}
	a, ok := e.announcement(e.boothTok)
	if !ok || a.ReleaseID != rel.ID || a.Size != int64(len(b)) || a.SHA256 != rel.SHA256 || a.URL != "/api/v1/firmware/"+rel.ID+"/bundle" {
		t.Fatalf("canary announcement: got %+v, %v", a, ok)
	}
	// The bundle, whole and from an offset, to the canary only.
	res, got := e.send("GET", a.URL, "", bearer(e.boothTok, "Range", "bytes=100-"))
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(got, b[100:]) {
		t.Errorf("range: got %d and %d bytes, want 206 and %d", res.StatusCode, len(got), len(b)-100)
	}
	if res, _ := e.send("GET", a.URL, "", bearer(e.otherBoothTok, "", "")); res.StatusCode != http.StatusNotFound {
		t.Errorf("bundle to a device not announced it: got %d, want 404", res.StatusCode)
	}
	if st, _ := e.do("POST", "/api/v1/firmware/"+rel.ID+"/reports", e.otherBoothTok, release.Report{Stage: release.StageCommitted}); st != http.StatusNotFound {
		t.Errorf("report from a device not announced it: got %d, want 404", st)
	}
	if st, body := e.do("POST", "/api/v1/firmware/"+rel.ID+"/reports", e.boothTok, release.Report{Stage: release.StageRolledBack}); st != http.StatusBadRequest {
		t.Errorf("rollback without a reason: got %d %s, want 400", st, body)
	}

	e.report(e.boothTok, rel.ID, release.Report{Stage: release.StageDownloading, Percent: 50})
	e.report(e.boothTok, rel.ID, release.Report{Stage: release.StageRolledBack, Reason: "health check failed: camera: no device"})
	got2 := e.release(rel.ID)
	if !got2.Paused || !strings.Contains(got2.PausedReason, "camera: no device") {
		t.Fatalf("after the canary's rollback: got paused %v %q, want paused with the reason", got2.Paused, got2.PausedReason)
	}
	if got2.Rings[0].Name != "canary" || got2.Rings[0].Stages["rolled_back"] != 1 || got2.Devices[0].Reason == "" {
		t.Errorf("status: got rings %+v devices %+v, want the canary's rollback shown", got2.Rings, got2.Devices)
	}
	if _, ok := e.announcement(e.otherBoothTok); ok {
		t.Fatal("non-canary announced a paused release")
	}
	if _, ok := e.announcement(e.boothTok); ok {
		t.Fatal("the canary that rolled back was announced the release again")
	}
	// A site admin may not steer the fleet's rollout.
	if st, _ := e.do("POST", "/api/v1/firmware/"+rel.ID+"/resume", e.adminTok, nil); st != http.StatusForbidden {
		t.Errorf("site admin resume: got %d, want 403", st)
	}
	for _, verb := range []string{"resume", "promote"} {
		if st, body := e.do("POST", "/api/v1/firmware/"+rel.ID+"/"+verb, e.fleetTok, nil); st != http.StatusOK {
			t.Fatalf("%s: got %d %s", verb, st, body)
		}
	}
	if a, ok := e.announcement(e.otherBoothTok); !ok || a.ReleaseID != rel.ID {
		t.Errorf("after resume and promote: got %+v, %v, want the release announced", a, ok)
	}
	// The publication and the admin's steering are in the audit log; the refused resume is not.
	_, log, _ := e.auditLog(e.fleetTok, "")
	var steered []audit.Action
	for _, en := range log.Entries {
		if en.Target == rel.ID {
			steered = append(steered, en.Action)
		}
	}
	if want := []audit.Action{audit.FirmwarePublish, audit.RolloutResume, audit.RolloutPromote}; !slices.Equal(steered, want) {
		t.Errorf("audit of the release: got %v, want %v", steered, want)
	}
}

func TestRolloutCanaryCommitOpensToAll(t *testing.T) {
	e := newFirmwareEnv(t, 0)
	b := bundletest.Make(t, e.priv, "1.2.0", testTarget, map[string]string{"bin/boothd": "new boothd"})
	st, body := e.publish("?canary=50", e.fleetTok, b)
	if st != http.StatusCreated {
		t.Fatalf("publish: got %d %s", st, body)
	}
	var rel api.Release
	must(t, json.Unmarshal(body, &rel))
	if rel.Rings[0].Devices != 1 || rel.Rings[1].Devices != 1 {
		t.Fatalf("50%% of 2 booths: got rings %+v, want one canary and one other", rel.Rings)
	}
	canaryTok, otherTok := e.boothTok, e.otherBoothTok
	if _, ok := e.announcement(canaryTok); !ok {
		canaryTok, otherTok = otherTok, canaryTok
	}
	if _, ok := e.announcement(otherTok); ok {
		t.Fatal("both booths announced in the canary phase")
	}
	if _, ok := e.announcement(canaryTok); !ok {
		t.Fatal("canary not announced")
	}
	e.report(canaryTok, rel.ID, release.Report{Stage: release.StageCommitted, Running: "1.2.0"})
	if got := e.release(rel.ID); got.Phase != "all" || got.Paused {
		t.Fatalf("after the canary's commit: got phase %s paused %v, want all, running", got.Phase, got.Paused)
	}
	if _, ok := e.announcement(otherTok); !ok {
		t.Error("after the canary committed, the other booth was not announced the release")
	}
	if _, ok := e.announcement(canaryTok); ok {
		t.Error("the committed canary was announced its release again")
	}
}

// unsigned is b's manifest alone, without its signature entry.
func unsigned(t *testing.T, b []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	hdr, err := tr.Next()
	must(t, err)
	manifest, err := io.ReadAll(tr)
	must(t, err)
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	must(t, tw.WriteHeader(hdr))
	_, err = tw.Write(manifest)
	must(t, err)
	must(t, tw.Close())
	return out.Bytes()
}
