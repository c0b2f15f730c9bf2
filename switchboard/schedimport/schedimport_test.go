package schedimport

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/switchboard/store"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// brief is an entry as the tests compare it.
type brief struct {
	ID, Patient, Start, End string
	Refs                    []string
	Service                 string
	Cancelled               bool
}

func briefs(es []Entry) []brief {
	out := make([]brief, len(es))
	for i, e := range es {
		out[i] = brief{e.ExternalID, e.Patient, e.Start.Format(time.RFC3339), e.End.Format(time.RFC3339), e.DeviceRefs, e.Service, e.Cancelled}
	}
	return out
}

func checkEntries(t *testing.T, got []Entry, want []brief) {
	t.Helper()
	g := briefs(got)
	if len(g) != len(want) {
		t.Errorf("got %d entries, want %d", len(g), len(want))
	}
	for i := range max(len(g), len(want)) {
		switch {
		case i >= len(g):
			t.Errorf("entry %d: missing, want %+v", i, want[i])
		case i >= len(want):
			t.Errorf("entry %d: got %+v, want none", i, g[i])
		case !reflect.DeepEqual(g[i], want[i]):
			t.Errorf("entry %d:\n got  %+v\n want %+v", i, g[i], want[i])
		}
	}
}

func skipReasons(ss []Skip) map[string]string {
	m := map[string]string{}
	for _, s := range ss {
		m[s.ExternalID] = s.Reason
	}
	return m
}

func TestParseFHIRBundle(t *testing.T) {
	b, err := ParseFHIR(read(t, "pas-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, b.Entries, []brief{
		{"fhir:Appointment/apt-1001", "Alex Morgan", "2026-11-23T09:30:00Z", "2026-11-23T09:50:00Z", []string{"lib-booth-1", "library-booth-1"}, "GP video consultation", false},
		{"fhir:Appointment/apt-1002", "Samuel Robert Jones", "2026-11-23T10:00:00Z", "2026-11-23T10:15:00Z", []string{"library-booth-1"}, "Diabetes review", false},
		{"fhir:Appointment/apt-1003", "Alex Morgan", "2026-11-23T11:00:00Z", "2026-11-23T11:20:00Z", nil, "", true},
		{"fhir:Appointment/apt-1005", "Kim Lee", "2026-11-24T14:15:00Z", "2026-11-24T14:35:00Z", []string{"dev-22", "Care home tablet"}, "", false},
	})
	if got := skipReasons(b.Skipped); len(got) != 1 || !strings.Contains(got["fhir:Appointment/apt-1004"], "proposed") {
		t.Errorf("skipped: got %v, want apt-1004 as proposed", got)
	}
	// Nothing identifying beyond the display name survives parsing.
	for _, e := range b.Entries {
		for _, bad := range []string{"9434765919", "9000000009", "1958", "High Street", "LS1"} {
			if strings.Contains(e.Patient, bad) || strings.Contains(strings.Join(e.DeviceRefs, " "), bad) {
				t.Errorf("entry %s keeps %q", e.ExternalID, bad)
			}
		}
	}
}

