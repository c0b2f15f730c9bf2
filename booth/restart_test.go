package booth

import (
	"context"
	"testing"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
)

// TestBrokenPathAsksForRestart: a booth whose media path breaks asks the offerer for an
// ICE restart instead of ending the call, answers the restart offer, and keeps the call
// when the path mends.
func TestBrokenPathAsksForRestart(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc, call := h.inCall()
	sc.send(t, signalling.TypeOffer, &signalling.SDP{CallID: "call-1", SDP: "v=0\r\noffer"})
	sc.next(t, signalling.TypeAnswer)

	call.breakPath(signalling.RestartDisconnected)
	if got := sc.next(t, signalling.TypeRestart).(*signalling.Restart); got.CallID != "call-1" || got.Reason != signalling.RestartDisconnected {
		t.Fatalf("got %+v, want a restart of call-1, disconnected", got)
	}
	// The offerer's restart offer is answered like the first.
	sc.send(t, signalling.TypeOffer, &signalling.SDP{CallID: "call-1", SDP: "v=0\r\nrestart"})
	sc.next(t, signalling.TypeAnswer)
	call.breakPath("")
	h.waitFor("the call still on", func(s Snapshot) bool { return s.State == InCall })
	// Long after the window, the mended call is still on.
	h.clock.Advance(restartWindow + time.Second)
	sc.none(t)
	if call.isClosed() {
		t.Fatal("a call whose path mended was closed")
	}
}

// TestBrokenPathGivesUpAfterTheWindow: a path that stays broken is asked to restart
// again every restartRetry, then the call fails and the patient waits to be admitted
// again.
func TestBrokenPathGivesUpAfterTheWindow(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc, call := h.inCall()
	call.breakPath(signalling.RestartFailed)
	sc.next(t, signalling.TypeRestart)
	for i := 0; time.Duration(i+1)*restartRetry < restartWindow; i++ {
		h.sync()
		h.clock.Advance(restartRetry)
		if got := sc.next(t, signalling.TypeRestart).(*signalling.Restart); got.Reason != signalling.RestartFailed {
			t.Fatalf("retry %d: got %+v", i+1, got)
		}
	}
	h.sync()
	h.clock.Advance(restartRetry)
	if got := sc.next(t, signalling.TypeEnd).(*signalling.End); got.Reason != signalling.EndFailed {
		t.Fatalf("after the window: got %+v, want end failed", got)
	}
	h.waitState(Waiting)
	if !call.isClosed() {
		t.Fatal("got the call open, want it closed")
	}
}

// TestClinicRoleOffersRestart: the clinic-room appliance answers the booth's restart
// request with an ICE-restart offer, and restarts by itself when its own path breaks.
func TestClinicRoleOffersRestart(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{role: device.RoleClinic})
	sc := h.sb.conn(t)
	sc.send(t, signalling.TypeCall, &signalling.Call{CallID: "call-1", AppointmentID: "a1", Role: signalling.CallOfferer, Peer: "Longest"})
	call := h.caller.call(t)
	sc.next(t, signalling.TypeOffer)
	sc.send(t, signalling.TypeAnswer, &signalling.SDP{CallID: "call-1", SDP: "v=0\r\nanswer"})
	h.waitState(InCall)

	sc.send(t, signalling.TypeRestart, &signalling.Restart{CallID: "call-1", Reason: signalling.RestartNetworkChange})
	if got := sc.next(t, signalling.TypeOffer).(*signalling.SDP); got.SDP != "v=0\r\nrestart" {
		t.Fatalf("got offer %q, want the restart offer", got.SDP)
	}
	sc.send(t, signalling.TypeRestart, &signalling.Restart{CallID: "other", Reason: signalling.RestartFailed})
	call.breakPath(signalling.RestartFailed)
	if got := sc.next(t, signalling.TypeOffer).(*signalling.SDP); got.SDP != "v=0\r\nrestart" {
		t.Fatalf("own broken path: got offer %q, want the restart offer", got.SDP)
	}
	call.mu.Lock()
	n := call.restarts
	call.mu.Unlock()
	if n != 2 {
		t.Fatalf("restart offers: got %d, want 2 (the one for another call ignored)", n)
	}
}

// sync waits until the booth's loop has handled everything before it: Ping is answered
// by the loop itself.
func (h *harness) sync() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.booth.Ping(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// TestNetworkChangeAsksForRestart: the host's network changes during a connected call; the
// booth asks for an ICE restart at once, before any check has failed.
func TestNetworkChangeAsksForRestart(t *testing.T) {
	checkGoroutines(t)
	changes := make(chan struct{}, 1)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}, netChg: changes})
	sc, call := h.inCall()
	sc.send(t, signalling.TypeOffer, &signalling.SDP{CallID: "call-1", SDP: "v=0\r\noffer"})
	sc.next(t, signalling.TypeAnswer)
	changes <- struct{}{} // not connected yet: nothing to restart
	h.sync()
	sc.none(t)
	close(call.connected)
	h.waitFor("connected", func(s Snapshot) bool { return s.Connected })
	changes <- struct{}{}
	if got := sc.next(t, signalling.TypeRestart).(*signalling.Restart); got.CallID != "call-1" || got.Reason != signalling.RestartNetworkChange {
		t.Fatalf("got %+v, want a restart of call-1 for a network change", got)
	}
}
