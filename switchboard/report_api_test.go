package switchboard

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/switchboard/report"
	"github.com/carebooth/carebooth/switchboard/store"
)

// seedReport adds, at the env's booth, yesterday: one attended visit (waited 120 s, a call
// of 600 s) and one no-show.
func (e *env) seedReport() {
	e.t.Helper()
	yesterday := t0.Add(-24 * time.Hour)
	seen := e.addAppointment(e.booth, "Kim Lee", yesterday)
	ev := func(k appointment.Event, who appointment.Actor, at time.Time) store.EventInput {
		return store.EventInput{Event: k, Actor: who, At: at, Received: at}
	}
	dev := appointment.Actor{Kind: appointment.ActorDevice, ID: e.booth.ID}
	doc := appointment.Actor{Kind: appointment.ActorClinician, ID: e.doc.ID}
	_, _, err := e.st.Apply(seen.ID,
		ev(appointment.OpenWindow, appointment.System, yesterday.Add(-5*time.Minute)),
		ev(appointment.Arrive, dev, yesterday.Add(-time.Minute)),
		ev(appointment.Admit, doc, yesterday.Add(time.Minute)),
		ev(appointment.End, doc, yesterday.Add(11*time.Minute)))
	must(e.t, err)
	missed := e.addAppointment(e.booth, "Jo Bloggs", yesterday.Add(time.Hour))
	_, _, err = e.st.Apply(missed.ID, ev(appointment.MarkNoShow, doc, yesterday.Add(70*time.Minute)))
	must(e.t, err)
}

func (e *env) getReport(query, tok, accept string) (int, http.Header, []byte) {
	e.t.Helper()
	res, body := e.send("GET", "/api/v1/reports"+query, "", bearer(tok, "Accept", accept))
	return res.StatusCode, res.Header, body
}

func TestReportJSON(t *testing.T) {
	e := newEnv(t)
	e.seedReport()
	status, _, body := e.getReport("", e.docTok, "")
	if status != http.StatusOK {
		t.Fatalf("got %d %s", status, body)
	}
	var rep report.Report
	must(t, json.Unmarshal(body, &rep))
	if len(rep.Clinics) != 1 || rep.Clinics[0].ClinicID != e.clinic.ID {
		t.Fatalf("clinician's report: got %+v, want only their clinic", rep.Clinics)
	}
	if want := t0.Truncate(24 * time.Hour).Add(24 * time.Hour); !rep.To.Equal(want) || !rep.From.Equal(want.Add(-30*24*time.Hour)) {
		t.Errorf("default range: got %v to %v, want the 30 days to %v", rep.From, rep.To, want)
	}
	m := rep.Clinics[0].Total
	// The env's own appointment (today, 09:05, not yet due) counts as booked, neither
	// attended nor missed.
	if m.Appointments != 3 || m.Attended != 1 || m.DidNotAttend != 1 || m.DNARate == nil || *m.DNARate != 0.5 ||
		m.WaitSamples != 1 || *m.WaitMedianSeconds != 120 || m.CallSamples != 1 || *m.CallP90Seconds != 600 ||
		m.MeanBitrateKbps != nil || m.MeanPacketLossPct != nil {
		t.Errorf("totals: got %s", mustJSON(t, m))
	}
	if len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "not reported") {
		t.Errorf("notes: got %q, want that quality is not reported", rep.Notes)
	}
	if len(rep.Clinics[0].Sites) != 1 || rep.Clinics[0].Sites[0].Site != "booth-1" {
		t.Errorf("sites: got %+v, want booth-1", rep.Clinics[0].Sites)
	}

	// A fleet admin sees every clinic, or one.
	_, _, body = e.getReport("", e.fleetTok, "")
	must(t, json.Unmarshal(body, &rep))
	if len(rep.Clinics) != 2 {
		t.Errorf("admin: got %d clinics, want 2", len(rep.Clinics))
	}
	_, _, body = e.getReport("?clinic_id="+e.otherClinic.ID+"&from=2026-11-01&to=2026-11-22", e.fleetTok, "")
	must(t, json.Unmarshal(body, &rep))
	if len(rep.Clinics) != 1 || rep.Clinics[0].ClinicID != e.otherClinic.ID || rep.Clinics[0].Total.Appointments != 1 {
		t.Errorf("admin, one clinic: got %+v", rep.Clinics)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}

func TestReportCSV(t *testing.T) {
	e := newEnv(t)
	e.seedReport()
	for _, how := range []struct{ query, accept string }{{"?format=csv", ""}, {"", "text/csv, application/json;q=0.5"}} {
		status, h, body := e.getReport(how.query+map[bool]string{true: "&", false: "?"}[how.query != ""]+"from=2026-11-20&to=2026-11-22", e.docTok, how.accept)
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
			t.Fatalf("%+v: got %d %s %s", how, status, h.Get("Content-Type"), body)
		}
		if cd := h.Get("Content-Disposition"); cd != `attachment; filename="carebooth-report-20261120-20261122.csv"` {
			t.Errorf("Content-Disposition: got %q", cd)
		}
		recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil || len(recs) != 3 || !strings.Contains(string(body), "\r\n") {
			t.Fatalf("got %d records, %v: %q", len(recs), err, body)
		}
		if recs[1][0] != "clinic" || recs[1][7] != "3" || recs[1][10] != "0.5000" || recs[1][20] != "" || recs[2][3] != "booth-1" {
			t.Errorf("rows: got %q", recs[1:])
		}
	}
}

func TestReportRefusals(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, query, tok string
		status           int
		field            string
	}{
		{"no credentials", "", "", 401, ""},
		{"a device", "", e.boothTok, 403, ""},
		{"another clinic", "?clinic_id=" + e.otherClinic.ID, e.docTok, 403, ""},
		{"unknown clinic", "?clinic_id=nope", e.fleetTok, 400, "clinic_id"},
		{"bad from", "?from=yesterday", e.docTok, 400, "from"},
		{"backwards", "?from=2026-11-20&to=2026-11-19", e.docTok, 400, "to"},
		{"too long", "?from=2025-01-01&to=2026-11-19", e.docTok, 400, "to"},
		{"bad format", "?format=xlsx", e.docTok, 400, "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.getReport(tt.query, tt.tok, "")
			if status != tt.status {
				t.Fatalf("got %d %s, want %d", status, body, tt.status)
			}
			if got := errorOf(t, body); got.Field != tt.field {
				t.Errorf("field: got %q, want %q (%s)", got.Field, tt.field, got.Message)
			}
		})
	}
}
