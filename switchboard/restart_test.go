package switchboard

import (
	"testing"

	"github.com/carebooth/carebooth/signalling"
)

// answered sets up a call whose first offer has been answered; the next seq of both ends is 5.
func (e *env) answered() (doc, booth *wsClient, callID string) {
	e.t.Helper()
	doc, booth, callID = e.inCall()
	doc.send(signalling.TypeOffer, &signalling.SDP{CallID: callID, SDP: testSDP + "offer"})
	expect[signalling.SDP](booth, signalling.TypeOffer)
	booth.send(signalling.TypeAnswer, &signalling.SDP{CallID: callID, SDP: testSDP + "answer"})
	expect[signalling.SDP](doc, signalling.TypeAnswer)
	return doc, booth, callID
}

// The booth's restart reaches the clinician; the re-offer and its answer are relayed; after
// that answer another restart may be asked for, and one in flight times out.
func TestHubRelaysRestart(t *testing.T) {
	e := newEnv(t)
	doc, booth, callID := e.answered()
	booth.send(signalling.TypeRestart, &signalling.Restart{CallID: callID, Reason: signalling.RestartFailed})
	if m := expect[signalling.Restart](doc, signalling.TypeRestart); m.CallID != callID || m.Reason != signalling.RestartFailed {
		t.Errorf("relayed restart: got %+v", m)
	}
	doc.send(signalling.TypeOffer, &signalling.SDP{CallID: callID, SDP: testSDP + "restart"})
	expect[signalling.SDP](booth, signalling.TypeOffer)
	booth.send(signalling.TypeAnswer, &signalling.SDP{CallID: callID, SDP: testSDP + "answer"})
	expect[signalling.SDP](doc, signalling.TypeAnswer)

	booth.send(signalling.TypeRestart, &signalling.Restart{CallID: callID, Reason: signalling.RestartNetworkChange})
	expect[signalling.Restart](doc, signalling.TypeRestart)
	// No offer comes (the clinician's page is stuck): after RestartTimeout the booth may ask again.
	e.clock.Advance(signalling.RestartTimeout)
	booth.send(signalling.TypeRestart, &signalling.Restart{CallID: callID, Reason: signalling.RestartFailed})
	expect[signalling.Restart](doc, signalling.TypeRestart)
}

func TestHubRestartRefusals(t *testing.T) {
	tests := []struct {
		name string
		run  func(e *env) (c *wsClient, code string, ref uint64)
	}{
		{"from the offerer", func(e *env) (*wsClient, string, uint64) {
			doc, _, callID := e.answered()
			doc.send(signalling.TypeRestart, &signalling.Restart{CallID: callID, Reason: signalling.RestartFailed})
			return doc, signalling.CodeForbidden, 4
		}},
		{"from a device not in the call", func(e *env) (*wsClient, string, uint64) {
			_, _, callID := e.answered()
			other := e.hello(e.otherBoothTok, signalling.RoleDevice)
			other.send(signalling.TypeRestart, &signalling.Restart{CallID: callID, Reason: signalling.RestartFailed})
			return other, signalling.CodeNotInCall, 2
		}},
		{"unknown call", func(e *env) (*wsClient, string, uint64) {
			_, booth, _ := e.answered()
			booth.send(signalling.TypeRestart, &signalling.Restart{CallID: "nope", Reason: signalling.RestartFailed})
			return booth, signalling.CodeNotInCall, 4
		}},
		{"before the first answer", func(e *env) (*wsClient, string, uint64) {
			_, booth, callID := e.inCall()
			booth.send(signalling.TypeRestart, &signalling.Restart{CallID: callID, Reason: signalling.RestartFailed})
			return booth, signalling.CodeOutOfOrder, 3
		}},
		{"flood: a second while one is in flight", func(e *env) (*wsClient, string, uint64) {
			doc, booth, callID := e.answered()
			booth.send(signalling.TypeRestart, &signalling.Restart{CallID: callID, Reason: signalling.RestartDisconnected})
			expect[signalling.Restart](doc, signalling.TypeRestart)
			booth.send(signalling.TypeRestart, &signalling.Restart{CallID: callID, Reason: signalling.RestartFailed})
			return booth, signalling.CodeConflict, 5
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c, code, ref := tc.run(e)
			c.expectError(code, ref)
		})
	}
}
