package api

import (
	"time"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/release"
)

// CodeBadBundle refuses a firmware upload: tampered, unsigned, not a bundle.
const CodeBadBundle = "bad_bundle"

// CodeUnavailable: the switchboard is not set up for this (no firmware keys).
const CodeUnavailable = "unavailable"

// The device's side of a rollout, as package firmware/release defines it.
type (
	FirmwareAnnouncement = release.Announcement
	FirmwareReport       = release.Report
	FirmwareTarget       = bundle.Target
)

// Release is a published firmware release and its rollout, from GET /api/v1/firmware/{id}.
type Release struct {
	ID             string         `json:"id"`
	Version        string         `json:"version"`
	Target         FirmwareTarget `json:"target"`
	Size           int64          `json:"size"`
	SHA256         string         `json:"sha256"`
	AllowDowngrade bool           `json:"allow_downgrade"`
	Notes          string         `json:"notes,omitempty"`
	Created        time.Time      `json:"created"`
	CreatedBy      string         `json:"created_by"`
	// Phase is "canary" (announced to the canaries only) or "all".
	Phase        string `json:"phase"`
	Paused       bool   `json:"paused"`
	PausedReason string `json:"paused_reason,omitempty"`
	// Rings count devices per ring ("canary", then "rest") and stage.
	Rings []ReleaseRing `json:"rings"`
	// Devices are those that were announced the release, canaries first.
	Devices []ReleaseDevice `json:"devices"`
}

// ReleaseRing is how far one ring has got.
type ReleaseRing struct {
	Name string `json:"name"` // "canary" or "rest"
	// Devices is how many booths are in the ring; Stages counts the announced ones by
	// their stage.
	Devices int            `json:"devices"`
	Stages  map[string]int `json:"stages"`
}

// ReleaseDevice is one device's last report on a release.
type ReleaseDevice struct {
	DeviceID string        `json:"device_id"`
	Ring     string        `json:"ring"`
	Stage    release.Stage `json:"stage"`
	Percent  int           `json:"percent,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Running  string        `json:"running,omitempty"`
	Updated  time.Time     `json:"updated"`
}

// Releases is the body of GET /api/v1/firmware, newest first.
type Releases struct {
	Releases []Release `json:"releases"`
}
