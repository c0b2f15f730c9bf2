package apiclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/deviceca"
	"github.com/carebooth/carebooth/switchboard/store"
)

const adminPassword = "admin password 1"

// newSwitchboard starts an in-process switchboard with one admin and no clinic.
func newSwitchboard(t *testing.T) (*httptest.Server, clockwork.Clock) {
	t.Helper()
	st := store.NewMemory()
	hash, err := switchboard.HashPassword(adminPassword, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateClinician(&store.Clinician{Username: "admin", Name: "Admin", Admin: true, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	ca, _, err := deviceca.Open(t.TempDir(), "test devices", clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := switchboard.New(switchboard.Config{BcryptCost: bcrypt.MinCost}, switchboard.Deps{Store: st, Clock: clock, CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return ts, clock
}

func TestClient(t *testing.T) {
	ts, clock := newSwitchboard(t)
	ctx := context.Background()
	anon, err := apiclient.New(ts.URL, "", ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Login(ctx, "admin", "wrong password"); !apiclient.IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("wrong password: got %v, want 401", err)
	}
	login, err := anon.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin := anon.WithToken(login.Token)
	me, err := admin.Me(ctx)
	if err != nil || me.Clinician == nil || !me.Clinician.Admin {
		t.Fatalf("me: got %+v, %v", me, err)
	}

	clinic, err := admin.CreateClinic(ctx, "Riverside", "0123")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateClinician(ctx, apiclient.NewClinician{Username: "dr.patel", Password: "long enough pw", Name: "Dr Patel", ClinicID: clinic.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = admin.CreateClinician(ctx, apiclient.NewClinician{Username: "dr.patel", Password: "long enough pw", Name: "Dr Patel", ClinicID: clinic.ID})
	var ae *apiclient.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Field != "username" {
		t.Errorf("duplicate clinician: got %v, want 409 on username", err)
	}
	dev, tok, err := admin.CreateDevice(ctx, "booth-1", clinic.ID, "booth")
	if err != nil || tok == "" || dev.ClinicID != clinic.ID {
		t.Fatalf("create device: got %+v, %q, %v", dev, tok, err)
	}
	if devs, err := admin.Devices(ctx); err != nil || len(devs) != 1 {
		t.Errorf("devices: got %+v, %v", devs, err)
	}

	l, err := anon.Login(ctx, "dr.patel", "long enough pw")
	if err != nil {
		t.Fatal(err)
	}
	doc := anon.WithToken(l.Token)
	start := clock.Now().Add(time.Hour)
	appt, err := doc.CreateAppointment(ctx, apiclient.NewAppointment{DeviceID: dev.ID, Patient: "Kim", Start: start, End: start.Add(20 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = doc.CreateAppointment(ctx, apiclient.NewAppointment{DeviceID: dev.ID, Patient: "Kim", Start: start, End: start})
	if !errors.As(err, &ae) || ae.Field != "end" {
		t.Errorf("bad appointment: got %v, want a refusal naming end", err)
	}
	booth := anon.WithToken(tok)
	list, err := booth.Appointments(ctx, apiclient.AppointmentQuery{})
	if err != nil || len(list) != 1 || list[0].ID != appt.ID {
		t.Errorf("booth's appointments: got %+v, %v", list, err)
	}
	if _, err := booth.WaitingRoom(ctx); !apiclient.IsStatus(err, http.StatusForbidden) {
		t.Errorf("booth reads the waiting room: got %v, want 403", err)
	}
	q, err := doc.WaitingRoom(ctx)
	if err != nil || q.ClinicID != clinic.ID {
		t.Errorf("waiting room: got %+v, %v", q, err)
	}
	if got, err := doc.CancelAppointment(ctx, appt.ID); err != nil || got.Status != "cancelled" {
		t.Errorf("cancel: got %+v, %v", got, err)
	}
	if _, err := doc.Appointment(ctx, "nope"); !apiclient.IsStatus(err, http.StatusNotFound) {
		t.Errorf("unknown appointment: got %v, want 404", err)
	}
	if err := doc.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := doc.Me(ctx); !apiclient.IsStatus(err, http.StatusUnauthorized) {
		t.Errorf("after logout: got %v, want 401", err)
	}
}
