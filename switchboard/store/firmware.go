package store

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/release"
)

// Phase is which ring of devices a release is announced to.
type Phase string

// Rollout phases: the canaries first, then everyone.
const (
	PhaseCanary Phase = "canary"
	PhaseAll    Phase = "all"
)

// Release is a signed firmware bundle published to the fleet, and how its rollout is
// going. The bundle itself is a file in the switchboard's firmware directory, named by ID.
type Release struct {
	ID             string        `json:"id"`
	Version        string        `json:"version"`
	Target         bundle.Target `json:"target"`
	Size           int64         `json:"size"`
	SHA256         string        `json:"sha256"`
	AllowDowngrade bool          `json:"allow_downgrade,omitempty"`
	Notes          string        `json:"notes,omitempty"`
	Created        time.Time     `json:"created"`
	CreatedBy      string        `json:"created_by"` // clinician ID
	// Canaries are the devices announced it first; none: everyone at once.
	Canaries []string `json:"canaries,omitempty"`
	Phase    Phase    `json:"phase"`
	// Paused stops announcements to devices that have not started; PausedReason says
	// why (a canary's failure, or an admin).
	Paused       bool   `json:"paused,omitempty"`
	PausedReason string `json:"paused_reason,omitempty"`
	// Devices is what each device last reported, by device ID.
	Devices map[string]DeviceProgress `json:"devices,omitempty"`
}

// DeviceProgress is one device's last report on a release.
type DeviceProgress struct {
	Stage   release.Stage `json:"stage"`
	Percent int           `json:"percent,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	Running string        `json:"running,omitempty"`
	Updated time.Time     `json:"updated"`
}

// IsCanary reports whether device id is one of r's canaries.
func (r *Release) IsCanary(id string) bool { return slices.Contains(r.Canaries, id) }

func (r *Release) clone() Release {
	c := *r
	c.Canaries = slices.Clone(r.Canaries)
	if r.Devices != nil {
		c.Devices = make(map[string]DeviceProgress, len(r.Devices))
		for k, v := range r.Devices {
			c.Devices[k] = v
		}
	}
	return c
}

func validateRelease(r *Release) error {
	if r.Version == "" || r.Target.Platform == "" || r.Size <= 0 || len(r.SHA256) != 64 {
		return fmt.Errorf("release: version, target, size and sha256 are required: %w", ErrInvalid)
	}
	if r.Phase != PhaseCanary && r.Phase != PhaseAll {
		return fmt.Errorf("release: phase %q is not %q or %q: %w", r.Phase, PhaseCanary, PhaseAll, ErrInvalid)
	}
	return nil
}

// sortReleases puts the newest first.
func sortReleases(rs []Release) {
	sort.Slice(rs, func(i, j int) bool {
		if !rs[i].Created.Equal(rs[j].Created) {
			return rs[i].Created.After(rs[j].Created)
		}
		return rs[i].ID > rs[j].ID
	})
}
