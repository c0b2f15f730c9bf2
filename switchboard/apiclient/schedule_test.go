package apiclient_test

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/switchboard/apiclient"
)

func TestImportAndReport(t *testing.T) {
	ts, _ := newSwitchboard(t)
	ctx := context.Background()
	anon, err := apiclient.New(ts.URL, "", ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	login, err := anon.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin := anon.WithToken(login.Token)
	clinic, err := admin.CreateClinic(ctx, "Riverside", "")
	if err != nil {
		t.Fatal(err)
	}
	booth, _, err := admin.CreateDevice(ctx, "library-booth-1", clinic.ID, "booth")
	if err != nil {
		t.Fatal(err)
	}
	cal := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u1\r\nSUMMARY:Alex Morgan\r\nDTSTART;TZID=Europe/London:20261123T093000\r\nDURATION:PT20M\r\nRRULE:FREQ=DAILY;COUNT=2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	in := apiclient.ImportRequest{Data: []byte(cal), ClinicID: clinic.ID, DeviceID: booth.ID, DryRun: true}
	res, err := admin.ImportAppointments(ctx, in)
	if err != nil || !res.DryRun || res.Created != 2 || res.Format != "ical" {
		t.Fatalf("dry run: got %+v, %v", res, err)
	}
	in.DryRun = false
	if res, err = admin.ImportAppointments(ctx, in); err != nil || res.Created != 2 || res.Changes[0].AppointmentID == "" {
		t.Fatalf("import: got %+v, %v", res, err)
	}
	if a, err := admin.Appointment(ctx, res.Changes[0].AppointmentID); err != nil || a.ExternalID != "ical:u1/20261123T093000Z" || a.Patient != "Alex Morgan" {
		t.Errorf("imported appointment: got %+v, %v", a, err)
	}
	if res, err = admin.ImportAppointments(ctx, in); err != nil || res.Unchanged != 2 {
		t.Fatalf("re-import: got %+v, %v, want 2 unchanged", res, err)
	}
	in.Data = []byte(strings.Replace(cal, "DURATION:PT20M", "DURATION:twenty minutes", 1))
	_, err = admin.ImportAppointments(ctx, in)
	var ae *apiclient.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Line != 6 {
		t.Fatalf("malformed: got %v, want a 400 naming line 6", err)
	}

	from, to := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	rep, err := admin.Report(ctx, apiclient.ReportQuery{From: from, To: to, ClinicID: clinic.ID})
	if err != nil || len(rep.Clinics) != 1 || rep.Clinics[0].Total.Appointments != 2 || rep.Clinics[0].Sites[0].Site != "library-booth-1" {
		t.Fatalf("report: got %+v, %v", rep, err)
	}
	raw, err := admin.ReportCSV(ctx, apiclient.ReportQuery{From: from, To: to, ClinicID: clinic.ID})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "level" {
		t.Fatalf("CSV: got %q, %v", raw, err)
	}
	if _, err := anon.Report(ctx, apiclient.ReportQuery{}); !apiclient.IsStatus(err, http.StatusUnauthorized) {
		t.Errorf("report without a session: got %v, want 401", err)
	}
}
