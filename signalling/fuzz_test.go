package signalling

import (
	"bytes"
	"testing"
)

// FuzzParse: Parse never panics, refuses with a *ProtocolError, and what it accepts
// encodes again to a message that parses to the same thing.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"v":1,"type":"arrive","seq":1,"body":{"appointment_id":"a1"}}`,
		`{"v":1,"type":"event","seq":2,"body":{"key":"k-1","appointment_id":"a1","event":"window_open","at":"2026-11-21T10:00:00Z"}}`,
		`{"v":1,"type":"event_ack","seq":3,"body":{"key":"k-1","status":"no_show","refused":"arrive no_show: not allowed"}}`,
		`{"v":1,"type":"settings","seq":4,"body":{"seq":9,"join_mode":"button"}}`,
		`{"v":1,"type":"settings_ack","seq":5,"body":{"seq":9}}`,
		`{"v":1,"type":"outcome","seq":6,"body":{"appointment_id":"a1","outcome":"telephone"}}`,
		`{"v":1,"type":"queue","seq":7,"body":{"clinic_id":"c1","entries":[{"appointment_id":"a1","device_id":"d1","patient":"P","start":"2026-11-21T10:00:00Z","since":"2026-11-21T09:55:00Z","in_call":true}]}}`,
		`{"v":1,"type":"end","seq":8,"body":{"call_id":"c1","reason":"hangup"}}`,
		`{"v":1,"type":"end","seq":9,"body":{"call_id":"c1","reason":"revoked"}}`,
		`{"v":1,"type":"restart","seq":11,"body":{"call_id":"c1","reason":"disconnected"}}`,
		`{"v":1,"type":"error","seq":10,"body":{"code":"revoked","message":"this device has been revoked by IT"}}`,
		`{"v":1,"type":"diagnosis","seq":3,"body":{"request":4,"kind":"selftest","checks":[{"name":"camera","ok":false,"detail":"no frame in 5s","took_ms":5000}]}}`,
		`{"v":1,"type":"diagnose","seq":2,"body":{"request":4,"kind":"logs","lines":100}}`,
		`{"v":1,"type":"help","seq":12,"body":{"requested":true,"device_id":"d1","device_name":"Booth 1","acknowledged_by":"Sam Porter"}}`,
		`{"v":1,"type":"hello","seq":1,"body":{"role":"clinician","agent":"staff","staff":true}}`,
		`{"v":1,"type":"devices","seq":13,"body":{"clinic_id":"c1","devices":[{"id":"d1","name":"Booth 1","room":"Lounge","state":"help","help":{"since":"2026-11-21T10:00:00Z","acknowledged_by":"Sam","acknowledged_at":"2026-11-21T10:00:20Z"}},{"id":"d2","name":"B2","state":"offline"}]}}`,
		`{"v":1,"type":"heartbeat","seq":9,"body":{"version":"1.4.0","uptime_seconds":120,"state":"idle","camera":true,"microphone":true,"speaker":false,"rtt_ms":12.5,"disk_free_bytes":1000000,"temp_celsius":48.3,"last_error":"camera: busy","firmware_version":"fw-2","config_version":"7"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, body, err := Parse(data)
		if err != nil {
			if _, ok := err.(*ProtocolError); !ok {
				t.Fatalf("got %T %v, want a *ProtocolError", err, err)
			}
			return
		}
		again, err := Encode(env.Type, env.Seq, body)
		if err != nil {
			t.Fatalf("encode what was accepted: %v", err)
		}
		env2, body2, err := Parse(again)
		if err != nil {
			t.Fatalf("re-parse %s: %v", again, err)
		}
		third, _ := Encode(env2.Type, env2.Seq, body2)
		if env2.Type != env.Type || env2.Seq != env.Seq || !bytes.Equal(third, again) {
			t.Fatalf("round trip changed the message:\n%s\n%s", again, third)
		}
	})
}
