package hub

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

// The staff station: a clinician connection whose hello set Staff is sent its site's
// devices (signalling.Devices) on welcome and again whenever what it shows changes. A
// fleet admin (a clinician with no clinic) is sent every site's.
//
// Changes are pushed as they happen: a device connecting or going, a help request or
// its acknowledgement, the waiting room, a call, a heartbeat that changes a device's
// state. What only time changes (a heartbeat that stops while the connection stays up)
// is found by each staff connection's ping loop, every PingInterval. A device that stops
// answering is disconnected by its own ping loop within 2 × PingInterval (30 s by
// default), and leaves the view at once as offline.

var (
	// ErrNoHelp is returned by AcknowledgeHelp when no help request of the device stands.
	ErrNoHelp = errors.New("no help request of this device stands")
	// ErrNotFound is returned by AcknowledgeHelp for a device the clinician may not see.
	ErrNotFound = errors.New("no such device")
)

// helpAlert is a help request that stands, as the clinic's clinicians were told of it.
type helpAlert struct {
	clinic string
	msg    *signalling.Help // the latest sent; replaced, never changed, once sent
	since  time.Time
	ackAt  time.Time // zero until a member of staff acknowledged it
}

// status is a as the staff station shows it.
func (a helpAlert) status() *signalling.HelpStatus {
	s := &signalling.HelpStatus{Since: a.since.UTC(), AcknowledgedBy: a.msg.AcknowledgedBy}
	if !a.ackAt.IsZero() {
		at := a.ackAt.UTC()
		s.AcknowledgedAt = &at
	}
	return s
}

// deviceFacts is what the hub knows of one device, from which its staff state follows.
type deviceFacts struct {
	connected bool
	// silent is set when the device is connected but its last heartbeat is older than
	// OfflineAfter, and so is its connection.
	silent  bool
	help    bool
	inCall  bool
	waiting bool
	// reported is the state of the last heartbeat, "" when none came.
	reported signalling.BoothState
	problem  string // the last heartbeat's last_error
}

// staffState derives the state the staff station shows: offline over everything (nobody
// can be helped through a booth the switchboard cannot hear), then a standing help
// request, then what the hub itself knows (a call, the waiting room), then a fault the
// booth reports. The booth's own idle, waiting and in_call are not trusted: they are up to
// a heartbeat interval old, and the hub knows better.
func staffState(f deviceFacts) (signalling.BoothState, string) {
	switch {
	case !f.connected || f.silent:
		return signalling.StateOffline, ""
	case f.help:
		return signalling.StateHelp, ""
	case f.inCall:
		return signalling.StateInCall, ""
	case f.waiting:
		return signalling.StateWaiting, ""
	case f.reported == signalling.StateFault:
		return signalling.StateFault, f.problem
	}
	return signalling.StateIdle, ""
}

// factsLocked gathers what the hub knows of device d. Must hold h.mu.
func (h *Hub) factsLocked(d *store.Device) deviceFacts {
	var f deviceFacts
	now := h.clock.Now()
	for c := range h.devices[d.ID] {
		f.connected = true
		if len(c.calls) > 0 {
			f.inCall = true
		}
		hb, ok := h.health[d.ID]
		if ok && now.Sub(hb.ReceivedAt) >= OfflineAfter && now.Sub(c.since) >= OfflineAfter {
			f.silent = true
		}
	}
	if hb, ok := h.health[d.ID]; ok {
		f.reported, f.problem = hb.Heartbeat.State, hb.Heartbeat.LastError
	}
	_, f.help = h.helpOn[d.ID]
	for _, w := range h.waiting[d.ClinicID] {
		if w.c.id == d.ID {
			f.waiting = true
			f.inCall = f.inCall || w.call != nil
		}
	}
	return f
}

