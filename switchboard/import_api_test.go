package switchboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/schedimport"
	"github.com/carebooth/carebooth/switchboard/store"
)

// fhirBundle is a PAS-shaped bundle: two booked appointments at booth-1 (one by
// Location display, one by a Carebooth device identifier) and one cancelled.
func fhirBundle(start time.Time, cancelSecond bool) string {
	status2 := "booked"
	if cancelSecond {
		status2 = "cancelled"
	}
	at := func(d time.Duration) string { return start.Add(d).Format(time.RFC3339) }
	return fmt.Sprintf(`{"resourceType": "Bundle", "type": "searchset", "entry": [
  {"fullUrl": "https://pas.example/Appointment/1", "resource": {"resourceType": "Appointment", "id": "1", "status": "booked",
    "serviceType": [{"coding": [{"display": "GP video consultation"}]}],
    "start": %q, "end": %q,
    "participant": [{"actor": {"reference": "Patient/9", "display": "Alex Morgan"}},
                    {"actor": {"reference": "Location/L1", "display": "booth-1"}}]}},
  {"resource": {"resourceType": "Appointment", "id": "2", "status": %q, "start": %q, "minutesDuration": 15,
    "participant": [{"actor": {"reference": "Patient/10", "display": "Sam Jones"}},
                    {"actor": {"type": "Device", "identifier": {"system": "https://carebooth.org/fhir/device", "value": "booth-1"}}}]}},
  {"resource": {"resourceType": "Patient", "id": "9", "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}]}}
]}`, at(time.Hour), at(time.Hour+20*time.Minute), status2, at(2*time.Hour))
}

func decodeResult(t *testing.T, body []byte) schedimport.Result {
	t.Helper()
	var r schedimport.Result
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("import result %s: %v", body, err)
	}
	return r
}

func TestImportFHIR(t *testing.T) {
	e := newEnv(t)
	const path = "/api/v1/appointments/import"
	file := fhirBundle(t0, false)

	// A dry run reports and changes nothing.
	before := e.snapshot()
	status, body := e.doRaw("POST", path+"?dry_run=true", e.docTok, "application/fhir+json", []byte(file))
	if status != http.StatusOK {
		t.Fatalf("dry run: got %d %s, want 200", status, body)
	}
	if r := decodeResult(t, body); !r.DryRun || r.Created != 2 || r.Format != "fhir" {
		t.Errorf("dry run: got %+v, want 2 to create", r)
	}
	if e.snapshot() != before {
		t.Error("a dry run changed the store")
	}

	status, body = e.doRaw("POST", path, e.docTok, "application/fhir+json", []byte(file))
	if status != http.StatusOK {
		t.Fatalf("import: got %d %s, want 200", status, body)
	}
	r := decodeResult(t, body)
	if r.DryRun || r.Created != 2 {
		t.Fatalf("import: got %+v, want 2 created", r)
	}
	as, err := e.st.AppointmentsByClinic(e.clinic.ID, t0, t0.Add(24*time.Hour))
	must(t, err)
	var imported []store.Appointment
	for _, a := range as {
		if a.ExternalID != "" {
			imported = append(imported, a)
		}
	}
	if len(imported) != 2 {
		t.Fatalf("after import: got %d imported appointments, want 2", len(imported))
	}
	a := imported[0]
	if a.ExternalID != "fhir:Appointment/1" || a.Patient != "Alex Morgan" || a.DeviceID != e.booth.ID ||
		!a.Start.Equal(t0.Add(time.Hour)) || a.Service != "GP video consultation" || a.Status != appointment.Scheduled {
		t.Errorf("imported: got %+v", a)
	}
	for _, c := range r.Changes {
		if c.Action == schedimport.Create && c.AppointmentID == "" {
			t.Errorf("change %+v: no appointment ID after a real import", c)
		}
	}
	if strings.Contains(e.snapshot(), "9434765919") {
		t.Error("the store keeps the NHS number from the bundle")
	}

	// The same file again: idempotent.
	after := e.snapshot()
	status, body = e.doRaw("POST", path, e.docTok, "application/fhir+json", []byte(file))
	if r := decodeResult(t, body); status != http.StatusOK || r.Unchanged != 2 || r.Created != 0 {
		t.Errorf("re-import: got %d %+v, want 2 unchanged", status, r)
	}
	if e.snapshot() != after {
		t.Error("re-importing the same file changed the store")
	}

	// The PAS moves one and cancels the other.
	e.clock.Advance(time.Minute)
	moved := strings.NewReplacer(
		t0.Add(time.Hour).Format(time.RFC3339), t0.Add(3*time.Hour).Format(time.RFC3339),
		t0.Add(80*time.Minute).Format(time.RFC3339), t0.Add(200*time.Minute).Format(time.RFC3339),
	).Replace(fhirBundle(t0, true))
	status, body = e.doRaw("POST", path, e.docTok, "application/json", []byte(moved))
	if r := decodeResult(t, body); status != http.StatusOK || r.Updated != 1 || r.Cancelled != 1 {
		t.Fatalf("changes: got %d %+v, want 1 updated, 1 cancelled", status, r)
	}
	got, _ := e.st.AppointmentsByExternalID(e.clinic.ID, []string{"fhir:Appointment/1", "fhir:Appointment/2"})
	if g := got["fhir:Appointment/1"]; g.ID != a.ID || !g.Start.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("moved: got %+v, want the same appointment at %v", g, t0.Add(3*time.Hour))
	}
	if g := got["fhir:Appointment/2"]; g.Status != appointment.Cancelled {
		t.Errorf("cancelled at source: got status %s", g.Status)
	}
	if h, _ := e.st.History(got["fhir:Appointment/2"].ID); len(h) != 1 || h[0].Actor.ID != e.doc.ID {
		t.Errorf("history of the cancellation: got %+v, want one record by the importing clinician", h)
	}
}

