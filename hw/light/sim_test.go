package light

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// recordHandler hands each log record to a channel as "message key=value ...".
type recordHandler struct{ ch chan string }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordHandler) WithGroup(string) slog.Handler            { return h }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	h.ch <- b.String()
	return nil
}

func TestSimLogsChangesRateLimited(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	logs := make(chan string, 16)
	s := NewSim(clock, slog.New(recordHandler{logs}))
	next := func() string {
		t.Helper()
		select {
		case l := <-logs:
			return l
		case <-time.After(hang):
			t.Fatal("no log line")
		}
		return ""
	}
	none := func() {
		t.Helper()
		select {
		case l := <-logs:
			t.Errorf("got log line %q, want none", l)
		default:
		}
	}

	if p, _ := s.Current(); p != (Pattern{}) {
		t.Errorf("got %v at start, want dark", p)
	}
	s.Show(For(Status{State: JoinWindow}))
	if got := next(); !strings.Contains(got, "pattern=green slow_blink") || !strings.Contains(got, "press the green Join button") {
		t.Errorf("got %q, want the green slow blink and its meaning", got)
	}
	// The same pattern again is not a change.
	s.Show(For(Status{State: JoinWindow}))
	none()

	// A flapping link: four changes within the second are not logged one by one...
	clock.Advance(100 * time.Millisecond)
	s.Show(For(Status{State: JoinWindow, Offline: true}))
	s.Show(For(Status{State: JoinWindow}))
	s.Show(For(Status{State: JoinWindow, Offline: true}))
	s.Show(For(Status{State: Waiting}))
	none()
	// ...but the screen always sees the truth.
	p, since := s.Current()
	if p != For(Status{State: Waiting}) || !since.Equal(clock.Now()) {
		t.Errorf("got %v since %v, want the blue pulse since now", p, since)
	}
	// Run logs where the light ended up once the second has passed.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(899 * time.Millisecond)
	none()
	clock.Advance(time.Millisecond)
	if got := next(); !strings.Contains(got, "pattern=blue pulse") || !strings.Contains(got, "changes_not_logged=4") {
		t.Errorf("got %q, want the blue pulse with 4 changes not logged", got)
	}
	// A change a second later is logged at once.
	clock.Advance(time.Second)
	s.Show(For(Status{State: InCall}))
	if got := next(); !strings.Contains(got, "pattern=blue steady") || strings.Contains(got, "changes_not_logged") {
		t.Errorf("got %q, want the blue steady alone", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: got %v, want nil", err)
		}
	case <-time.After(hang):
		t.Fatal("Run did not return after cancel")
	}
}
