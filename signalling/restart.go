package signalling

import (
	"fmt"
	"time"
)

// TypeRestart is answerer -> switchboard -> offerer: the booth's media path is broken (ICE
// went disconnected or failed) or its network changed, and it asks the offerer for an
// offer that restarts ICE (RFC 8445 section 9; in a browser, RTCPeerConnection.restartIce).
// Only the offerer may offer, so the answerer has to ask. The switchboard relays it only
// from the call's answerer, once the call has an answered offer, and one at a time: a
// restart is in flight from when it is relayed until the answerer answers the next offer,
// or RestartTimeout passes.
const TypeRestart Type = "restart"

// RestartTimeout is how long the switchboard holds a restart in flight without an answered
// offer before it relays another. An offerer that is there answers within a second or two.
const RestartTimeout = 10 * time.Second

// RestartReason says why the answerer asks for an ICE restart, for the logs.
type RestartReason string

// Restart reasons.
const (
	RestartDisconnected  RestartReason = "disconnected"   // ICE consent checks went unanswered
	RestartFailed        RestartReason = "failed"         // ICE gave the path up
	RestartNetworkChange RestartReason = "network_change" // the answerer's addresses changed
)

// Valid reports whether r is one of the restart reasons.
func (r RestartReason) Valid() bool {
	switch r {
	case RestartDisconnected, RestartFailed, RestartNetworkChange:
		return true
	}
	return false
}

// Restart asks the offerer of call CallID for an ICE-restart offer.
type Restart struct {
	CallID string        `json:"call_id"`
	Reason RestartReason `json:"reason"`
}

func (m *Restart) validate() error {
	if err := needID("call_id", m.CallID); err != nil {
		return err
	}
	if !m.Reason.Valid() {
		return fmt.Errorf("reason %q is not %q, %q or %q", m.Reason, RestartDisconnected, RestartFailed, RestartNetworkChange)
	}
	return nil
}
