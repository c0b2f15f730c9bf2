package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/release"
)

// TestReleaseStores is the firmware releases' contract, against every implementation.
func TestReleaseStores(t *testing.T) {
	for name, open := range allStores() {
		t.Run(name, func(t *testing.T) { testReleases(t, open(t)) })
	}
}

func testReleases(t *testing.T, s Store) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	sum := strings.Repeat("ab", 32)
	older := Release{Version: "1.0.0", Target: bundle.Target{Platform: "linux/arm64", Board: "rpi4"}, Size: 10, SHA256: sum, Created: t0, Phase: PhaseAll}
	newer := Release{Version: "1.1.0", Target: older.Target, Size: 20, SHA256: sum, Created: t0.Add(time.Hour), Phase: PhaseCanary, Canaries: []string{"d1"}}
	for _, r := range []*Release{&older, &newer} {
		if err := s.CreateRelease(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateRelease(&Release{ID: older.ID, Version: "1", Target: older.Target, Size: 1, SHA256: sum, Phase: PhaseAll}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate ID: got %v, want ErrConflict", err)
	}
	if err := s.CreateRelease(&Release{Version: "1.0.0", Target: older.Target, Size: 1, SHA256: "x", Phase: PhaseAll}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad sha256: got %v, want ErrInvalid", err)
	}
	rs, err := s.Releases()
	if err != nil || len(rs) != 2 || rs[0].ID != newer.ID || rs[1].ID != older.ID {
		t.Fatalf("Releases: got %+v, %v, want the newer then the older", rs, err)
	}
	got, err := s.UpdateRelease(newer.ID, func(r *Release) error {
		if r.Devices == nil {
			r.Devices = map[string]DeviceProgress{}
		}
		r.Devices["d1"] = DeviceProgress{Stage: release.StageCommitted, Updated: t0}
		r.Phase = PhaseAll
		return nil
	})
	if err != nil || got.Phase != PhaseAll || got.Devices["d1"].Stage != release.StageCommitted {
		t.Fatalf("UpdateRelease: got %+v, %v", got, err)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateRelease(newer.ID, func(r *Release) error { r.Paused = true; return boom }); !errors.Is(err, boom) {
		t.Errorf("aborted update: got %v, want boom", err)
	}
	if _, err := s.UpdateRelease(newer.ID, func(r *Release) error { r.Phase = "sideways"; return nil }); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid update: got %v, want ErrInvalid", err)
	}
	again, err := s.Release(newer.ID)
	if err != nil || again.Paused || again.Phase != PhaseAll || again.Devices["d1"].Stage != release.StageCommitted || !again.IsCanary("d1") {
		t.Errorf("after aborted updates: got %+v, %v, want the committed update only", again, err)
	}
	if _, err := s.Release("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown release: got %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateRelease("nope", func(*Release) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("update unknown: got %v, want ErrNotFound", err)
	}
}
