package switchboard

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/release"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/store"
)

// maxNotesBytes bounds a release's notes.
const maxNotesBytes = 2000

// fleetAdmin refuses a request from anyone but a fleet admin (an admin of no clinic):
// firmware goes to every site's booths, so a site's admin may not publish or steer it.
func fleetAdmin(w http.ResponseWriter, p *principal) bool {
	if p.clinician.ClinicID != "" {
		writeError(w, http.StatusForbidden, api.CodeForbidden,
			"firmware is for fleet admins (an admin with no clinic); %s is an admin of clinic %s", p.clinician.Username, p.clinician.ClinicID)
		return false
	}
	return true
}

// deviceOnly refuses a request from anyone but a device.
func deviceOnly(w http.ResponseWriter, p *principal) bool {
	if p.device == nil {
		writeError(w, http.StatusForbidden, api.CodeForbidden, "this route is for devices, with their own credentials")
		return false
	}
	return true
}

func (s *Server) firmwareMax() int64 {
	if s.cfg.Firmware.MaxBytes > 0 {
		return s.cfg.Firmware.MaxBytes
	}
	return bundle.DefaultMaxSize
}

func (s *Server) bundlePath(id string) string {
	return filepath.Join(s.cfg.Firmware.Dir, id+".bundle")
}

// publishOptions are POST /api/v1/firmware's query parameters.
type publishOptions struct {
	canary         int
	devices        []string
	notes          string
	allowDowngrade bool
}

func (s *Server) parsePublish(r *http.Request) (publishOptions, *fieldError) {
	q := r.URL.Query()
	var o publishOptions
	if v := q.Get("canary"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return o, badField("canary", "must be a percentage from 1 to 100, not %q", v)
		}
		o.canary = n
	}
	if v := q.Get("devices"); v != "" {
		if o.canary != 0 {
			return o, badField("devices", "give canary devices or a canary percentage, not both")
		}
		for _, id := range strings.Split(v, ",") {
			d, err := s.store.Device(id)
			if err != nil {
				return o, badField("devices", "no device %q; list them with GET /api/v1/devices", id)
			}
			if d.Role != device.RoleBooth {
				return o, badField("devices", "device %q is a %s, not a booth", id, d.Role)
			}
			o.devices = append(o.devices, id)
		}
	}
	o.notes = q.Get("notes")
	if len(o.notes) > maxNotesBytes {
		return o, badField("notes", "is %d bytes, at most %d", len(o.notes), maxNotesBytes)
	}
	if v := q.Get("allow_downgrade"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, badField("allow_downgrade", "must be true or false, not %q", v)
		}
		o.allowDowngrade = b
	}
	return o, nil
}

// handlePublishFirmware stores an uploaded bundle as a release, once its signature (one
// of the trusted keys) and its manifest check out; anything else is refused and nothing
// is kept.
func (s *Server) handlePublishFirmware(w http.ResponseWriter, r *http.Request, p *principal) {
	if !fleetAdmin(w, p) {
		return
	}
	if s.cfg.Firmware.Dir == "" || len(s.cfg.Firmware.TrustedKeys) == 0 {
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable,
			"this switchboard has no firmware directory or trusted firmware keys; start it with -firmware-keys FILE")
		return
	}
	opt, fe := s.parsePublish(r)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	id := store.NewID()
	size, sum, m, err := s.receiveBundle(w, r, id)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "the bundle is larger than this switchboard's limit of %d bytes", s.firmwareMax())
		case errors.Is(err, errRefusedBundle):
			s.log.Info("firmware refused", "by", p.clinician.ID, "err", err)
			writeError(w, http.StatusUnprocessableEntity, api.CodeBadBundle, "%v", err)
		default:
			s.internalError(w, r, err)
		}
		return
	}
	rel := store.Release{ID: id, Version: m.Version, Target: m.Target, Size: size, SHA256: sum, AllowDowngrade: opt.allowDowngrade,
		Notes: opt.notes, Created: s.clock.Now().UTC(), CreatedBy: p.clinician.ID, Phase: store.PhaseAll}
	switch {
	case len(opt.devices) > 0:
		rel.Canaries, rel.Phase = opt.devices, store.PhaseCanary
	case opt.canary > 0:
		ds, err := s.store.Devices("")
		if err != nil {
			os.Remove(s.bundlePath(id))
			s.internalError(w, r, err)
			return
		}
		rel.Canaries, rel.Phase = chooseCanaries(ds, id, opt.canary), store.PhaseCanary
	}
	if err := s.store.CreateRelease(&rel); err != nil {
		os.Remove(s.bundlePath(id))
		s.internalError(w, r, err)
		return
	}
	s.audit(r, p, audit.FirmwarePublish, id, "", fmt.Sprintf("version %s, target %s, %d bytes, %d canaries", rel.Version, rel.Target, size, len(rel.Canaries)))
	s.log.Info("firmware published", "release", id, "version", rel.Version, "target", rel.Target.String(),
		"size", size, "canaries", len(rel.Canaries), "by", p.clinician.ID)
	writeJSON(w, http.StatusCreated, s.apiRelease(&rel))
}

