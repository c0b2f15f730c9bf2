package signalling

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
)

func TestAppointmentMessagesRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		typ  Type
		body any
	}{
		{TypeEvent, &Event{Key: "k-1", AppointmentID: "a1", Event: appointment.Arrive, At: at}},
		{TypeEventAck, &EventAck{Key: "k-1", Status: "waiting"}},
		{TypeEventAck, &EventAck{Key: "k-2", Status: "no_show", Refused: "arrive no_show: not allowed"}},
		{TypeSettings, &Settings{Seq: 7, JoinMode: device.JoinButton}},
		{TypeSettingsAck, &SettingsAck{Seq: 7}},
		{TypeConfig, &Config{Seq: 8, Version: 3, Document: "[log]\nlevel = \"warn\"\n"}},
		{TypeConfigAck, &ConfigAck{Seq: 8, Version: 3, Result: ConfigApplied}},
		{TypeConfigAck, &ConfigAck{Version: 4, Result: ConfigRolledBack, Reason: "could not reach the switchboard"}},
		{TypeOutcome, &Outcome{AppointmentID: "a1", Outcome: OutcomeTelephone}},
		{TypeHelp, &Help{Requested: true, DeviceID: "d1", DeviceName: "library-booth-1"}},
		{TypeQuality, &Quality{AppointmentID: "a1", CallID: "c1", BitrateKbps: 812.5, PacketLossPct: 0.4, RTTMs: 12, Seconds: 600}},
		{TypeQualityAck, &QualityAck{CallID: "c1"}},
		{TypeQualityAck, &QualityAck{CallID: "c2", Refused: "appointment a1 had no call c2"}},
	}
	for i, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
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

func TestAppointmentMessagesRefused(t *testing.T) {
	tests := []struct{ name, msg, mention string }{
		{"event without key", `{"v":1,"type":"event","seq":1,"body":{"appointment_id":"a1","event":"arrive","at":"2026-11-21T10:00:00Z"}}`, "key is missing"},
		{"event bad key", `{"v":1,"type":"event","seq":1,"body":{"key":"a b","appointment_id":"a1","event":"arrive","at":"2026-11-21T10:00:00Z"}}`, "key"},
		{"event unknown", `{"v":1,"type":"event","seq":1,"body":{"key":"k","appointment_id":"a1","event":"admit","at":"2026-11-21T10:00:00Z"}}`, `event "admit"`},
		{"event without time", `{"v":1,"type":"event","seq":1,"body":{"key":"k","appointment_id":"a1","event":"arrive"}}`, "at is missing"},
		{"settings seq 0", `{"v":1,"type":"settings","seq":1,"body":{"seq":0,"join_mode":"auto"}}`, "seq"},
		{"quality ack no call", `{"v":1,"type":"quality_ack","seq":1,"body":{}}`, "call_id"},
		{"quality ack long reason", `{"v":1,"type":"quality_ack","seq":1,"body":{"call_id":"c1","refused":"` + strings.Repeat("x", 600) + `"}}`, "refused"},
		{"settings bad mode", `{"v":1,"type":"settings","seq":1,"body":{"seq":1,"join_mode":"shout"}}`, "join_mode"},
		{"settings_ack seq 0", `{"v":1,"type":"settings_ack","seq":1,"body":{"seq":0}}`, "seq"},
		{"config version 0", `{"v":1,"type":"config","seq":1,"body":{"seq":1,"version":0,"document":""}}`, "version"},
		{"config_ack unknown result", `{"v":1,"type":"config_ack","seq":1,"body":{"version":1,"result":"maybe"}}`, `result "maybe"`},
		{"config_ack refused without reason", `{"v":1,"type":"config_ack","seq":1,"body":{"version":1,"result":"refused"}}`, "reason is required"},
		{"outcome unknown", `{"v":1,"type":"outcome","seq":1,"body":{"appointment_id":"a1","outcome":"ended"}}`, `outcome "ended"`},
		{"outcome no appointment", `{"v":1,"type":"outcome","seq":1,"body":{"outcome":"no_show"}}`, "appointment_id is missing"},
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

// TestEventCarriesOutboxEventsOnly: an event message carries what a booth records in its
// outbox (window_open, arrive, leave) and no other life-cycle event.
func TestEventCarriesOutboxEventsOnly(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	for _, ev := range appointment.Events {
		t.Run(string(ev), func(t *testing.T) {
			data, err := Encode(TypeEvent, 1, &Event{Key: "k", AppointmentID: "a1", Event: ev, At: at})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = Parse(data)
			want := ev == appointment.OpenWindow || ev == appointment.Arrive || ev == appointment.Leave
			if got := err == nil; got != want {
				t.Errorf("parse an event %q: got %v, want accepted %v", ev, err, want)
			}
		})
	}
}
