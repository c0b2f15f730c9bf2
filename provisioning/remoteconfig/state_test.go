package remoteconfig

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/signalling"
)

const baseFile = `
[switchboard]
url = "http://127.0.0.1:8080"
token_file = "/etc/carebooth/device-token"
[buttons]
backend = "gpio"
end = 27
`

func base(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Parse("boothd.toml", []byte(baseFile))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newState(t *testing.T) *State {
	return New(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func files(t *testing.T, s *State) string {
	t.Helper()
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// run starts a controller as boothd would: Boot, then Run in the background.
func run(t *testing.T, s *State, clock clockwork.Clock) (*Controller, Boot, chan error) {
	t.Helper()
	b, err := s.Boot(base(t))
	if err != nil {
		t.Fatal(err)
	}
	c := NewController(s, base(t), b, clock, 0)
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); <-done })
	go func() { done <- c.Run(ctx); close(done) }()
	return c, b, done
}

func wait(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

func TestRefusedChangesNothing(t *testing.T) {
	s := newState(t)
	c, _, _ := run(t, s, clockwork.NewFakeClock())
	// The switchboard accepts it (it does not know this booth's buttons); the booth's
	// merge refuses it: join_mode "button" needs a Join line with GPIO buttons.
	ack := c.Offer(&signalling.Config{Seq: 4, Version: 2, Document: "[device]\njoin_mode = \"button\"\n"})
	if ack == nil || ack.Result != signalling.ConfigRefused || ack.Seq != 4 || !strings.Contains(ack.Reason, "buttons.join is required") {
		t.Fatalf("got %+v, want refused naming buttons.join", ack)
	}
	if got := files(t, s); got != "" {
		t.Errorf("state dir: got %q, want nothing written", got)
	}
	b, _ := s.Boot(base(t))
	if b.Running.Version != 0 || b.Config.Device.JoinMode != device.JoinAuto {
		t.Errorf("next start: got %+v, want the file's config", b.Running)
	}
}

func TestAppliedWhenTheSwitchboardAnswers(t *testing.T) {
	s := newState(t)
	clock := clockwork.NewFakeClock()
	c, _, done := run(t, s, clock)
	if ack := c.Offer(&signalling.Config{Seq: 5, Version: 3, Document: "[speaker]\nvolume = 4\n"}); ack != nil {
		t.Fatalf("got ack %+v, want none until the trial", ack)
	}
	if err := wait(t, done); !errors.Is(err, ErrRestart) {
		t.Fatalf("Run: got %v, want ErrRestart", err)
	}

	c, b, done := run(t, s, clock)
	if !b.Trial || b.Running.Version != 3 || b.Config.Speaker.Volume != 4 {
		t.Fatalf("start on trial: got %+v", b)
	}
	acks := c.Connected()
	if len(acks) != 1 || *acks[0] != (signalling.ConfigAck{Seq: 5, Version: 3, Result: signalling.ConfigApplied}) {
		t.Fatalf("on welcome: got %+v, want applied version 3 acknowledging push 5", acks)
	}
	c.Reported(acks[0])
	clock.Advance(TrialTimeout + time.Second)
	select {
	case err := <-done:
		t.Fatalf("Run returned %v after the commit, want it to go on", err)
	case <-time.After(50 * time.Millisecond):
	}
	// The same push again (its ack was lost): applied, no restart.
	if ack := c.Offer(&signalling.Config{Seq: 5, Version: 3, Document: "[speaker]\nvolume = 4\n"}); ack == nil || ack.Result != signalling.ConfigApplied {
		t.Errorf("resent push: got %+v, want applied", ack)
	}
	b, _ = s.Boot(base(t))
	if b.Trial || b.Running.Version != 3 || b.Config.Speaker.Volume != 4 {
		t.Errorf("next start: got %+v, want version 3 committed", b)
	}
	if got, want := files(t, s), CommittedFile+" "+ReportFile; got != want {
		t.Errorf("state dir: got %q, want %s", got, want)
	}
}

func TestRolledBackWhenTheSwitchboardIsUnreachable(t *testing.T) {
	s := newState(t)
	clock := clockwork.NewFakeClock()
	// Version 3 is committed first.
	c, _, done := run(t, s, clock)
	c.Offer(&signalling.Config{Seq: 5, Version: 3, Document: "[speaker]\nvolume = 4\n"})
	wait(t, done)
	c, _, _ = run(t, s, clock)
	c.Reported(c.Connected()[0])

	c, _, done = run(t, s, clock)
	c.Offer(&signalling.Config{Seq: 9, Version: 4, Document: "[switchboard]\nurl = \"http://10.255.255.1:9\"\n[speaker]\nvolume = 2\n"})
	wait(t, done)
	// A clock of its own: version 3's trial left its timer on the first one (a fake clock
	// keeps a waiter until its time comes), so BlockUntil(1) there raced.
	trialClock := clockwork.NewFakeClock()
	_, b, done := run(t, s, trialClock)
	if !b.Trial || b.Config.Switchboard.URL != "http://10.255.255.1:9" {
		t.Fatalf("trial: got %+v", b)
	}
	trialClock.BlockUntil(1)
	trialClock.Advance(TrialTimeout - time.Second)
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before 2 minutes", err)
	case <-time.After(50 * time.Millisecond):
	}
	trialClock.Advance(time.Second)
	if err := wait(t, done); !errors.Is(err, ErrRestart) {
		t.Fatalf("Run: got %v, want ErrRestart", err)
	}

	c, b, _ = run(t, s, clock)
	if b.Trial || b.Running.Version != 3 || b.Config.Speaker.Volume != 4 || b.Config.Switchboard.URL != "http://127.0.0.1:8080" {
		t.Fatalf("after rollback: got %+v, want version 3 and the file's URL", b)
	}
	acks := c.Connected()
	want := signalling.ConfigAck{Seq: 9, Version: 4, Result: signalling.ConfigRolledBack,
		Reason: "could not reach the switchboard at http://10.255.255.1:9 within 2m0s"}
	if len(acks) != 1 || *acks[0] != want {
		t.Fatalf("on the next connection: got %+v, want %+v", acks, want)
	}
	c.Reported(acks[0])
	if acks := c.Connected(); len(acks) != 0 {
		t.Errorf("reported twice: %+v", acks)
	}
	// The switchboard had queued version 4 again before the report reached it: it is
	// answered, not tried again.
	again := c.Offer(&signalling.Config{Seq: 9, Version: 4, Document: "[switchboard]\nurl = \"http://10.255.255.1:9\"\n"})
	if again == nil || *again != want {
		t.Errorf("version 4 pushed again: got %+v, want %+v", again, want)
	}
	if _, err := os.Stat(filepath.Join(s.dir, TrialFile)); err == nil {
		t.Error("version 4 pushed again was staged again")
	}
}

// TestPowerCut cuts the power after each step of staging, committing and rolling back
// (the files as they are on disk then) and checks the next start runs a config that
// validates, and the right one.
func TestPowerCut(t *testing.T) {
	committed := Doc{Seq: 1, Version: 3, Document: "[speaker]\nvolume = 4\n"}
	trial := Doc{Seq: 2, Version: 4, Document: "[speaker]\nvolume = 2\n"}
	applied := Report{Seq: 2, Version: 4, Result: signalling.ConfigApplied}
	rolled := Report{Seq: 2, Version: 4, Result: signalling.ConfigRolledBack, Reason: "could not reach"}
	tests := []struct {
		name        string
		files       map[string]any
		tmp         bool // a temporary file left by a write cut short
		wantVersion uint64
		wantTrial   bool
		wantFiles   string
	}{
		{"nothing yet", nil, false, 0, false, ""},
		{"during the trial write", map[string]any{CommittedFile: committed}, true, 3, false, CommittedFile},
		{"after staging", map[string]any{CommittedFile: committed, TrialFile: trial}, false, 4, true, CommittedFile + " " + TrialFile},
		{"commit: after the report", map[string]any{CommittedFile: committed, TrialFile: trial, ReportFile: applied}, false, 4, false, CommittedFile + " " + ReportFile},
		{"commit: after the rename", map[string]any{CommittedFile: trial, ReportFile: applied}, false, 4, false, CommittedFile + " " + ReportFile},
		{"rollback: after the report", map[string]any{CommittedFile: committed, TrialFile: trial, ReportFile: rolled}, false, 3, false, CommittedFile + " " + ReportFile},
		{"rollback: after the removal", map[string]any{CommittedFile: committed, ReportFile: rolled}, false, 3, false, CommittedFile + " " + ReportFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t)
			for name, v := range tt.files {
				if err := s.write(name, v); err != nil {
					t.Fatal(err)
				}
			}
			if tt.tmp {
				if err := os.WriteFile(filepath.Join(s.dir, "."+TrialFile+".tmp-123"), []byte(`{"vers`), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			b, err := s.Boot(base(t))
			if err != nil {
				t.Fatalf("Boot: %v", err)
			}
			if b.Running.Version != tt.wantVersion || b.Trial != tt.wantTrial {
				t.Errorf("got version %d trial %v, want %d %v", b.Running.Version, b.Trial, tt.wantVersion, tt.wantTrial)
			}
			if err := b.Config.Validate(); err != nil {
				t.Errorf("started with a config that does not validate: %v", err)
			}
			got := strings.TrimSpace(strings.ReplaceAll(files(t, s), "."+TrialFile+".tmp-123", ""))
			if got != tt.wantFiles {
				t.Errorf("files: got %q, want %q", got, tt.wantFiles)
			}
		})
	}
}

// TestTrialRefusedOnStart: a trial that no longer fits the file (edited meanwhile) is
// rolled back at start, with the reason reported.
func TestTrialRefusedOnStart(t *testing.T) {
	s := newState(t)
	if err := s.write(TrialFile, Doc{Seq: 2, Version: 4, Document: "[device]\njoin_mode = \"button\"\n"}); err != nil {
		t.Fatal(err)
	}
	b, err := s.Boot(base(t))
	if err != nil || b.Trial || b.Running.Version != 0 {
		t.Fatalf("got %+v, %v, want the file alone", b, err)
	}
	r, ok, _ := s.PendingReport()
	if !ok || r.Result != signalling.ConfigRolledBack || !strings.Contains(r.Reason, "buttons.join") {
		t.Errorf("report: got %+v, want rolled back naming buttons.join", r)
	}
}