var errRefusedBundle = errors.New("bundle refused")

// receiveBundle streams the body to a temporary file in the firmware directory, checks
// it, and renames it to the release's name, fsync'd; on any error nothing is left.
func (s *Server) receiveBundle(w http.ResponseWriter, r *http.Request, id string) (int64, string, bundle.Manifest, error) {
	dir := s.cfg.Firmware.Dir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, "", bundle.Manifest{}, fmt.Errorf("firmware directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return 0, "", bundle.Manifest{}, fmt.Errorf("firmware upload: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(f, h), http.MaxBytesReader(w, r.Body, s.firmwareMax()))
	if err != nil {
		return 0, "", bundle.Manifest{}, fmt.Errorf("firmware upload: %w", err)
	}
	if size == 0 {
		return 0, "", bundle.Manifest{}, fmt.Errorf("%w: the body is empty; send the bundle file (boothctl firmware sign makes one)", errRefusedBundle)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, "", bundle.Manifest{}, err
	}
	m, err := bundle.Verify(f, size, s.cfg.Firmware.TrustedKeys, bundle.Policy{AnyTarget: true, MaxSize: s.firmwareMax()})
	if err != nil {
		return 0, "", bundle.Manifest{}, fmt.Errorf("%w: %v", errRefusedBundle, err)
	}
	if ts := s.cfg.Firmware.Targets; len(ts) > 0 && !slices.Contains(ts, m.Target) {
		return 0, "", bundle.Manifest{}, fmt.Errorf("%w: %w: built for %s, and this fleet runs %s (-firmware-targets); sign it for one of those",
			errRefusedBundle, bundle.ErrTarget, m.Target, targetList(ts))
	}
	if err := f.Sync(); err != nil {
		return 0, "", bundle.Manifest{}, err
	}
	if err := f.Close(); err != nil {
		return 0, "", bundle.Manifest{}, err
	}
	if err := os.Rename(f.Name(), s.bundlePath(id)); err != nil {
		return 0, "", bundle.Manifest{}, err
	}
	keep = true
	if err := atomicfile.SyncDir(dir); err != nil {
		os.Remove(s.bundlePath(id))
		return 0, "", bundle.Manifest{}, err
	}
	return size, hex.EncodeToString(h.Sum(nil)), m, nil
}

func (s *Server) apiRelease(r *store.Release) api.Release {
	booths := 0
	if ds, err := s.store.Devices(""); err == nil {
		for _, d := range ds {
			if d.Role == device.RoleBooth {
				booths++
			}
		}
	}
	return apiRelease(r, booths)
}

