package booth

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/signalling"
	"github.com/jonboulle/clockwork"
)

// decideChildEnv names the state directory when the test binary runs as decideChild;
// endChildEnv names "<dir>,<left|held>" when it runs as endChild.
const (
	decideChildEnv = "CAREBOOTH_DECIDE_CRASH_CHILD"
	endChildEnv    = "CAREBOOTH_END_CRASH_CHILD"
)

// child is the test binary run as one of TestMain's children, its stdout read line by
// line.
type child struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr strings.Builder
}

func startChild(t *testing.T, env, arg string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: exec.Command(exe, "-test.run=^$"), lines: make(chan string, 1024)}
	c.cmd.Env = append(os.Environ(), env+"="+arg)
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	return c
}

// kill SIGKILLs the child, reads what it printed until then, and checks that the signal
// is what ended it.
func (c *child) kill(t *testing.T, line func(string)) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGKILL)
	for l := range c.lines {
		line(l)
	}
	err := c.cmd.Wait()
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v (stderr: %s), want killed by SIGKILL", err, c.stderr.String())
	}
}

// decideChild walks one appointment round the End presses as fast as it can: Join (arrive,
// no End press), End in the waiting room (leave, left), End held in the window (no event,
// held), and again. It prints each step's state once Decide has returned: durable then.
func decideChild(dir string) error {
	s, err := OpenBoltStore(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := s.Get("a1")
	if errors.Is(err, ErrNotFound) {
		sa := signalling.Appointment{ID: "a1", Start: t0, End: t0.Add(time.Hour), Status: "scheduled"}
		if err := s.ReplaceSchedule([]signalling.Appointment{sa}); err != nil {
			return err
		}
		if _, err := s.Record("a1", appointment.OpenWindow, t0); err != nil {
			return err
		}
		a, err = s.Get("a1")
	}
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	for {
		end, ev := NoEndPress, appointment.Arrive
		switch a.EndPress {
		case NoEndPress:
			if localOf(a) == appointment.Waiting {
				end, ev = EndLeft, appointment.Leave
			}
		case EndLeft:
			end, ev = EndHeld, ""
		}
		if _, ok, err := s.Decide("a1", end, ev, time.Now()); err != nil || (ev != "") != ok {
			return fmt.Errorf("decide %q %q: recorded %v, %v", end, ev, ok, err)
		}
		if a, err = s.Get("a1"); err != nil {
			return err
		}
		fmt.Fprintf(w, "ok %s\n", endState(a, ev))
		w.Flush()
	}
}

// endState is an appointment's End press and Local status, and the event just recorded.
func endState(a Appointment, ev appointment.Event) string {
	return fmt.Sprintf("%s/%s/%s", cmp.Or(string(a.EndPress), "none"), localOf(a), cmp.Or(string(ev), "none"))
}

// TestEndPressIsAtomicAcrossSIGKILL kills a process moving an appointment round its End
// presses at random moments, 30 times. After each kill the End press, the Local status and
// the outbox must agree (a leave is never kept without "left", nor "left" without its
// leave), and the last step the child reported durable, or the one after it, is what the
// file holds.
func TestEndPressIsAtomicAcrossSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 30 processes; not in -short")
	}
	dir := t.TempDir()
	next := map[string][]string{ // a step's state -> it, or the one the child may have been writing
		"none/waiting/arrive":    {"none/waiting/arrive", "left/window_open/leave"},
		"left/window_open/leave": {"left/window_open/leave", "held/window_open/none"},
		"held/window_open/none":  {"held/window_open/none", "none/waiting/arrive"},
	}
	steps := 0
	last := ""
	for round := range 30 {
		c := startChild(t, decideChildEnv, dir)
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("round %d: the child stopped at once (stderr: %s)", round, c.stderr.String())
			}
			last = strings.TrimPrefix(l, "ok ")
			steps++
		case <-time.After(wait):
			c.cmd.Process.Kill()
			t.Fatalf("round %d: the child printed nothing (stderr: %s)", round, c.stderr.String())
		}
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		c.kill(t, func(l string) { last = strings.TrimPrefix(l, "ok "); steps++ })

		s, err := OpenBoltStore(dir)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		a, err := s.Get("a1")
		evs, err2 := s.Outbox(0, 0)
		s.Close()
		if err != nil || err2 != nil || len(evs) == 0 {
			t.Fatalf("round %d: got %+v, %v and outbox %+v, %v", round, a, err, evs, err2)
		}
		// The outbox's last event says which step the file is at; the End press and Local
		// must be that step's.
		lastEv := evs[len(evs)-1].Event
		got := endState(a, lastEv)
		if a.EndPress == EndHeld && lastEv == appointment.Leave {
			got = endState(a, "") // held records nothing: the leave before it is last
		}
		if _, ok := next[got]; !ok {
			t.Fatalf("round %d: the file holds %s, which no step leaves", round, got)
		}
		if !slices.Contains(next[last], got) {
			t.Fatalf("round %d: the child reported %s durable, the file holds %s", round, last, got)
		}
		last = got // the next child carries on from the file
	}
	t.Logf("30 SIGKILLs over %d End presses: the End press, Local and the outbox always agreed", steps)
}

