package schedimport

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/store"
)

// DeviceIdentifierSystem is the FHIR identifier system (and the iCalendar property
// X-CAREBOOTH-DEVICE) that names a Carebooth device by its ID or name.
const DeviceIdentifierSystem = "https://carebooth.org/fhir/device"

// MaxEntries bounds the appointments one import may hold.
const MaxEntries = 20000

// maxPatientLen is the switchboard's limit on a patient's display name, in characters.
const maxPatientLen = 100

// Error is a refusal of a whole file, naming where its first problem is.
type Error struct {
	Line int    // iCalendar: 1-based line where the offending content line starts
	Path string // FHIR: JSON path, e.g. entry[3].resource.start
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Path != "":
		return e.Path + ": " + e.Msg
	}
	return e.Msg
}

// Where names the place in the file for people: "line 12" or a JSON path.
func (e *Error) Where() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d", e.Line)
	}
	return e.Path
}

// Entry is one appointment read from a file.
type Entry struct {
	ExternalID string
	Where      string // "line 12" or "entry[3].resource", for messages
	Patient    string // display name only
	// DeviceRefs are the names the source gives for the booth, tried in order against
	// device IDs, then names.
	DeviceRefs []string
	Start, End time.Time
	Service    string
	// Cancelled is set when the source says the appointment will not take place.
	Cancelled bool
}

// Skip is an entry of the file that is not imported, and why.
type Skip struct {
	ExternalID string `json:"external_id,omitempty"`
	Where      string `json:"where"`
	Reason     string `json:"reason"`
}

// Batch is what a file holds.
type Batch struct {
	Format  string // "fhir" or "ical"
	Entries []Entry
	Skipped []Skip
	// OutsideWindow counts instances of recurring or single events outside the window.
	OutsideWindow int
}

// ExternalIDs lists the batch's external IDs, for the store lookup.
func (b *Batch) ExternalIDs() []string {
	ids := make([]string, len(b.Entries))
	for i, e := range b.Entries {
		ids[i] = e.ExternalID
	}
	return ids
}

// An import's report is the API's wire type, so the server and its clients share one
// shape.
type (
	Action = api.ImportAction
	Change = api.ImportChange
	Result = api.ImportResult
)

// What an import does with one entry.
const (
	Create    = api.ImportCreate
	Update    = api.ImportUpdate
	Cancel    = api.ImportCancel
	Unchanged = api.ImportUnchanged
	Skipped   = api.ImportSkip
)

// Options are an import's settings that do not come from the file.
type Options struct {
	ClinicID string
	// DefaultDevice is the device ID used for entries whose references match no device.
	DefaultDevice string
	Now           time.Time // stamps CreatedAt and UpdatedAt
	// Actor is who imports: the cancellations an import makes are theirs in the history.
	Actor appointment.Actor
}

