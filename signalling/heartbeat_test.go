package signalling

import (
	"errors"
	"strings"
	"testing"
)

func TestHeartbeatBounds(t *testing.T) {
	ok := `"version":"1.4.0","uptime_seconds":60,"state":"idle","camera":true,"microphone":true,"speaker":true`
	for _, tc := range []struct {
		name, body, want string // want: "" accepted, else a fragment of the refusal
	}{
		{"minimal", `{` + ok + `}`, ""},
		{"full", `{` + ok + `,"rtt_ms":20,"disk_free_bytes":5000,"temp_celsius":51.2,"last_error":"x","firmware_version":"f1","config_version":"c1"}`, ""},
		{"no version", `{"uptime_seconds":1,"state":"idle"}`, "version is missing"},
		{"long version", `{"version":"` + strings.Repeat("v", 65) + `","state":"idle"}`, "version is 65 bytes"},
		{"long last_error", `{` + ok + `,"last_error":"` + strings.Repeat("e", 501) + `"}`, "last_error is 501 bytes"},
		{"long config_version", `{` + ok + `,"config_version":"` + strings.Repeat("c", 65) + `"}`, "config_version is 65 bytes"},
		{"bad state", `{"version":"1","state":"asleep"}`, `state "asleep"`},
		{"negative uptime", `{"version":"1","state":"idle","uptime_seconds":-1}`, "uptime_seconds -1"},
		{"rtt too big", `{` + ok + `,"rtt_ms":60001}`, "rtt_ms 60001"},
		{"disk negative", `{` + ok + `,"disk_free_bytes":-5}`, "disk_free_bytes -5"},
		{"too hot", `{` + ok + `,"temp_celsius":400}`, "temp_celsius 400"},
		{"device_id not allowed", `{` + ok + `,"device_id":"other"}`, `unknown field "device_id"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, body, err := Parse([]byte(`{"v":1,"type":"heartbeat","seq":1,"body":` + tc.body + `}`))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want accepted", err)
				}
				if _, isHB := body.(*Heartbeat); !isHB {
					t.Fatalf("got %T, want *Heartbeat", body)
				}
				return
			}
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a protocol error containing %q", err, tc.want)
			}
		})
	}
}
