package switchboard

import (
	"reflect"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/hub"
	"github.com/carebooth/carebooth/switchboard/store"
)

// zeroFields names the fields of struct v (recursively through pointers and structs)
// that are zero.
func zeroFields(v reflect.Value, prefix string) []string {
	var out []string
	for i := range v.NumField() {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		if f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Type().PkgPath() == reflect.TypeFor[api.Appointment]().PkgPath() {
			out = append(out, zeroFields(f.Elem(), name+".")...)
			continue
		}
		if f.IsZero() {
			out = append(out, name)
		}
	}
	return out
}

// TestAPIViewsCopyEveryField: what the API sends of a stored appointment or device has
// every field of the wire type filled, so a field added to package api and forgotten in
// the server's view (as apiclient once lacked quality) fails here.
func TestAPIViewsCopyEveryField(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	a := store.Appointment{ID: "a1", ClinicID: "c1", DeviceID: "d1", Patient: "P", Start: now, End: now.Add(time.Hour),
		Status: appointment.Ended, CreatedAt: now, UpdatedAt: now, ExternalID: "ical:x", Service: "GP",
		Quality:     &store.CallQuality{Calls: 1, BitrateKbps: 900, PacketLossPct: 1, RTTMs: 40, Seconds: 600, CallIDs: []string{"k1"}},
		BoothEvents: 3, RefusedEvents: 1}
	if z := zeroFields(reflect.ValueOf(apiAppointment(&a)), ""); len(z) > 0 {
		t.Errorf("apiAppointment leaves %v unset", z)
	}
	d := store.Device{ID: "d1", Name: "booth", ClinicID: "c1", Role: device.RoleBooth, CreatedAt: now, LastSeen: now, JoinMode: device.JoinButton,
		Room: "Room 2", PublicKey: make([]byte, 32), Revoked: &store.Revocation{At: now, By: "it", Reason: "stolen"},
		ConfigVersion: 3, ConfigError: "refused version 4: x"}
	h := hub.Health{Online: true, ReceivedAt: now, Heartbeat: signalling.Heartbeat{Version: "1", State: signalling.StateIdle}}
	if z := zeroFields(reflect.ValueOf(withHealth(apiDevice(&d), h, true)), ""); len(z) > 0 {
		t.Errorf("apiDevice with health leaves %v unset", z)
	}
	c := store.Clinician{ID: "u1", Username: "u", Name: "U", ClinicID: "c1", Admin: true}
	if z := zeroFields(reflect.ValueOf(*apiClinician(&c)), ""); len(z) > 0 {
		t.Errorf("apiClinician leaves %v unset", z)
	}
}