// Plan decides what importing b does to the clinic, given its devices and the
// appointments earlier imports made (keyed by external ID). It returns the appointments to
// write (for store.Store.ImportAppointments) and the report. An entry whose device cannot
// be resolved refuses the whole import with an *Error naming the entry.
//
// New entries that ended before opt.Now are skipped: a booth cannot join them and they
// would only count as did-not-attend. Only appointments still scheduled are changed. Once the booth's join window has opened,
// or the patient is waiting, in a call or done, the booth and the clinician own the
// appointment and an import leaves it as it is (and says so). An appointment cancelled in
// Carebooth stays cancelled. Cancellations are life-cycle events by opt.Actor.
func Plan(b *Batch, devices []store.Device, existing map[string]store.Appointment, opt Options) ([]store.ImportWrite, Result, error) {
	res := Result{Format: b.Format, OutsideWindow: b.OutsideWindow, Changes: []Change{}}
	byID := map[string]string{}
	byName := map[string][]string{}
	for _, d := range devices {
		if d.ClinicID != opt.ClinicID {
			continue
		}
		byID[d.ID] = d.ID
		k := foldName(d.Name)
		byName[k] = append(byName[k], d.ID)
	}
	if opt.DefaultDevice != "" && byID[opt.DefaultDevice] == "" {
		return nil, res, &Error{Msg: fmt.Sprintf("default device %q is not a device of clinic %s", opt.DefaultDevice, opt.ClinicID)}
	}
	resolve := func(e *Entry) (string, error) {
		for _, ref := range e.DeviceRefs {
			if id := byID[ref]; id != "" {
				return id, nil
			}
			switch ids := byName[foldName(ref)]; len(ids) {
			case 0:
			case 1:
				return ids[0], nil
			default:
				return "", entryError(e, fmt.Sprintf("device name %q is ambiguous: clinic %s has %d devices of that name; use the device ID", ref, opt.ClinicID, len(ids)))
			}
		}
		if opt.DefaultDevice != "" {
			return opt.DefaultDevice, nil
		}
		if len(e.DeviceRefs) == 0 {
			return "", entryError(e, "names no device: give a default device for this import, or name the booth (see the import guide)")
		}
		return "", entryError(e, fmt.Sprintf("names no device of clinic %s (tried %s): name a device by its ID or name, or give a default device", opt.ClinicID, quoteAll(e.DeviceRefs)))
	}

	for _, s := range b.Skipped {
		res.Changes = append(res.Changes, Change{Action: Skipped, ExternalID: s.ExternalID, Where: s.Where, Reason: s.Reason})
		res.Skipped++
	}
	var out []store.ImportWrite
	for i := range b.Entries {
		e := &b.Entries[i]
		ch := Change{ExternalID: e.ExternalID, Where: e.Where, Patient: e.Patient, Start: e.Start, End: e.End}
		old, exists := existing[e.ExternalID]
		if exists {
			ch.AppointmentID = old.ID
		}
		switch {
		case e.Cancelled && !exists:
			ch.Action, ch.Reason = Skipped, "cancelled at the source and never imported: nothing to cancel"
		case e.Cancelled && old.Status == appointment.Cancelled:
			ch.Action, ch.Reason = Unchanged, "already cancelled"
		case e.Cancelled && old.Status != appointment.Scheduled && old.Status != appointment.WindowOpen:
			ch.Action, ch.Reason = Unchanged, fmt.Sprintf("cancelled at the source, but the appointment is %s here: left as it is", old.Status)
		case e.Cancelled:
			ch.Action, ch.DeviceID = Cancel, old.DeviceID
			ev := &store.EventInput{Event: appointment.Cancel, Actor: opt.Actor, At: opt.Now, Received: opt.Now}
			out = append(out, store.ImportWrite{Appointment: old, Event: ev})
		default:
			dev, err := resolve(e)
			if err != nil {
				return nil, res, err
			}
			ch.DeviceID = dev
			if !exists && !e.End.After(opt.Now) {
				// A booking the source never closed would only count as a did-not-attend.
				ch.Action, ch.Reason = Skipped, "already over: ended before the import"
				break
			}
			if !exists {
				ch.Action = Create
				out = append(out, store.ImportWrite{Appointment: store.Appointment{
					ClinicID: opt.ClinicID, DeviceID: dev, Patient: e.Patient, Start: e.Start, End: e.End,
					Status: appointment.Scheduled, CreatedAt: opt.Now, UpdatedAt: opt.Now,
					ExternalID: e.ExternalID, Service: e.Service,
				}})
				break
			}
			changed := diff(&old, e, dev)
			switch {
			case len(changed) == 0:
				ch.Action = Unchanged
			case old.Status == appointment.Cancelled:
				ch.Action, ch.Reason = Unchanged, "cancelled in Carebooth: not booked again by an import"
			case old.Status != appointment.Scheduled:
				ch.Action, ch.Reason = Unchanged, fmt.Sprintf("the appointment is %s: changes to %s not applied", old.Status, strings.Join(changed, ", "))
			default:
				ch.Action, ch.Changed = Update, changed
				old.DeviceID, old.Patient, old.Start, old.End, old.Service = dev, e.Patient, e.Start, e.End, e.Service
				old.UpdatedAt = opt.Now
				out = append(out, store.ImportWrite{Appointment: old})
			}
		}
		switch ch.Action {
		case Create:
			res.Created++
		case Update:
			res.Updated++
		case Cancel:
			res.Cancelled++
		case Unchanged:
			res.Unchanged++
		case Skipped:
			res.Skipped++
		}
		res.Changes = append(res.Changes, ch)
	}
	return out, res, nil
}

func diff(a *store.Appointment, e *Entry, dev string) []string {
	var c []string
	if !a.Start.Equal(e.Start) {
		c = append(c, "start")
	}
	if !a.End.Equal(e.End) {
		c = append(c, "end")
	}
	if a.DeviceID != dev {
		c = append(c, "device")
	}
	if a.Patient != e.Patient {
		c = append(c, "patient")
	}
	if a.Service != e.Service {
		c = append(c, "service")
	}
	return c
}

// entryError names an entry in a refusal.
func entryError(e *Entry, msg string) *Error {
	var line int
	if _, err := fmt.Sscanf(e.Where, "line %d", &line); err == nil && line > 0 {
		return &Error{Line: line, Msg: msg}
	}
	return &Error{Path: e.Where, Msg: msg}
}

func foldName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// cleanName checks a patient's display name as the switchboard's API would; "" if unusable.
func cleanName(s string) (string, string) {
	s = strings.Join(strings.Fields(s), " ")
	switch {
	case s == "":
		return "", "no patient name"
	case !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", "the patient name is not printable text"
	case utf8.RuneCountInString(s) > maxPatientLen:
		return "", fmt.Sprintf("the patient name is longer than %d characters", maxPatientLen)
	}
	return s, ""
}

// checkTimes says why an entry's times cannot be an appointment, or "".
func checkTimes(start, end time.Time) string {
	switch {
	case !end.After(start):
		return "ends before it starts"
	case end.Sub(start) > store.MaxAppointmentLength:
		return fmt.Sprintf("longer than %s", store.MaxAppointmentLength)
	}
	return ""
}

// maxDeviceRefs bounds the names an entry gives for its booth: real files give one to
// three, and each is tried against the clinic's devices.
const maxDeviceRefs = 16

// addUnique appends s to refs unless it is empty or already there, or refs is full.
func addUnique(refs []string, s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || len(refs) >= maxDeviceRefs || slices.Contains(refs, s) {
		return refs
	}
	return append(refs, s)
}