func TestParseFHIRRefusesWithPath(t *testing.T) {
	tests := []struct {
		file, path, msg string
	}{
		{"bad-status.json", "entry[1].resource.status", `"confirmed" is not an R4 Appointment status`},
		{"bad-start.json", "entry[1].resource.start", "not a FHIR instant"},
		{"bad-type.json", "entry[0].resource.minutesDuration", "must be a number"},
		{"bad-syntax.json", "", "line 3, column"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := ParseFHIR(read(t, tt.file))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Path != tt.path || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got path %q, message %q; want path %q, a message containing %q", e.Path, e.Msg, tt.path, tt.msg)
			}
		})
	}
	inline := map[string]struct{ doc, path string }{
		"not FHIR":               {`{"hello": 1}`, "resourceType"},
		"a Patient":              {`{"resourceType": "Patient"}`, "resourceType"},
		"entry not an array":     {`{"resourceType": "Bundle", "entry": {}}`, "entry"},
		"no patient":             {`{"resourceType": "Appointment", "id": "x", "status": "booked", "start": "2026-11-23T09:30:00Z", "end": "2026-11-23T09:50:00Z"}`, "participant"},
		"no id":                  {`{"resourceType": "Appointment", "status": "booked"}`, "id"},
		"end before start":       {`{"resourceType": "Appointment", "id": "x", "status": "booked", "start": "2026-11-23T09:30:00Z", "end": "2026-11-23T09:00:00Z"}`, "end"},
		"entry without resource": {`{"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}`, "entry[0].resource"},
		"duplicate": {`{"resourceType": "Bundle", "entry": [
			{"resource": {"resourceType": "Appointment", "id": "x", "status": "proposed"}},
			{"resource": {"resourceType": "Appointment", "id": "x", "status": "proposed"}}]}`, "entry[1].resource.id"},
		"trailing data": {`{"resourceType": "Bundle"} {}`, ""},
	}
	for name, tt := range inline {
		t.Run(name, func(t *testing.T) {
			_, err := ParseFHIR([]byte(tt.doc))
			var e *Error
			if !errors.As(err, &e) || e.Path != tt.path {
				t.Errorf("got %v, want an *Error at %q", err, tt.path)
			}
		})
	}
}

var window = ICalOptions{From: utc("2026-11-23T00:00:00Z"), To: utc("2027-01-01T00:00:00Z")}

func TestParseICalOutlookRoom(t *testing.T) {
	b, err := ParseICal(read(t, "outlook-room.ics"), window)
	if err != nil {
		t.Fatal(err)
	}
	const uid = "ical:040000008200E00074C5B7101A82E00800000000B0A1/"
	room := []string{"library-booth-1", "booth1"}
	checkEntries(t, b.Entries, []brief{
		{uid + "20261123T093000Z", "Morgan, Alex", "2026-11-23T09:30:00Z", "2026-11-23T09:50:00Z", room, "", false},
		{uid + "20261130T093000Z", "Morgan, Alex", "2026-11-30T09:30:00Z", "2026-11-30T09:50:00Z", room, "", false},
		{uid + "20261207T093000Z", "Morgan, Alex", "2026-12-07T11:00:00Z", "2026-12-07T11:20:00Z", room, "", false}, // moved
		{uid + "20261214T093000Z", "Morgan, Alex", "2026-12-14T09:30:00Z", "2026-12-14T09:50:00Z", nil, "", true},   // cancelled instance
		{uid + "20261221T093000Z", "Morgan, Alex", "2026-12-21T09:30:00Z", "2026-12-21T09:50:00Z", room, "", false},
		// 28 December is an EXDATE.
		{"ical:single-77@riverside", "Sam Jones", "2026-11-24T14:15:00Z", "2026-11-24T14:35:00Z", []string{"Library booth 1, ground floor"}, "", false},
	})
	if got := skipReasons(b.Skipped); len(got) != 1 || !strings.Contains(got["ical:staff-training-2026-11-25"], "all-day") {
		t.Errorf("skipped: got %v, want the all-day event", got)
	}
}

func TestParseICalGoogleFeed(t *testing.T) {
	b, err := ParseICal(read(t, "google-feed.ics"), window)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, b.Entries, []brief{
		{"ical:5q2v7k1@google.com", "Marie Dubois", "2026-11-26T10:00:00Z", "2026-11-26T10:30:00Z", []string{"care-home-tablet"}, "", false}, // Paris is UTC+1
		{"ical:floating-1@google.com", "Pat Green", "2026-11-27T15:00:00Z", "2026-11-27T15:20:00Z", nil, "", false},                          // X-WR-TIMEZONE
		{"ical:cancelled-3@google.com", "Chris Hall", "2026-11-30T10:00:00Z", "2026-11-30T10:20:00Z", nil, "", true},
		{"ical:daily@thunderbird/20261202T090000Z", "Daily check-in", "2026-12-02T09:00:00Z", "2026-12-02T09:15:00Z", nil, "", false},
		{"ical:daily@thunderbird/20261203T090000Z", "Daily check-in", "2026-12-03T09:00:00Z", "2026-12-03T09:15:00Z", nil, "", false},
		{"ical:daily@thunderbird/20261204T090000Z", "Daily check-in", "2026-12-04T09:00:00Z", "2026-12-04T09:15:00Z", nil, "", false},
		{"ical:daily@thunderbird/20261210T090000Z", "Daily check-in", "2026-12-10T09:00:00Z", "2026-12-10T09:15:00Z", nil, "", false}, // RDATE
	})
	if got := skipReasons(b.Skipped); !strings.Contains(got["ical:no-end@google.com"], "no DTEND or DURATION") {
		t.Errorf("skipped: got %v, want no-end skipped for having no end", got)
	}
}

