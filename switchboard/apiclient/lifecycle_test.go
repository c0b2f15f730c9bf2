package apiclient_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/enrol"
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

// AppointmentEvents follows next_offset to the last page, and refuses a server that sends
// it back where it was.
func TestClientFollowsHistoryPages(t *testing.T) {
	var asked []string
	stuck := false
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.RawQuery)
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		var page struct {
			Events     []appointment.Record `json:"events"`
			NextOffset *int                 `json:"next_offset,omitempty"`
		}
		for i := off; i < min(off+2, 5); i++ {
			page.Events = append(page.Events, appointment.Record{Key: fmt.Sprint("k", i)})
		}
		if next := off + len(page.Events); next < 5 {
			if stuck {
				next = off
			}
			page.NextOffset = &next
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(page) //nolint:errcheck
	}))
	defer ts.Close()
	c, err := apiclient.New(ts.URL, "tok", ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := c.AppointmentEvents(context.Background(), "appt1")
	var keys []string
	for _, r := range recs {
		keys = append(keys, r.Key)
	}
	if err != nil || strings.Join(keys, " ") != "k0 k1 k2 k3 k4" {
		t.Errorf("records: got %v (%v), want k0 to k4", keys, err)
	}
	if got, want := strings.Join(asked, " "), "limit=500&offset=0 limit=500&offset=2 limit=500&offset=4"; got != want {
		t.Errorf("asked: got %s, want %s", got, want)
	}
	stuck = true
	if _, err := c.AppointmentEvents(context.Background(), "appt1"); err == nil || !strings.Contains(err.Error(), "next_offset 0 after offset 0") {
		t.Errorf("a server that does not advance: got %v, want an error naming next_offset", err)
	}
}

// TestClientApprovesEnrolment: an admin lists the waiting device and approves its code.
func TestClientApprovesEnrolment(t *testing.T) {
	ts, clock := newSwitchboard(t)
	ctx := context.Background()
	anon, _ := apiclient.New(ts.URL, "", ts.Client())
	login, err := anon.Login(ctx, "admin", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin := anon.WithToken(login.Token)
	clinic, err := admin.CreateClinic(ctx, "Riverside", "")
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	body := []byte(`{"name":"booth-9","version":"1.0"}`)
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/enrol", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", enrol.Authorization(key, "POST", "/api/v1/enrol", clock.Now(), body))
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	pending, err := admin.Enrolments(ctx)
	if err != nil || len(pending) != 1 || pending[0].Name != "booth-9" {
		t.Fatalf("enrolments: got %+v, %v, want booth-9 waiting", pending, err)
	}
	d, err := admin.ApproveEnrolment(ctx, enrol.Approval{Code: pending[0].Code, Site: clinic.ID, Room: "Room 1", Role: device.RoleBooth})
	if err != nil || d.Room != "Room 1" || d.Name != "booth-9" {
		t.Fatalf("approve: got %+v, %v", d, err)
	}
	if _, err := admin.ApproveEnrolment(ctx, enrol.Approval{Code: pending[0].Code, Site: clinic.ID, Room: "Room 1"}); !apiclient.IsStatus(err, http.StatusNotFound) {
		t.Errorf("the code again: got %v, want 404", err)
	}
}