func TestImportRefusals(t *testing.T) {
	e := newEnv(t)
	const path = "/api/v1/appointments/import"
	good := fhirBundle(t0, false)
	ical := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Alex Morgan\r\nDTSTART:20261121T100000Z\r\nDTEND:20261121T102000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nSUMMARY:Sam Jones\r\nDTSTART:20261121T1100\r\nDTEND:20261121T112000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	goodICal := strings.Replace(ical, "DTSTART:20261121T1100", "DTSTART:20261121T110000Z", 1)
	badFHIR := strings.Replace(good, `"status": "booked"`, `"status": "confirmed"`, 1)
	noDevice := strings.ReplaceAll(good, "booth-1", "booth-9")
	tests := []struct {
		name        string
		tok, query  string
		contentType string
		body        string
		status      int
		field       string
		line        int
	}{
		{"no credentials", "", "", "application/fhir+json", good, 401, "", 0},
		{"a device", e.boothTok, "", "application/fhir+json", good, 403, "", 0},
		{"another clinic", e.otherDocTok, "?clinic_id=" + e.clinic.ID, "application/fhir+json", good, 403, "", 0},
		{"unknown clinic", e.fleetTok, "?clinic_id=nope", "application/fhir+json", good, 400, "clinic_id", 0},
		{"bad FHIR status", e.docTok, "", "application/fhir+json", badFHIR, 400, "entry[0].resource.status", 0},
		{"device not in clinic", e.docTok, "", "application/fhir+json", noDevice, 400, "entry[0].resource", 0},
		{"bad iCalendar line", e.docTok, "?device_id=" + e.booth.ID, "text/calendar", ical, 400, "", 12},
		{"unknown default device", e.docTok, "?device_id=" + e.otherBooth.ID, "text/calendar", goodICal, 400, "device_id", 0},
		{"not a schedule", e.docTok, "", "text/plain", "hello", 400, "format", 0},
		{"bad dry_run", e.docTok, "?dry_run=perhaps", "application/fhir+json", good, 400, "dry_run", 0},
		{"window too long", e.docTok, "?from=2026-01-01T00:00:00Z&to=2028-01-01T00:00:00Z", "text/calendar", ical, 400, "to", 0},
		{"too large", e.docTok, "", "application/fhir+json", strings.Repeat(" ", maxImportBytes+1), 413, "", 0},
	}
	before := e.snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.doRaw("POST", path+tt.query, tt.tok, tt.contentType, []byte(tt.body))
			if status != tt.status {
				t.Fatalf("got %d %s, want %d", status, body, tt.status)
			}
			var v struct{ Error api.Error }
			must(t, json.Unmarshal(body, &v))
			if v.Error.Field != tt.field || v.Error.Line != tt.line {
				t.Errorf("got field %q line %d (%s), want field %q line %d", v.Error.Field, v.Error.Line, v.Error.Message, tt.field, tt.line)
			}
			if tt.line > 0 && !strings.Contains(v.Error.Message, fmt.Sprintf("line %d", tt.line)) {
				t.Errorf("message %q does not name line %d", v.Error.Message, tt.line)
			}
			if e.snapshot() != before {
				t.Fatal("a refused import changed the store")
			}
		})
	}
}

