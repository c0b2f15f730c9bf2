package e2e

import (
	"runtime"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
	"github.com/jonboulle/clockwork"
)

// TestConsultationEndToEnd is a whole consultation on one machine: the booth (auto join,
// schedule on a fake clock) arrives in the waiting room at the appointment's start, the
// clinician admits it, both sides decode video and audio, End on the booth ends the call
// on both sides, and the waiting room is empty again with no goroutine left behind.
func TestConsultationEndToEnd(t *testing.T) {
	e := startSwitchboard(t)
	appt := e.Demo.AppointmentID
	clock := clockwork.NewFakeClockAt(time.Now())
	media := capture.Config{Width: 640, Height: 480, FPS: 30}
	rb := e.startBooth(t, clock, device.JoinAuto, media)
	cl := e.dialClinician(t)

	// Booked two minutes ahead: the join window is open but an auto booth waits for the start.
	rb.waitFor(t, "the join window", func(s booth.Snapshot) bool {
		return s.State == booth.JoinWindow && s.AppointmentID == appt
	})
	clock.Advance(e.Demo.AppointmentStart.Sub(clock.Now()) - 10*time.Second)
	if s := rb.Snapshot(); s.State != booth.JoinWindow {
		t.Fatalf("got booth state %v ten seconds before the start, want %v", s.State, booth.JoinWindow)
	}
	if n := cl.queueLen(t); n != 0 {
		t.Fatalf("got %d waiting before the start, want 0", n)
	}

	clock.Advance(10 * time.Second)
	q := cl.expect(signalling.TypeQueue, func(b any) bool {
		q := b.(*signalling.Queue)
		return len(q.Entries) == 1 && q.Entries[0].AppointmentID == appt
	}).(*signalling.Queue)
	if q.Entries[0].DeviceID != e.Demo.DeviceID {
		t.Errorf("got device %q waiting, want %q", q.Entries[0].DeviceID, e.Demo.DeviceID)
	}
	rb.waitFor(t, "waiting", func(s booth.Snapshot) bool { return s.State == booth.Waiting })

	// Everything a call starts must be gone when it ends.
	before := runtime.NumGoroutine()

	cc := cl.admit(appt, media)
	ended := cl.pump(cc)
	rb.waitFor(t, "the call to connect", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected })

	eventually(t, "60 video frames and 100 audio packets decoded on both sides", func() bool {
		return cc.frames.Load() >= 60 && cc.audio.Load() >= 100 && rb.frames.Load() >= 60 && rb.audio.Load() >= 100
	})
	st := cc.Call.Stats()
	if st.FramesDecoded < 60 || st.AudioPacketsDecoded < 100 {
		t.Errorf("clinician stats: got %d frames, %d audio packets decoded, want >= 60 and >= 100", st.FramesDecoded, st.AudioPacketsDecoded)
	}
	if bs, ok := rb.CallStats(); !ok || bs.FramesSent == 0 {
		t.Errorf("booth stats: got %+v (ok=%v), want frames sent", bs, ok)
	}
	if a, err := e.Store.Appointment(appt); err != nil || a.Status != appointment.InCall {
		t.Errorf("appointment during the call: got status %q (%v), want %q", a.Status, err, appointment.InCall)
	}

	// End on the booth ends it on both sides.
	rb.Buttons.Press(button.End)
	select {
	case end := <-ended:
		if end == nil || end.Reason != signalling.EndHangup {
			t.Fatalf("clinician: got end %+v, want reason %q", end, signalling.EndHangup)
		}
	case <-time.After(guard):
		t.Fatal("clinician: the call did not end after End on the booth")
	}
	cc.close()
	rb.waitFor(t, "idle after the call", func(s booth.Snapshot) bool { return s.State == booth.Idle && s.CallID == "" })
	eventually(t, "an empty waiting room", func() bool { return cl.queueLen(t) == 0 })
	if a, err := e.Store.Appointment(appt); err != nil || a.Status != appointment.Ended {
		t.Errorf("appointment after the call: got status %q (%v), want %q", a.Status, err, appointment.Ended)
	}
	// The booth reported how the call went, for the commissioners' report.
	eventually(t, "the booth's call quality at the switchboard", func() bool {
		a, err := e.Store.Appointment(appt)
		return err == nil && a.Quality != nil
	})
	if a, _ := e.Store.Appointment(appt); a.Quality.Calls != 1 || a.Quality.BitrateKbps <= 0 || a.Quality.PacketLossPct < 0 {
		t.Errorf("call quality: got %+v, want one call with a positive bitrate", a.Quality)
	}
	checkGoroutinesSettle(t, before)
}

// checkGoroutinesSettle fails t if more goroutines run than before once they have had time
// to stop (pion's test.CheckRoutines, by count).
func checkGoroutinesSettle(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("goroutines after the call: got %d, want at most %d as before it\n%s", n, before, buf)
	}
}