// endChild runs a booth on dir's booth.db, offline, in auto mode on a fake clock at t0, and
// has the patient press End: in the waiting room ("left": the appointment starts at t0,
// so the booth has joined by itself) or held in the join window ("held": it starts at
// t0+5m). Once the booth's snapshot, which the screen shows, has the automatic join
// cancelled, it prints "ended" and waits to be killed.
func endChild(arg string) error {
	dir, how, _ := strings.Cut(arg, ",")
	st, err := OpenBoltStore(dir)
	if err != nil {
		return err
	}
	a := appt("a1", t0)
	if how == "held" {
		a = appt("a1", t0.Add(5*time.Minute))
	}
	a.Status = "scheduled"
	if err := st.ReplaceSchedule([]signalling.Appointment{a}); err != nil {
		return err
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	clock := clockwork.NewFakeClockAt(t0)
	sim := button.NewSim(clock)
	b, err := New(Config{SwitchboardURL: dead.URL, Token: "t", JoinMode: device.JoinAuto, JoinWindow: 10 * time.Minute},
		Deps{Caller: newFakeCaller(), Buttons: sim, Store: st, Clock: clock})
	if err != nil {
		return err
	}
	go b.Run(context.Background()) //nolint:errcheck // killed, never returns
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	kind, in := button.Press, Waiting
	if how == "held" {
		kind, in = button.LongPress, JoinWindow
	}
	if _, err := b.WaitFor(ctx, func(s Snapshot) bool { return s.State == in }); err != nil {
		return err
	}
	if err := sim.PressContext(ctx, button.End, kind); err != nil {
		return err
	}
	if _, err := b.WaitFor(ctx, func(s Snapshot) bool { return s.State == JoinWindow && s.AutoJoinCancelled }); err != nil {
		return err
	}
	fmt.Println("ended")
	time.Sleep(wait)
	return errors.New("not killed")
}

// TestEndPressSurvivesSIGKILL: the patient presses End (in the waiting room, or held in the
// join window of an auto-join booth) and boothd is killed the moment the screen shows it.
// Restarted past the start time, the booth must not go back into the waiting room by
// itself, and Join must still join.
func TestEndPressSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process; not in -short")
	}
	for _, tt := range []struct {
		how  string
		kept []string // the outbox after the kill
	}{
		{"left", []string{"window_open", "arrive", "leave"}},
		{"held", []string{"window_open"}},
	} {
		t.Run(tt.how, func(t *testing.T) {
			checkGoroutines(t)
			dir := t.TempDir()
			c := startChild(t, endChildEnv, dir+","+tt.how)
			select {
			case l := <-c.lines:
				if l != "ended" {
					c.cmd.Process.Kill()
					t.Fatalf("child: got %q (stderr: %s), want ended", l, c.stderr.String())
				}
			case <-time.After(2 * wait):
				c.cmd.Process.Kill()
				t.Fatalf("the child's End was not shown (stderr: %s)", c.stderr.String())
			}
			c.kill(t, func(l string) { t.Errorf("child: %q after ended", l) })

			dead := httptest.NewServer(http.NotFoundHandler())
			dead.Close()
			h := start(t, opts{stateDir: dir, url: dead.URL, mode: device.JoinAuto})
			s := h.waitFor("the schedule read", func(s Snapshot) bool { return s.State != Idle })
			if s.State != JoinWindow || s.AppointmentID != "a1" {
				t.Fatalf("after the restart: got %+v, want a1's join window (not the waiting room)", s)
			}
			if !s.AutoJoinCancelled {
				t.Errorf("after the restart: got %+v, want the screen to show the automatic join cancelled", s)
			}
			h.blockUntil(2) // the booth's timer and the link's backoff
			h.clock.Advance(6 * time.Minute)
			h.blockUntil(2) // both fired and set again: the booth has looked at the schedule
			if err := h.booth.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := outboxEvents(t, h.store); !slices.Equal(got, tt.kept) {
				t.Fatalf("past the start: recorded %v, want %v (the booth joined by itself)", got, tt.kept)
			}
			if s := h.booth.Snapshot(); s.State != JoinWindow || !s.AutoJoinCancelled {
				t.Fatalf("past the start: got %+v, want the join window, not joined", s)
			}

			h.press(button.Join)
			h.waitFor("waiting after Join", func(s Snapshot) bool { return s.State == Waiting && !s.AutoJoinCancelled })
			if got := outboxEvents(t, h.store); len(got) != len(tt.kept)+1 || got[len(got)-1] != "arrive" {
				t.Errorf("after Join: recorded %v, want %v then arrive", got, tt.kept)
			}
		})
	}
}

func outboxEvents(t *testing.T, s Store) []string {
	t.Helper()
	evs, err := s.Outbox(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Event))
	}
	return out
}