func TestImportICalRoomCalendar(t *testing.T) {
	e := newEnv(t)
	// A weekly room calendar with one instance cancelled, for the booth given as default.
	cal := "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:weekly@room\nSUMMARY:Alex Morgan\n" +
		"DTSTART;TZID=Europe/London:20261123T093000\nDTEND;TZID=Europe/London:20261123T095000\n" +
		"RRULE:FREQ=WEEKLY;COUNT=4\nEXDATE;TZID=Europe/London:20261130T093000\nEND:VEVENT\nEND:VCALENDAR\n"
	status, body := e.doRaw("POST", "/api/v1/appointments/import?device_id="+e.booth.ID, e.docTok, "text/calendar", []byte(cal))
	r := decodeResult(t, body)
	if status != http.StatusOK || r.Created != 3 {
		t.Fatalf("got %d %+v, want 3 created (4 weeks less one EXDATE)", status, r)
	}
	as, _ := e.st.AppointmentsByDevice(e.booth.ID, t0.Add(48*time.Hour), t0.Add(30*24*time.Hour))
	if len(as) != 3 || as[0].ExternalID != "ical:weekly@room/20261123T093000Z" || !as[1].Start.Equal(time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("got %+v", as)
	}
}

// A connected booth gets its new schedule as soon as an import lands, and an import does
// not cancel a patient who is already in the waiting room.
func TestImportPushesScheduleAndLeavesWaitingAlone(t *testing.T) {
	e := newEnv(t)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	const path = "/api/v1/appointments/import"
	if status, body := e.doRaw("POST", path, e.docTok, "application/fhir+json", []byte(fhirBundle(t0, false))); status != http.StatusOK {
		t.Fatalf("import: got %d %s", status, body)
	}
	s := expect[signalling.Schedule](booth, signalling.TypeSchedule)
	if len(s.Appointments) != 3 {
		t.Fatalf("schedule after import: got %d appointments, want 3 (one booked here, two imported)", len(s.Appointments))
	}
	got, _ := e.st.AppointmentsByExternalID(e.clinic.ID, []string{"fhir:Appointment/2"})
	second := got["fhir:Appointment/2"]
	booth.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: second.ID})
	expect[signalling.Schedule](booth, signalling.TypeSchedule)
	if st := e.status(second.ID); st != appointment.Waiting {
		t.Fatalf("after arrive: got %s, want waiting", st)
	}

	status, body := e.doRaw("POST", path, e.docTok, "application/fhir+json", []byte(fhirBundle(t0, true)))
	r := decodeResult(t, body)
	if status != http.StatusOK || r.Cancelled != 0 || r.Unchanged != 2 {
		t.Fatalf("re-import cancelling a waiting patient: got %d %+v, want nothing cancelled", status, r)
	}
	for _, c := range r.Changes {
		if c.ExternalID == "fhir:Appointment/2" && !strings.Contains(c.Reason, "waiting") {
			t.Errorf("change for the waiting patient: got %+v, want a reason saying they are waiting", c)
		}
	}
	if st := e.status(second.ID); st != appointment.Waiting {
		t.Errorf("after the re-import: got %s, want still waiting", st)
	}
}
