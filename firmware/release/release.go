package release

import (
	"fmt"

	"github.com/carebooth/carebooth/firmware/bundle"
)

// Stage is how far a device has got with a release.
type Stage string

// The stages a device reports, in the order it passes them. Committed, RolledBack and
// Refused are final: the device is done with the release.
const (
	StageAnnounced   Stage = "announced" // the switchboard's, before the device reports
	StageDownloading Stage = "downloading"
	StageVerified    Stage = "verified"  // signature, target, version and every hash checked
	StageInstalled   Stage = "installed" // in the inactive slot; restarting into it
	StageCommitted   Stage = "committed" // started and healthy: the release is the device's
	StageRolledBack  Stage = "rolled_back"
	StageRefused     Stage = "refused" // not installed: bad signature, wrong target, downgrade...
)

// Valid reports whether s is one a device may report.
func (s Stage) Valid() bool {
	switch s {
	case StageDownloading, StageVerified, StageInstalled, StageCommitted, StageRolledBack, StageRefused:
		return true
	}
	return false
}

// Final reports whether a device is done with the release at s.
func (s Stage) Final() bool {
	return s == StageCommitted || s == StageRolledBack || s == StageRefused
}

// Failed reports whether s is a failure, which pauses a rollout.
func (s Stage) Failed() bool { return s == StageRolledBack || s == StageRefused }

// Announcement tells a device a release is for it.
type Announcement struct {
	ReleaseID string        `json:"release_id"`
	Version   string        `json:"version"`
	Target    bundle.Target `json:"target"`
	// URL is where the bundle is downloaded from, with the device's credentials.
	URL    string `json:"url"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // of the whole bundle file, hex
	// AllowDowngrade lets a device install a version that is not newer than its own.
	AllowDowngrade bool `json:"allow_downgrade,omitempty"`
}

// Report is what a device says about a release.
type Report struct {
	Stage   Stage  `json:"stage"`
	Percent int    `json:"percent,omitempty"` // of the download, while downloading
	Reason  string `json:"reason,omitempty"`  // why it rolled back or refused
	// Running is the firmware version the device runs as it reports.
	Running string `json:"running,omitempty"`
}

// Check says what is wrong with r, naming the field.
func (r Report) Check() error {
	if !r.Stage.Valid() {
		return fmt.Errorf("stage %q is not one of downloading, verified, installed, committed, rolled_back, refused", r.Stage)
	}
	if r.Percent < 0 || r.Percent > 100 {
		return fmt.Errorf("percent %d is not between 0 and 100", r.Percent)
	}
	if r.Stage.Failed() && r.Reason == "" {
		return fmt.Errorf("a %s report needs a reason", r.Stage)
	}
	if len(r.Reason) > 2000 {
		return fmt.Errorf("reason is %d bytes, more than 2000", len(r.Reason))
	}
	return nil
}
