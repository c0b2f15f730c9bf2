package booth

import (
	"errors"
	"testing"

	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/signalling"
)

// TestMuteIsInTheSnapshot: the booth is the one record of the microphone's state. Mute
// in a call publishes a snapshot with Muted once the call's microphone is off; a failed
// SetMuted changes nothing (the press is counted as ignored); every call starts unmuted;
// a call that cannot mute ignores the button.
func TestMuteIsInTheSnapshot(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc, call := h.inCall()
	if s := h.waitState(InCall); s.Muted {
		t.Fatalf("call start: got Muted %v, want false", s.Muted)
	}
	muted := func() bool {
		call.mu.Lock()
		defer call.mu.Unlock()
		return call.muted
	}

	h.press(button.Mute)
	h.waitFor("muted", func(s Snapshot) bool { return s.Muted })
	if !muted() {
		t.Error("after Mute: got the call's microphone on, want it muted")
	}
	call.mu.Lock()
	call.muteErr = errors.New("device busy")
	call.mu.Unlock()
	h.press(button.Mute)
	if s := h.waitFor("failed unmute ignored", func(s Snapshot) bool { return s.Ignored == 1 }); !s.Muted {
		t.Errorf("failed unmute: got Muted %v, want still true", s.Muted)
	}
	call.mu.Lock()
	call.muteErr = nil
	call.mu.Unlock()
	h.press(button.Mute)
	h.waitFor("unmuted", func(s Snapshot) bool { return !s.Muted && s.State == InCall })
	if muted() {
		t.Error("after a second Mute: got the call's microphone muted, want it on")
	}
	h.press(button.Mute)
	h.waitFor("muted again", func(s Snapshot) bool { return s.Muted })

	// The clinician's connection drops: waiting again, then a new call, unmuted.
	sc.send(t, signalling.TypeEnd, &signalling.End{CallID: "call-1", Reason: signalling.EndPeerLost})
	if s := h.waitState(Waiting); s.Muted {
		t.Errorf("back in the waiting room: got Muted %v, want false", s.Muted)
	}
	sc.next(t, signalling.TypeArrive)
	h.caller.noMute.Store(true) // and this one cannot mute
	sc.send(t, signalling.TypeCall, &signalling.Call{CallID: "call-2", AppointmentID: "a1", Role: signalling.CallAnswerer, Peer: "Dr Who"})
	h.caller.call(t)
	if s := h.waitFor("second call", func(s Snapshot) bool { return s.State == InCall && s.CallID == "call-2" }); s.Muted {
		t.Errorf("new call: got Muted %v, want false", s.Muted)
	}
	h.press(button.Mute)
	if s := h.waitFor("mute ignored", func(s Snapshot) bool { return s.Ignored == 2 }); s.Muted {
		t.Errorf("a call that cannot mute: got Muted %v, want false", s.Muted)
	}
}
