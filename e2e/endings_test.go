package e2e

import (
	"testing"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
	"github.com/jonboulle/clockwork"
)

// small keeps these tests light: what they check is the call's life cycle, not the picture.
var small = capture.Config{Width: 320, Height: 240, FPS: 15}

// admitted runs a button-mode booth up to a connected call: Join pressed in the window,
// the clinician admits. It returns the booth, the clinician and the clinician's call.
func admitted(t *testing.T, e *env) (*runningBooth, *clinician, *clinicianCall, <-chan *signalling.End) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(time.Now())
	rb := e.startBooth(t, clock, device.JoinButton, small)
	cl := e.dialClinician(t)
	rb.waitFor(t, "the join window", func(s booth.Snapshot) bool { return s.State == booth.JoinWindow })
	rb.Buttons.Press(button.Join)
	cl.expect(signalling.TypeQueue, func(b any) bool { return len(b.(*signalling.Queue).Entries) == 1 })
	cc := cl.admit(e.Demo.AppointmentID, small)
	ended := cl.pump(cc)
	rb.waitFor(t, "the call to connect", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected })
	eventually(t, "frames both ways", func() bool { return cc.frames.Load() > 0 && rb.frames.Load() > 0 })
	return rb, cl, cc, ended
}

func TestButtonModeJoinsOnlyWhenPressed(t *testing.T) {
	e := startSwitchboard(t)
	clock := clockwork.NewFakeClockAt(time.Now())
	rb := e.startBooth(t, clock, device.JoinButton, small)
	cl := e.dialClinician(t)
	rb.waitFor(t, "the join window", func(s booth.Snapshot) bool { return s.State == booth.JoinWindow })
	// Past the start time, a staff-assisted booth still waits for the button.
	clock.Advance(e.Demo.AppointmentStart.Sub(clock.Now()) + time.Minute)
	if n := cl.queueLen(t); n != 0 {
		t.Fatalf("got %d waiting before Join was pressed, want 0", n)
	}
	rb.Buttons.Press(button.Join)
	cl.expect(signalling.TypeQueue, func(b any) bool {
		q := b.(*signalling.Queue)
		return len(q.Entries) == 1 && q.Entries[0].AppointmentID == e.Demo.AppointmentID
	})
	rb.waitFor(t, "waiting", func(s booth.Snapshot) bool { return s.State == booth.Waiting })
}

func TestClinicianEndsTheCall(t *testing.T) {
	e := startSwitchboard(t)
	rb, cl, cc, _ := admitted(t, e)
	cc.close() // stop pumping: the clinician's page is the one ending
	cl.send(signalling.TypeEnd, &signalling.End{CallID: cc.ID, Reason: signalling.EndHangup})
	rb.waitFor(t, "idle after the clinician's End", func(s booth.Snapshot) bool { return s.State == booth.Idle })
	eventually(t, "an empty waiting room", func() bool { return cl.queueLen(t) == 0 })
}

// A clinician whose browser crashes mid-call must not send the patient home: the booth's
// call ends, the patient is back in the waiting room, and the clinician, once reloaded,
// sees them waiting and admits them again.
func TestClinicianVanishing(t *testing.T) {
	e := startSwitchboard(t)
	rb, cl, cc, _ := admitted(t, e)
	cc.close()
	cl.close()
	rb.waitFor(t, "the call to end and the patient to wait again", func(s booth.Snapshot) bool {
		return s.State == booth.Waiting && s.CallID == "" && !s.Connected
	})
	if _, ok := rb.CallStats(); ok {
		t.Error("booth: got stats of an active call after the clinician vanished, want no call")
	}

	again := e.dialClinician(t)
	again.expect(signalling.TypeQueue, func(b any) bool {
		q := b.(*signalling.Queue)
		return len(q.Entries) == 1 && q.Entries[0].AppointmentID == e.Demo.AppointmentID && !q.Entries[0].InCall
	})
	cc2 := again.admit(e.Demo.AppointmentID, small)
	defer cc2.close()
	again.pump(cc2)
	rb.waitFor(t, "the second call to connect", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected })
}

func TestBoothVanishing(t *testing.T) {
	e := startSwitchboard(t)
	rb, cl, cc, ended := admitted(t, e)
	rb.stop() // power cut at the booth
	select {
	case end := <-ended:
		if end == nil || end.Reason != signalling.EndPeerLost {
			t.Fatalf("got end %+v, want reason %q", end, signalling.EndPeerLost)
		}
	case <-time.After(guard):
		t.Fatal("clinician: no end after the booth vanished")
	}
	cc.close()
	eventually(t, "an empty waiting room", func() bool { return cl.queueLen(t) == 0 })
}

// A booth whose power (or Wi-Fi) goes mid-call comes back on its stored schedule, rejoins the
// waiting room by itself and can be admitted again: a blip must not cost the appointment.
func TestBoothPowerCutMidCallRejoins(t *testing.T) {
	e := startSwitchboard(t)
	clock := clockwork.NewFakeClockAt(time.Now())
	st := booth.NewMemStore()
	rb := e.startBoothWithStore(t, clock, device.JoinAuto, small, st)
	cl := e.dialClinician(t)
	rb.waitFor(t, "the join window", func(s booth.Snapshot) bool { return s.State == booth.JoinWindow })
	clock.Advance(e.Demo.AppointmentStart.Sub(clock.Now()))
	cl.expect(signalling.TypeQueue, func(b any) bool { return len(b.(*signalling.Queue).Entries) == 1 })
	cc := cl.admit(e.Demo.AppointmentID, small)
	ended := cl.pump(cc)
	rb.waitFor(t, "the call to connect", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected })

	rb.stop()
	if end := <-ended; end == nil || end.Reason != signalling.EndPeerLost {
		t.Fatalf("clinician: got end %+v, want %q", end, signalling.EndPeerLost)
	}
	cc.close()

	again := e.startBoothWithStore(t, clock, device.JoinAuto, small, st)
	cl.expect(signalling.TypeQueue, func(b any) bool {
		q := b.(*signalling.Queue)
		return len(q.Entries) == 1 && q.Entries[0].AppointmentID == e.Demo.AppointmentID
	})
	again.waitFor(t, "waiting after the restart", func(s booth.Snapshot) bool { return s.State == booth.Waiting })
	cc2 := cl.admit(e.Demo.AppointmentID, small)
	defer cc2.close()
	cl.pump(cc2)
	again.waitFor(t, "the second call to connect", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected })
}
