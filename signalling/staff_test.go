package signalling

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStaffMessagesRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	acked := at.Add(20 * time.Second)
	tests := []struct {
		name string
		typ  Type
		body any
	}{
		{"help acknowledged", TypeHelp, &Help{Requested: true, DeviceID: "d1", DeviceName: "library-booth-1", AcknowledgedBy: "Sam Porter"}},
		{"hello from a staff station", TypeHello, &Hello{Role: RoleClinician, Agent: "staff", Staff: true}},
		{"an empty site", TypeDevices, &Devices{ClinicID: "c1", Devices: []DeviceStatus{}}},
		{"a site", TypeDevices, &Devices{ClinicID: "c1", Devices: []DeviceStatus{
			{ID: "d1", Name: "Booth 1", Room: "Lounge", State: StateHelp, Help: &HelpStatus{Since: at}},
			{ID: "d2", Name: "Booth 2", State: StateFault, Problem: "camera: no frame in 5s",
				Help: &HelpStatus{Since: at, AcknowledgedBy: "Sam Porter", AcknowledgedAt: &acked}},
			{ID: "d3", Name: "Booth 3", State: StateOffline},
		}}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := TypeOf(tt.body); err != nil || got != tt.typ {
				t.Fatalf("TypeOf: got %q, %v, want %q", got, err, tt.typ)
			}
			data, err := Encode(tt.typ, uint64(i+1), tt.body)
			if err != nil {
				t.Fatal(err)
			}
			env, body, err := Parse(data)
			if err != nil {
				t.Fatalf("parse %s: %v", data, err)
			}
			again, _ := Encode(env.Type, env.Seq, body)
			if string(again) != string(data) {
				t.Errorf("got %s, want %s", again, data)
			}
		})
	}
}

func TestStaffMessagesRefused(t *testing.T) {
	long := strings.Repeat("x", MaxNameLen+1)
	many := make([]string, MaxStaffDevices+1)
	for i := range many {
		many[i] = fmt.Sprintf(`{"id":"d%d","name":"B","state":"idle"}`, i)
	}
	dev := func(d string) string {
		return `{"v":1,"type":"devices","seq":1,"body":{"clinic_id":"c1","devices":[` + d + `]}}`
	}
	tests := []struct{ name, msg, mention string }{
		{"help acknowledged_by too long", `{"v":1,"type":"help","seq":1,"body":{"requested":true,"acknowledged_by":"` + long + `"}}`, "acknowledged_by is 201 bytes"},
		{"help acknowledged but over", `{"v":1,"type":"help","seq":1,"body":{"requested":false,"acknowledged_by":"Sam"}}`, "only a standing one"},
		{"help device_name too long", `{"v":1,"type":"help","seq":1,"body":{"requested":true,"device_name":"` + long + `"}}`, "device_name is 201 bytes"},
		{"staff hello from a device", `{"v":1,"type":"hello","seq":1,"body":{"role":"device","staff":true}}`, "staff is for clinicians"},
		{"devices missing", `{"v":1,"type":"devices","seq":1,"body":{"clinic_id":"c1"}}`, "devices is missing"},
		{"devices too many", dev(strings.Join(many, ",")), "the limit is 200"},
		{"device unknown state", dev(`{"id":"d1","name":"B","state":"asleep"}`), `state "asleep"`},
		{"device bad id", dev(`{"id":"d 1","name":"B","state":"idle"}`), "devices[0]: id"},
		{"device name too long", dev(`{"id":"d1","name":"` + long + `","state":"idle"}`), "name is 201 bytes"},
		{"device help without since", dev(`{"id":"d1","name":"B","state":"help","help":{}}`), "help.since is missing"},
		{"device help acknowledged without a time", dev(`{"id":"d1","name":"B","state":"help","help":{"since":"2026-11-21T10:00:00Z","acknowledged_by":"Sam"}}`), "come together"},
		{"device unknown field", dev(`{"id":"d1","name":"B","state":"idle","colour":"red"}`), "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.msg))
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != CodeBadMessage || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("got %v, want bad_message mentioning %q", err, tt.mention)
			}
		})
	}
}

// TestStaffStates: the staff station shows every heartbeat state and offline, which no
// heartbeat may report.
func TestStaffStates(t *testing.T) {
	if StateOffline.Valid() {
		t.Errorf("offline is valid in a heartbeat; want it the switchboard's word only")
	}
	if got, want := len(StaffStates), len(BoothStates)+1; got != want {
		t.Errorf("got %d staff states, want %d", got, want)
	}
}