// devicesLocked builds the staff view of clinic ("" for every clinic). Must hold h.mu.
func (h *Hub) devicesLocked(clinic string) (*signalling.Devices, error) {
	ds, err := h.store.Devices(clinic)
	if err != nil {
		return nil, fmt.Errorf("list the devices of clinic %q: %w", clinic, err)
	}
	ds = slices.DeleteFunc(ds, func(d store.Device) bool { return d.Revoked != nil })
	slices.SortStableFunc(ds, func(a, b store.Device) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	out := &signalling.Devices{ClinicID: clinic, Devices: make([]signalling.DeviceStatus, 0, min(len(ds), signalling.MaxStaffDevices))}
	if len(ds) > signalling.MaxStaffDevices {
		ds, out.Truncated = ds[:signalling.MaxStaffDevices], true
	}
	for i := range ds {
		d := &ds[i]
		st, problem := staffState(h.factsLocked(d))
		v := signalling.DeviceStatus{ID: d.ID, Name: clip(d.Name, signalling.MaxNameLen), Room: clip(d.Room, signalling.MaxNameLen),
			State: st, Problem: problem}
		if a, ok := h.helpOn[d.ID]; ok {
			v.Help = a.status()
		}
		out.Devices = append(out.Devices, v)
	}
	return out, nil
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// sendDevices sends c its view if it changed since the last one it was sent. Must hold
// h.mu. view is built by the caller, who may share it between connections.
func (h *Hub) sendDevices(c *client, view *signalling.Devices) {
	if c.devSent != nil && sameDevices(c.devSent, view) {
		return
	}
	c.devSent = view
	c.send(signalling.TypeDevices, view)
}

func sameDevices(a, b *signalling.Devices) bool {
	return a.ClinicID == b.ClinicID && a.Truncated == b.Truncated &&
		slices.EqualFunc(a.Devices, b.Devices, func(x, y signalling.DeviceStatus) bool {
			hx, hy := x.Help, y.Help
			x.Help, y.Help = nil, nil
			if x != y || (hx == nil) != (hy == nil) {
				return false
			}
			return hx == nil || (hx.Since.Equal(hy.Since) && hx.AcknowledgedBy == hy.AcknowledgedBy &&
				(hx.AcknowledgedAt == nil) == (hy.AcknowledgedAt == nil))
		})
}

// pushDevices sends the staff stations that see clinic their views, where they changed:
// the clinic's, and the fleet admins'. Must hold h.mu.
func (h *Hub) pushDevices(clinic string) {
	keys := []string{clinic}
	if clinic != "" {
		keys = append(keys, "")
	}
	for _, key := range keys {
		if len(h.staff[key]) == 0 {
			continue
		}
		view, err := h.devicesLocked(key)
		if err != nil {
			h.log.Error("staff view", "clinic", key, "err", err)
			continue
		}
		for c := range h.staff[key] {
			h.sendDevices(c, view)
		}
	}
}

// refreshDevices re-sends c its view if time changed it (a heartbeat that stopped).
// Called by c's ping loop.
func (h *Hub) refreshDevices(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !c.staff {
		return
	}
	view, err := h.devicesLocked(c.clinic)
	if err != nil {
		c.log.Error("staff view", "err", err)
		return
	}
	h.sendDevices(c, view)
}

// Devices returns the staff view of clinic, "" for every clinic.
func (h *Hub) Devices(clinic string) (*signalling.Devices, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.devicesLocked(clinic)
}

// AcknowledgeHelp records that clinician by is coming to the standing help request of
// device id: the clinic's clinicians and staff stations are told who, and so is the
// booth, which then shows and says that help is coming. Acknowledging again (by anyone)
// changes nothing and returns the first acknowledgement, first false: whoever said first
// is coming. It returns ErrNotFound for a device by may not see, ErrNoHelp when no
// request stands.
func (h *Hub) AcknowledgeHelp(id string, by *store.Clinician) (st signalling.HelpStatus, first bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.helpOn[id]
	if ok && by.ClinicID != "" && a.clinic != by.ClinicID {
		return st, false, ErrNotFound
	}
	if !ok {
		return st, false, ErrNoHelp
	}
	if !a.ackAt.IsZero() {
		return *a.status(), false, nil
	}
	msg := *a.msg
	msg.AcknowledgedBy = clip(by.Name, signalling.MaxNameLen)
	if msg.AcknowledgedBy == "" {
		msg.AcknowledgedBy = clip(by.Username, signalling.MaxNameLen)
	}
	a.msg, a.ackAt = &msg, h.clock.Now()
	h.helpOn[id] = a
	for c := range h.clinicians[a.clinic] {
		c.send(signalling.TypeHelp, a.msg)
	}
	for c := range h.devices[id] {
		c.send(signalling.TypeHelp, a.msg)
	}
	h.pushDevices(a.clinic)
	h.log.Info("help acknowledged", "device", id, "by", by.Username)
	return *a.status(), true, nil
}
