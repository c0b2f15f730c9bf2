package switchboard

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/firmware/release"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/store"
)

// Rings of a rollout.
const (
	ringCanary = "canary"
	ringRest   = "rest"
)

// canaryRank orders devices for one release: the first percent of booths in this order
// are its canaries. Hashing the device with the release makes the choice deterministic
// (the same release picks the same devices on every switchboard) and different for each
// release, so the same booths are not always first.
func canaryRank(deviceID, releaseID string) uint64 {
	h := sha256.Sum256([]byte(deviceID + "\x00" + releaseID))
	return binary.BigEndian.Uint64(h[:8])
}

// chooseCanaries picks percent of the booths (rounded up, at least one when percent > 0
// and there are booths) for release id.
func chooseCanaries(devices []store.Device, id string, percent int) []string {
	var booths []string
	for _, d := range devices {
		if d.Role == device.RoleBooth {
			booths = append(booths, d.ID)
		}
	}
	sort.Slice(booths, func(i, j int) bool { return canaryRank(booths[i], id) < canaryRank(booths[j], id) })
	n := (len(booths)*percent + 99) / 100
	return slices.Clone(booths[:n])
}

// announceable reports whether r is to be announced to device id now: not paused, the
// device in the current ring, and not done with it.
func announceable(r *store.Release, id string) bool {
	if r.Paused || (r.Phase == store.PhaseCanary && !r.IsCanary(id)) {
		return false
	}
	return !r.Devices[id].Stage.Final()
}

// applyReport records device id's report on r and moves the rollout on: a canary's
// failure, or a rollback anywhere, pauses it; every canary committed opens it to all.
// A refusal outside the canaries (a device that is already newer, say) does not pause.
func applyReport(r *store.Release, id string, rep release.Report, now time.Time) {
	if r.Devices == nil {
		r.Devices = map[string]store.DeviceProgress{}
	}
	r.Devices[id] = store.DeviceProgress{Stage: rep.Stage, Percent: rep.Percent, Reason: rep.Reason, Running: rep.Running, Updated: now.UTC()}
	canary := r.IsCanary(id)
	if rep.Stage.Failed() && (canary || rep.Stage == release.StageRolledBack) && !r.Paused {
		r.Paused = true
		r.PausedReason = fmt.Sprintf("device %s %s: %s", id, rep.Stage, rep.Reason)
		return
	}
	if r.Phase == store.PhaseCanary && !r.Paused && allCommitted(r) {
		r.Phase = store.PhaseAll
	}
}

func allCommitted(r *store.Release) bool {
	for _, c := range r.Canaries {
		if r.Devices[c].Stage != release.StageCommitted {
			return false
		}
	}
	return true
}

// apiRelease is r as the API shows it; booths is how many booths there are in all.
func apiRelease(r *store.Release, booths int) api.Release {
	out := api.Release{ID: r.ID, Version: r.Version, Target: r.Target, Size: r.Size, SHA256: r.SHA256,
		AllowDowngrade: r.AllowDowngrade, Notes: r.Notes, Created: r.Created, CreatedBy: r.CreatedBy,
		Phase: string(r.Phase), Paused: r.Paused, PausedReason: r.PausedReason, Devices: []api.ReleaseDevice{}}
	canary := api.ReleaseRing{Name: ringCanary, Devices: len(r.Canaries), Stages: map[string]int{}}
	rest := api.ReleaseRing{Name: ringRest, Devices: max(booths-len(r.Canaries), 0), Stages: map[string]int{}}
	for id, p := range r.Devices {
		ring := ringRest
		if r.IsCanary(id) {
			ring = ringCanary
			canary.Stages[string(p.Stage)]++
		} else {
			rest.Stages[string(p.Stage)]++
		}
		out.Devices = append(out.Devices, api.ReleaseDevice{DeviceID: id, Ring: ring, Stage: p.Stage, Percent: p.Percent,
			Reason: p.Reason, Running: p.Running, Updated: p.Updated})
	}
	sort.Slice(out.Devices, func(i, j int) bool {
		a, b := out.Devices[i], out.Devices[j]
		if a.Ring != b.Ring {
			return a.Ring == ringCanary
		}
		return a.DeviceID < b.DeviceID
	})
	out.Rings = []api.ReleaseRing{canary, rest}
	return out
}