func (s *Server) handleListReleases(w http.ResponseWriter, r *http.Request, p *principal) {
	if !fleetAdmin(w, p) {
		return
	}
	rs, err := s.store.Releases()
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := api.Releases{Releases: []api.Release{}}
	for i := range rs {
		out.Releases = append(out.Releases, s.apiRelease(&rs[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetRelease(w http.ResponseWriter, r *http.Request, p *principal) {
	if !fleetAdmin(w, p) {
		return
	}
	rel, err := s.store.Release(r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no firmware release %q; list them with GET /api/v1/firmware", r.PathValue("id"))
		return
	} else if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.apiRelease(&rel))
}

// handleAnnouncement tells a device the release it should install, or 204: the newest
// release announceable to it. A release it is done with hides the older ones.
func (s *Server) handleAnnouncement(w http.ResponseWriter, r *http.Request, p *principal) {
	if !deviceOnly(w, p) {
		return
	}
	rs, err := s.store.Releases()
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	id := p.device.ID
	for i := range rs {
		rel := &rs[i]
		if rel.Devices[id].Stage.Final() {
			break
		}
		if !announceable(rel, id) {
			continue
		}
		if _, seen := rel.Devices[id]; !seen {
			now := s.clock.Now()
			_, err := s.store.UpdateRelease(rel.ID, func(u *store.Release) error {
				if _, seen := u.Devices[id]; !seen {
					if u.Devices == nil {
						u.Devices = map[string]store.DeviceProgress{}
					}
					u.Devices[id] = store.DeviceProgress{Stage: release.StageAnnounced, Updated: now.UTC()}
				}
				return nil
			})
			if err != nil {
				s.internalError(w, r, err)
				return
			}
			s.log.Info("firmware announced", "release", rel.ID, "version", rel.Version, "device", id)
		}
		writeJSON(w, http.StatusOK, api.FirmwareAnnouncement{ReleaseID: rel.ID, Version: rel.Version, Target: rel.Target,
			URL: "/api/v1/firmware/" + rel.ID + "/bundle", Size: rel.Size, SHA256: rel.SHA256, AllowDowngrade: rel.AllowDowngrade})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// announcedRelease loads release id for device p, refusing one it was never announced.
func (s *Server) announcedRelease(w http.ResponseWriter, r *http.Request, p *principal) (store.Release, bool) {
	if !deviceOnly(w, p) {
		return store.Release{}, false
	}
	id := r.PathValue("id")
	rel, err := s.store.Release(id)
	if err == nil {
		if _, ok := rel.Devices[p.device.ID]; ok {
			return rel, true
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		s.internalError(w, r, err)
		return store.Release{}, false
	}
	writeError(w, http.StatusNotFound, api.CodeNotFound, "no firmware release %q announced to this device", id)
	return store.Release{}, false
}

// handleReleaseBundle serves a release's bundle to a device, with Range requests (a
// download resumes where it stopped).
func (s *Server) handleReleaseBundle(w http.ResponseWriter, r *http.Request, p *principal) {
	rel, ok := s.announcedRelease(w, r, p)
	if !ok {
		return
	}
	f, err := os.Open(s.bundlePath(rel.ID))
	if err != nil {
		s.internalError(w, r, fmt.Errorf("release %s: %w", rel.ID, err))
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, rel.ID+".bundle", rel.Created, f)
}

type reportRequest release.Report

func (q *reportRequest) validate() *fieldError {
	if err := release.Report(*q).Check(); err != nil {
		return badField("stage", "%v", err)
	}
	return nil
}

// handleReleaseReport keeps a device's progress on a release and moves the rollout on.
func (s *Server) handleReleaseReport(w http.ResponseWriter, r *http.Request, p *principal) {
	if _, ok := s.announcedRelease(w, r, p); !ok {
		return
	}
	var q reportRequest
	if !decodeBody(w, r, &q) {
		return
	}
	rep := release.Report(q)
	id := p.device.ID
	var was bool
	rel, err := s.store.UpdateRelease(r.PathValue("id"), func(u *store.Release) error {
		was = u.Paused
		applyReport(u, id, rep, s.clock.Now())
		return nil
	})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	log := s.log.With("release", rel.ID, "version", rel.Version, "device", id)
	if rep.Stage.Final() || rep.Stage == release.StageInstalled {
		log.Info("firmware report", "stage", rep.Stage, "reason", rep.Reason, "running", rep.Running)
	}
	if rel.Paused && !was {
		log.Warn("firmware rollout paused", "reason", rel.PausedReason)
	}
	writeJSON(w, http.StatusOK, s.apiRelease(&rel))
}

type rolloutControl int

// action is how the audit log names c.
func (c rolloutControl) action() audit.Action {
	return [...]audit.Action{controlPause: audit.RolloutPause, controlResume: audit.RolloutResume, controlPromote: audit.RolloutPromote}[c]
}

const (
	controlPause rolloutControl = iota
	controlResume
	controlPromote
)

// handleRolloutControl pauses, resumes or promotes (opens to every device) a rollout.
func (s *Server) handleRolloutControl(c rolloutControl) func(http.ResponseWriter, *http.Request, *principal) {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		if !fleetAdmin(w, p) {
			return
		}
		id := r.PathValue("id")
		rel, err := s.store.UpdateRelease(id, func(u *store.Release) error {
			switch c {
			case controlPause:
				if !u.Paused {
					u.Paused, u.PausedReason = true, "paused by "+p.clinician.Username
				}
			case controlResume:
				u.Paused, u.PausedReason = false, ""
			case controlPromote:
				u.Phase = store.PhaseAll
			}
			return nil
		})
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, api.CodeNotFound, "no firmware release %q; list them with GET /api/v1/firmware", id)
			return
		} else if err != nil {
			s.internalError(w, r, err)
			return
		}
		s.audit(r, p, c.action(), id, "", fmt.Sprintf("version %s, phase %s", rel.Version, rel.Phase))
		s.log.Info("firmware rollout changed", "release", id, "phase", rel.Phase, "paused", rel.Paused, "by", p.clinician.ID)
		writeJSON(w, http.StatusOK, s.apiRelease(&rel))
	}
}

func targetList(ts []bundle.Target) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.String()
	}
	return strings.Join(names, ", ")
}