// A VTIMEZONE with a name no time zone database knows is computed from its own rules:
// 16:00 local is 16:00Z before the last Sunday in March and 15:00Z after it.
func TestParseICalVTimezoneRules(t *testing.T) {
	b, err := ParseICal(read(t, "custom-tz.ics"), ICalOptions{From: utc("2027-03-01T00:00:00Z"), To: utc("2027-05-01T00:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, b.Entries, []brief{
		{"ical:weekly-friday/20270319T160000Z", "Rae Khan", "2027-03-19T16:00:00Z", "2027-03-19T16:30:00Z", nil, "", false},
		{"ical:weekly-friday/20270326T160000Z", "Rae Khan", "2027-03-26T16:00:00Z", "2027-03-26T16:30:00Z", nil, "", false},
		{"ical:weekly-friday/20270402T150000Z", "Rae Khan", "2027-04-02T15:00:00Z", "2027-04-02T15:30:00Z", nil, "", false},
	})
	// The same file read with Europe/London's own rules agrees.
	london := strings.ReplaceAll(string(read(t, "custom-tz.ics")), "Trust Local Time", "Europe/London")
	b2, err := ParseICal([]byte(london), ICalOptions{From: utc("2027-03-01T00:00:00Z"), To: utc("2027-05-01T00:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.Entries {
		if !b.Entries[i].Start.Equal(b2.Entries[i].Start) {
			t.Errorf("instance %d: VTIMEZONE rules give %v, Europe/London gives %v", i, b.Entries[i].Start, b2.Entries[i].Start)
		}
	}
}

func TestParseICalRefusesWithLine(t *testing.T) {
	tests := []struct {
		file string
		line int
		msg  string
	}{
		{"bad-dtstart.ics", 12, "DTSTART"},
		{"bad-nesting.ics", 8, "END:VCALENDAR, but the open component is VEVENT"},
		{"bad-tzid.ics", 6, "Mars/Olympus_Mons"},
		{"bad-rrule.ics", 8, "RRULE"},
		{"bad-nouid.ics", 3, "UID"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := ParseICal(read(t, tt.file), window)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Line != tt.line || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got line %d, %q; want line %d, a message containing %q", e.Line, e.Msg, tt.line, tt.msg)
			}
		})
	}
	inline := map[string]struct {
		doc  string
		line int
	}{
		"not iCalendar":       {"hello\n", 1},
		"empty":               {"", 1},
		"continuation first":  {" BEGIN:VCALENDAR\n", 1},
		"cut short":           {"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\n", 4},
		"unclosed quote":      {"BEGIN:VCALENDAR\nATTENDEE;CN=\"Alex:mailto:a@b\nEND:VCALENDAR\n", 2},
		"minutely":            {"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nSUMMARY:A\nDTSTART:20261123T093000Z\nDURATION:PT5M\nRRULE:FREQ=MINUTELY\nEND:VEVENT\nEND:VCALENDAR\n", 7},
		"duplicate UID":       {"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:20261123T093000Z\nEND:VEVENT\nBEGIN:VEVENT\nUID:x\nDTSTART:20261123T093000Z\nEND:VEVENT\nEND:VCALENDAR\n", 6},
		"negative duration":   {"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nSUMMARY:A\nDTSTART:20261123T093000Z\nDURATION:-PT5M\nEND:VEVENT\nEND:VCALENDAR\n", 6},
		"folded bad line":     {"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:2026\n 1123T0930\nEND:VEVENT\nEND:VCALENDAR\n", 4},
		"not UTF-8":           {"BEGIN:VCALENDAR\nSUMMARY:\xff\nEND:VCALENDAR\n", 2},
		"status not a status": {"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:20261123T093000Z\nSTATUS:MAYBE\nEND:VEVENT\nEND:VCALENDAR\n", 5},
	}
	for name, tt := range inline {
		t.Run(name, func(t *testing.T) {
			_, err := ParseICal([]byte(tt.doc), window)
			var e *Error
			if !errors.As(err, &e) || e.Line != tt.line {
				t.Errorf("got %v, want an *Error at line %d", err, tt.line)
			}
		})
	}
}

// UNTIL as a DATE includes that day's instance; as a UTC time it is exact.
func TestParseICalUntil(t *testing.T) {
	for _, tt := range []struct {
		until string
		want  int
	}{{"20261125", 3}, {"20261124T235959Z", 2}, {"20261125T093000Z", 3}, {"20261125T092959Z", 2}} {
		cal := "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:u\nSUMMARY:Alex Morgan\nDTSTART:20261123T093000Z\nDURATION:PT20M\nRRULE:FREQ=DAILY;UNTIL=" + tt.until + "\nEND:VEVENT\nEND:VCALENDAR\n"
		b, err := ParseICal([]byte(cal), window)
		if err != nil || len(b.Entries) != tt.want {
			t.Errorf("UNTIL=%s: got %d instances, %v; want %d", tt.until, len(b.Entries), err, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := map[string]time.Duration{"PT20M": 20 * time.Minute, "PT1H30M": 90 * time.Minute, "P1D": 24 * time.Hour, "P1W": 7 * 24 * time.Hour, "P1DT2H": 26 * time.Hour, "PT45S": 45 * time.Second}
	for in, want := range tests {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("%s: got %v, %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "P", "PT", "20M", "PT20", "PTM", "P1H", "-PT1M", "PT1X"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("%q: got nil error", bad)
		}
	}
}

func TestPlan(t *testing.T) {
	now := utc("2026-11-21T12:00:00Z")
	devices := []store.Device{
		{ID: "dev-lib", Name: "library-booth-1", ClinicID: "c1"},
		{ID: "dev-22", Name: "care-home-tablet", ClinicID: "c1"},
		{ID: "dev-other", Name: "library-booth-2", ClinicID: "c2"},
	}
	b, err := ParseFHIR(read(t, "pas-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{ClinicID: "c1", Now: now, Actor: appointment.Actor{Kind: appointment.ActorClinician, ID: "dr"}}

	// First import: everything is new.
	writes, res, err := Plan(b, devices, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 3 || res.Skipped != 2 || res.Updated+res.Cancelled+res.Unchanged != 0 {
		t.Errorf("first import: got %+v, want 3 created, 2 skipped (a proposed, a never-imported cancellation)", res)
	}
	wantDev := map[string]string{"fhir:Appointment/apt-1001": "dev-lib", "fhir:Appointment/apt-1002": "dev-lib", "fhir:Appointment/apt-1005": "dev-22"}
	existing := map[string]store.Appointment{}
	for i, w := range writes {
		a := w.Appointment
		if a.DeviceID != wantDev[a.ExternalID] || a.Status != appointment.Scheduled || a.ClinicID != "c1" || !a.CreatedAt.Equal(now) {
			t.Errorf("created %s: got %+v, want device %s, scheduled", a.ExternalID, a, wantDev[a.ExternalID])
		}
		a.ID = "id" + string(rune('0'+i))
		existing[a.ExternalID] = a
	}

	// The same file again changes nothing.
	writes, res, err = Plan(b, devices, existing, opt)
	if err != nil || len(writes) != 0 || res.Unchanged != 3 || res.Created != 0 {
		t.Errorf("re-import: got %d writes, %+v, %v; want nothing written, 3 unchanged", len(writes), res, err)
	}

	// Moved, cancelled at source, and one already in a call.
	b.Entries[0].Start, b.Entries[0].End = b.Entries[0].Start.Add(time.Hour), b.Entries[0].End.Add(time.Hour)
	b.Entries[1].Cancelled = true
	inCall := existing["fhir:Appointment/apt-1005"]
	inCall.Status = appointment.InCall
	existing[inCall.ExternalID] = inCall
	b.Entries[3].Patient = "Kim Lee-Smith"
	writes, res, err = Plan(b, devices, existing, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 1 || res.Cancelled != 1 || res.Unchanged != 1 || len(writes) != 2 {
		t.Errorf("changes: got %+v with %d writes, want 1 updated, 1 cancelled, 1 unchanged (in call)", res, len(writes))
	}
	for _, wr := range writes {
		w := wr.Appointment
		switch w.ExternalID {
		case "fhir:Appointment/apt-1001":
			if !w.Start.Equal(utc("2026-11-23T10:30:00Z")) || w.ID != existing[w.ExternalID].ID || wr.Event != nil {
				t.Errorf("moved: got %+v, want start 10:30, the same ID and no event", wr)
			}
		case "fhir:Appointment/apt-1002":
			if wr.Event == nil || wr.Event.Event != appointment.Cancel || wr.Event.Actor != opt.Actor {
				t.Errorf("cancelled: got %+v, want a cancel event by the importer", wr)
			}
		default:
			t.Errorf("unexpected write %+v", w)
		}
	}

	// Past bookings are not imported: at 10:00, apt-1001 (09:30 to 09:50) is over.
	fresh, err := ParseFHIR(read(t, "pas-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, res, err = Plan(fresh, devices, nil, Options{ClinicID: "c1", Now: utc("2026-11-23T10:00:00Z")})
	if err != nil || res.Created != 2 {
		t.Errorf("import at 10:00: got %+v, %v, want 2 created", res, err)
	}
	for _, c := range res.Changes {
		if c.ExternalID == "fhir:Appointment/apt-1001" && (c.Action != Skipped || !strings.Contains(c.Reason, "already over")) {
			t.Errorf("apt-1001 at 10:00: got %+v, want skipped as already over", c)
		}
	}

	// A device reference that matches nothing refuses the import, naming the entry.
	b.Entries[0].DeviceRefs = []string{"no-such-booth"}
	_, _, err = Plan(b, devices, nil, opt)
	var e *Error
	if !errors.As(err, &e) || e.Path != "entry[0].resource" || !strings.Contains(e.Msg, "no-such-booth") {
		t.Errorf("unknown device: got %v, want an *Error at entry[0].resource naming the reference", err)
	}
	// ... unless the import has a default device.
	if _, _, err := Plan(b, devices, nil, Options{ClinicID: "c1", DefaultDevice: "dev-22", Now: now}); err != nil {
		t.Errorf("with a default device: got %v", err)
	}
	// Another clinic's device is not a match, nor a valid default.
	b.Entries[0].DeviceRefs = []string{"library-booth-2"}
	if _, _, err := Plan(b, devices, nil, opt); err == nil {
		t.Error("another clinic's device name: got nil error")
	}
	if _, _, err := Plan(b, devices, nil, Options{ClinicID: "c1", DefaultDevice: "dev-other"}); err == nil {
		t.Error("another clinic's device as default: got nil error")
	}
}

func TestPlanICalErrorNamesLine(t *testing.T) {
	b, err := ParseICal(read(t, "outlook-room.ics"), window)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Plan(b, []store.Device{{ID: "d", Name: "elsewhere", ClinicID: "c1"}}, nil, Options{ClinicID: "c1"})
	var e *Error
	if !errors.As(err, &e) || e.Line != 21 {
		t.Errorf("got %v, want an *Error at line 21 (the recurring VEVENT)", err)
	}
}
