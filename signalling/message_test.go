package signalling

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		name, msg, code, mention string
	}{
		{"not json", `{"v":1,`, CodeBadMessage, "envelope"},
		{"unknown envelope field", `{"v":1,"type":"arrive","seq":1,"body":{"appointment_id":"a1"},"x":1}`, CodeBadMessage, `"x"`},
		{"old version", `{"v":0,"type":"arrive","seq":1,"body":{"appointment_id":"a1"}}`, CodeUnsupportedVersion, "version 0"},
		{"future version", `{"v":2,"type":"arrive","seq":1,"body":{"appointment_id":"a1"}}`, CodeUnsupportedVersion, "version 2"},
		{"seq zero", `{"v":1,"type":"arrive","seq":0,"body":{"appointment_id":"a1"}}`, CodeBadMessage, "seq"},
		{"unknown type", `{"v":1,"type":"dance","seq":1,"body":{}}`, CodeBadMessage, `"dance"`},
		{"missing body", `{"v":1,"type":"arrive","seq":1}`, CodeBadMessage, "body is missing"},
		{"unknown body field", `{"v":1,"type":"arrive","seq":1,"body":{"appointment_id":"a1","patient":"x"}}`, CodeBadMessage, `"patient"`},
		{"missing appointment", `{"v":1,"type":"arrive","seq":1,"body":{}}`, CodeBadMessage, "appointment_id is missing"},
		{"bad id", `{"v":1,"type":"admit","seq":1,"body":{"appointment_id":"../etc"}}`, CodeBadMessage, "not a valid ID"},
		{"bad role", `{"v":1,"type":"hello","seq":1,"body":{"role":"root"}}`, CodeBadMessage, "role"},
		{"sdp not sdp", `{"v":1,"type":"offer","seq":1,"body":{"call_id":"c1","sdp":"hello"}}`, CodeBadMessage, "v=0"},
		{"candidate garbage", `{"v":1,"type":"candidate","seq":1,"body":{"call_id":"c1","candidate":"x"}}`, CodeBadMessage, "candidate:"},
		{"end reason", `{"v":1,"type":"end","seq":1,"body":{"call_id":"c1","reason":"bored"}}`, CodeBadMessage, "reason"},
		{"restart without call", `{"v":1,"type":"restart","seq":1,"body":{"reason":"failed"}}`, CodeBadMessage, "call_id is missing"},
		{"restart reason", `{"v":1,"type":"restart","seq":1,"body":{"call_id":"c1","reason":"bored"}}`, CodeBadMessage, "reason"},
		{"quality loss over 100", `{"v":1,"type":"quality","seq":1,"body":{"appointment_id":"a1","call_id":"c1","bitrate_kbps":800,"packet_loss_pct":101,"seconds":5}}`, CodeBadMessage, "packet_loss_pct"},
		{"quality negative bitrate", `{"v":1,"type":"quality","seq":1,"body":{"appointment_id":"a1","call_id":"c1","bitrate_kbps":-1,"packet_loss_pct":0,"seconds":5}}`, CodeBadMessage, "bitrate_kbps"},
		{"trailing data", `{"v":1,"type":"arrive","seq":1,"body":{"appointment_id":"a1"}} {}`, CodeBadMessage, "trailing"},
		{"oversized", `{"v":1,"type":"offer","seq":1,"body":{"call_id":"c1","sdp":"v=0` + strings.Repeat("a", MaxMessageBytes) + `"}}`, CodeTooLarge, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body, err := Parse([]byte(tt.msg))
			if err == nil {
				t.Fatalf("got body %#v, want error %s", body, tt.code)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("got %T %v, want *ProtocolError", err, err)
			}
			if pe.Code != tt.code {
				t.Errorf("got code %s, want %s (%v)", pe.Code, tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("got %q, want it to mention %q", err, tt.mention)
			}
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("errors.Is(%v, ErrProtocol) = false, want true", err)
			}
		})
	}
}

func TestEncodeParseRoundTrip(t *testing.T) {
	idx := uint16(0)
	mid := "0"
	start := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		typ  Type
		body any
	}{
		{TypeHello, &Hello{Role: RoleDevice, Agent: "boothd test"}},
		{TypeSchedule, &Schedule{Appointments: []Appointment{{ID: "a1", ClinicID: "c1", DeviceID: "d1", Patient: "Mrs A", Start: start, End: start.Add(20 * time.Minute), Status: "scheduled"}}}},
		{TypeOffer, &SDP{CallID: "call1", SDP: "v=0\r\n"}},
		{TypeCandidate, &Candidate{CallID: "call1", Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: &mid, SDPMLineIndex: &idx}},
		{TypeEnd, &End{CallID: "call1", Reason: EndHangup}},
		{TypeEnd, &End{CallID: "call1", Reason: EndRevoked}},
		{TypeRestart, &Restart{CallID: "call1", Reason: RestartNetworkChange}},
		{TypeError, &Error{Code: CodeRevoked, Message: "this device has been revoked"}},
		{TypeError, &Error{Code: CodeConflict, Message: "already admitted", Ref: 3}},
	}
	for i, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			data, err := Encode(tt.typ, uint64(i+1), tt.body)
			if err != nil {
				t.Fatal(err)
			}
			env, body, err := Parse(data)
			if err != nil {
				t.Fatalf("parse %s: %v", data, err)
			}
			if env.Type != tt.typ || env.Seq != uint64(i+1) {
				t.Errorf("got type %s seq %d, want %s %d", env.Type, env.Seq, tt.typ, i+1)
			}
			again, err := Encode(env.Type, env.Seq, body)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(data) {
				t.Errorf("got %s, want %s", again, data)
			}
		})
	}
}

func TestScheduleRefusesBackwardsAppointment(t *testing.T) {
	start := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	data, err := Encode(TypeSchedule, 1, &Schedule{Appointments: []Appointment{{ID: "a1", Start: start, End: start}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Parse(data)
	if err == nil || !strings.Contains(err.Error(), "appointments[0]") {
		t.Fatalf("got %v, want an error naming appointments[0]", err)
	}
}

func TestTypeOf(t *testing.T) {
	if got, err := TypeOf(&Arrive{AppointmentID: "a"}); err != nil || got != TypeArrive {
		t.Errorf("got %q %v, want %q", got, err, TypeArrive)
	}
	if _, err := TypeOf(&SDP{}); err == nil {
		t.Error("got nil error for SDP, want one: offers and answers share the body")
	}
}
