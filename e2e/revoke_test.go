package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/apiclient"
)

// TestRevokedBoothMidCall: IT revokes a booth in a call. The clinician's call ends with
// reason revoked, the booth's call ends and it shows that it is switched off, and it no
// longer redials at its reconnect backoff: only every few minutes, and each time the
// switchboard's refusal keeps it switched off.
func TestRevokedBoothMidCall(t *testing.T) {
	e := startSwitchboard(t)
	rb, _, cc, ended := admitted(t, e)
	defer cc.close()

	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	admin, err := apiclient.New(e.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	login, err := admin.Login(ctx, e.Demo.AdminUser, e.Demo.AdminPassword)
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	r, err := admin.WithToken(login.Token).RevokeDevice(ctx, e.Demo.DeviceID, "reported stolen")
	if err != nil || r.Disconnected != 1 {
		t.Fatalf("revoke: got %+v, %v, want one connection closed", r, err)
	}
	select {
	case end := <-ended:
		if end == nil || end.Reason != signalling.EndRevoked {
			t.Fatalf("clinician: got end %+v, want reason %q", end, signalling.EndRevoked)
		}
	case <-time.After(guard):
		t.Fatal("clinician: no end after the booth was revoked")
	}
	s := rb.waitFor(t, "the booth to show it is revoked", func(s booth.Snapshot) bool {
		return s.Revoked && s.State != booth.InCall && s.CallID == ""
	})

	// The reconnect backoff is at most a second here: a booth not told it was revoked
	// would have redialled many times in 30 s.
	clock := rb.Clock.(*clockwork.FakeClock)
	connects := s.Connects
	for range 30 {
		clock.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	if got := rb.Snapshot(); got.Connects != connects || !got.Revoked {
		t.Fatalf("30 s after revoking: got %d connection attempts (revoked %v), want still %d and revoked", got.Connects, got.Revoked, connects)
	}
	eventually(t, "a redial within a few minutes", func() bool {
		clock.Advance(30 * time.Second)
		return rb.Snapshot().Connects > connects
	})
	time.Sleep(100 * time.Millisecond) // the redial's refusal (HTTP 403, code revoked)
	redialled := rb.Snapshot().Connects
	for range 30 {
		clock.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	if got := rb.Snapshot(); !got.Revoked || got.Connects != redialled {
		t.Errorf("30 s after the refused redial: got %d connection attempts (revoked %v), want still %d and revoked", got.Connects, got.Revoked, redialled)
	}
}
