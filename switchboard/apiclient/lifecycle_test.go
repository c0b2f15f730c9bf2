package apiclient_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/switchboard/apiclient"
)

func TestClientLifecycle(t *testing.T) {
	ts, clock := newSwitchboard(t)
	ctx := context.Background()
	anon, _ := apiclient.New(ts.URL, "", ts.Client())
	login, err := anon.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin := anon.WithToken(login.Token)
	clinic, err := admin.CreateClinic(ctx, "Riverside", "0123")
	if err != nil {
		t.Fatal(err)
	}
	dev, _, err := admin.CreateDevice(ctx, "booth-1", clinic.ID, "booth")
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now().Add(time.Hour)
	a, err := admin.CreateAppointment(ctx, apiclient.NewAppointment{ClinicID: clinic.ID, DeviceID: dev.ID, Patient: "Kim", Start: start, End: start.Add(20 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := admin.MoveToTelephone(ctx, a.ID); err != nil || got.Status != "telephone" {
		t.Fatalf("telephone: got %+v, %v", got, err)
	}
	if _, err := admin.MarkNoShow(ctx, a.ID); !apiclient.IsStatus(err, http.StatusConflict) {
		t.Errorf("no-show after telephone: got %v, want 409", err)
	}
	h, err := admin.AppointmentEvents(ctx, a.ID)
	if err != nil || len(h) != 1 || h[0].Event != appointment.MoveTelephone || h[0].Actor.Kind != appointment.ActorClinician {
		t.Errorf("events: got %+v, %v, want one telephone by a clinician", h, err)
	}
	if sent, err := admin.SetJoinMode(ctx, dev.ID, "button"); err != nil || sent {
		t.Errorf("set join mode: got %v, %v, want stored and not sent (offline)", sent, err)
	}
	if _, err := admin.SetJoinMode(ctx, dev.ID, "sometimes"); !apiclient.IsStatus(err, http.StatusBadRequest) {
		t.Errorf("bad join mode: got %v, want 400", err)
	}
	if _, err := admin.MarkNoShow(ctx, "../x"); err == nil {
		t.Error("bad ID: got nil error")
	}
}
