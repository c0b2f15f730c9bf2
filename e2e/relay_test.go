package e2e

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/turnrelay"
	"github.com/jonboulle/clockwork"
)

// TestConsultationThroughRelay: a booth and a clinician that may use relayed candidates
// only (a site whose firewall blocks UDP between them) hold the consultation through the
// switchboard's TURN relay, with the credentials the switchboard handed each of them.
func TestConsultationThroughRelay(t *testing.T) {
	creds, err := turnrelay.NewCredentials([]byte(strings.Repeat("k", turnrelay.MinSecretBytes)), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := turnrelay.Listen(turnrelay.Config{Listen: "127.0.0.1:0", PublicIP: netip.MustParseAddr("127.0.0.1"), AllowLoopbackPeers: true}, creds, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	e := startSwitchboardWith(t, switchboard.Config{Relay: relay.ICEServer})
	e.RelayOnly = true
	rb := e.startBooth(t, clockwork.NewRealClock(), device.JoinButton, capture.Config{Width: 320, Height: 240, FPS: 15})
	cl := e.dialClinician(t)
	rb.waitFor(t, "the join window", func(s booth.Snapshot) bool { return s.State == booth.JoinWindow })
	if err := rb.Buttons.Press(button.Join); err != nil {
		t.Fatal(err)
	}
	rb.waitFor(t, "waiting", func(s booth.Snapshot) bool { return s.State == booth.Waiting })
	cl.expect(signalling.TypeQueue, func(b any) bool { return len(b.(*signalling.Queue).Entries) == 1 })
	cc := cl.admit(e.Demo.AppointmentID, capture.Config{Width: 320, Height: 240, FPS: 15})
	cl.pump(cc)
	defer cc.close()
	rb.waitFor(t, "the call to connect", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected })
	eventually(t, "video and audio both ways through the relay", func() bool {
		return cc.frames.Load() >= 15 && cc.audio.Load() >= 50 && rb.frames.Load() >= 15 && rb.audio.Load() >= 50
	})
	if n := relay.Allocations(); n < 2 {
		t.Errorf("relay allocations: got %d, want one for each party at least", n)
	}
}
