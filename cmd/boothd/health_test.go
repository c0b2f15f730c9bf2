package main

import (
	"os"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/signalling"
)

func TestBoothHealth(t *testing.T) {
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		thermal  string // "" : no thermal zone
		problem  string
		wantTemp *float64
		wantSt   signalling.BoothState
	}{
		{"pi", "48312\n", "", ptr(48.312), ""},
		{"laptop", "", "", nil, ""},
		{"nonsense", "hot", "", nil, ""},
		{"fault", "", "camera", nil, signalling.StateFault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(start)
			h := &boothHealth{clock: clock, started: start, camera: true, speaker: true, problem: tc.problem, stateDir: t.TempDir(),
				read: func(name string) ([]byte, error) {
					if tc.thermal == "" {
						return nil, os.ErrNotExist
					}
					return []byte(tc.thermal), nil
				},
				diskFree: func(string) (int64, error) { return 1234, nil }}
			clock.Advance(90 * time.Second)
			hb := h.Health()
			if hb.UptimeSeconds != 90 || !hb.Camera || hb.Microphone || !hb.Speaker || *hb.DiskFreeBytes != 1234 || hb.State != tc.wantSt {
				t.Fatalf("got %+v, want uptime 90, camera and speaker, 1234 bytes free, state %q", hb, tc.wantSt)
			}
			if (hb.TempCelsius == nil) != (tc.wantTemp == nil) || tc.wantTemp != nil && *hb.TempCelsius != *tc.wantTemp {
				t.Fatalf("temperature: got %v, want %v", hb.TempCelsius, tc.wantTemp)
			}
			if tc.problem != "" && hb.LastError != tc.problem {
				t.Fatalf("last_error: got %q, want %q", hb.LastError, tc.problem)
			}
		})
	}
}

func TestStatfsFreeOfStateDir(t *testing.T) {
	n, err := statfsFree(t.TempDir())
	if err != nil {
		t.Skipf("statfs: %v (built without statfs support)", err)
	}
	if n <= 0 {
		t.Fatalf("got %d bytes free, want more than 0", n)
	}
}

func ptr(f float64) *float64 { return &f }
