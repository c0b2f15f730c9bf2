package signalling

import (
	"errors"
	"strings"
	"testing"
)

func TestDiagnoseBounds(t *testing.T) {
	long := strings.Repeat("x", MaxLogLineBytes+1)
	for _, tc := range []struct {
		name, typ, body, want string // want: "" accepted, else a fragment of the refusal
	}{
		{"selftest", "diagnose", `{"request":1,"kind":"selftest"}`, ""},
		{"logs", "diagnose", `{"request":2,"kind":"logs","lines":50}`, ""},
		{"no request", "diagnose", `{"kind":"logs"}`, "request is missing"},
		{"bad kind", "diagnose", `{"request":1,"kind":"reboot"}`, `kind "reboot"`},
		{"too many lines", "diagnose", `{"request":1,"kind":"logs","lines":501}`, "lines 501"},
		{"checks", "diagnosis", `{"request":1,"kind":"selftest","checks":[{"name":"camera","ok":true,"took_ms":3}]}`, ""},
		{"log lines", "diagnosis", `{"request":1,"kind":"logs","logs":[{"time":"2026-12-07T10:00:00Z","text":"level=INFO msg=hi"}]}`, ""},
		{"long line", "diagnosis", `{"request":1,"kind":"logs","logs":[{"time":"2026-12-07T10:00:00Z","text":"` + long + `"}]}`, "log line 1 is 1001 bytes"},
		{"unnamed check", "diagnosis", `{"request":1,"kind":"selftest","checks":[{"ok":true,"took_ms":3}]}`, "check 1 has no name"},
		{"negative took", "diagnosis", `{"request":1,"kind":"selftest","checks":[{"name":"a","ok":true,"took_ms":-3}]}`, "took_ms -3"},
		{"logs in a selftest", "diagnosis", `{"request":1,"kind":"selftest","logs":[{"time":"2026-12-07T10:00:00Z","text":"x"}]}`, "carries no logs"},
		{"checks in logs", "diagnosis", `{"request":1,"kind":"logs","checks":[{"name":"a","ok":true,"took_ms":1}]}`, "carries no checks"},
		{"device_id not allowed", "diagnosis", `{"request":1,"kind":"logs","device_id":"other"}`, `unknown field "device_id"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse([]byte(`{"v":1,"type":"` + tc.typ + `","seq":1,"body":` + tc.body + `}`))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want accepted", err)
				}
				return
			}
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a protocol error containing %q", err, tc.want)
			}
		})
	}
}
