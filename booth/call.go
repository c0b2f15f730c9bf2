package booth

import (
	"context"
	"time"

	"github.com/carebooth/carebooth/signalling"
)

// Caller starts calls. booth declares it so it does not depend on the exact API of
// media/call; cmd/boothd adapts media's engine to it and tests use a fake.
type Caller interface {
	// StartCall prepares the answering side of a call. It must not block on the network:
	// the offer arrives later through ActiveCall.Answer.
	StartCall(ctx context.Context, p CallParams) (ActiveCall, error)
}

// CallParams describes a call the switchboard has started.
type CallParams struct {
	CallID        string
	AppointmentID string
	// Role is the side of the SDP exchange: a booth answers (the zero value means
	// answerer); the clinic-room appliance offers, and its ActiveCall must be an Offerer.
	Role       signalling.CallRole
	ICEServers []signalling.ICEServer
	// OnCandidate is called with each local ICE candidate, and once with an empty
	// Candidate string at the end of gathering. It may be called from any goroutine and
	// must not be called after Close returns.
	OnCandidate func(signalling.Candidate)
}

// ActiveCall is one call in progress. Every method may be called from any goroutine.
type ActiveCall interface {
	// Answer applies the remote offer and returns the local answer SDP.
	Answer(ctx context.Context, offerSDP string) (string, error)
	// AddCandidate adds a remote ICE candidate; an empty Candidate marks the end.
	AddCandidate(c signalling.Candidate) error
	// Connected is closed once media flows (ICE and DTLS connected).
	Connected() <-chan struct{}
	// Done is closed when the call fails or ends by itself (ICE failed, peer gone).
	Done() <-chan struct{}
	// Stats returns the call's current statistics.
	Stats() CallStats
	// Close ends the call and releases its tracks. It is idempotent.
	Close() error
}

// Offerer is implemented by calls that can take the offering side, as the clinic-room
// appliance does.
type Offerer interface {
	// Offer creates the local offer SDP.
	Offer(ctx context.Context) (string, error)
	// SetAnswer applies the remote answer.
	SetAnswer(answerSDP string) error
}

// Muter is implemented by calls that can mute the microphone; the Mute button uses it.
type Muter interface {
	SetMuted(muted bool) error
}

// CallStats is what the booth reports about a call. Counters are totals since the call
// started.
type CallStats struct {
	FramesSent          uint64        // video frames encoded and sent
	FramesDecoded       uint64        // remote video frames decoded
	AudioPacketsDecoded uint64        // remote audio packets decoded
	SendBitrateKbps     float64       // outgoing video bitrate, recent average
	MeanSendBitrateKbps float64       // outgoing bitrate averaged since the media connected
	PacketLoss          float64       // fraction of incoming packets lost, 0..1
	RTT                 time.Duration // round-trip time from RTCP or ICE
}

// Restarter is implemented by calls whose ICE can be restarted: when the media path
// breaks they report it instead of ending (Done stays open), and the booth asks for a
// restart, giving up after restartWindow.
type Restarter interface {
	// PathChanged is signalled (coalesced) whenever the path breaks or mends.
	PathChanged() <-chan struct{}
	// PathBroken is why the path is broken now, "" while it carries media.
	PathBroken() signalling.RestartReason
}

// RestartOfferer is implemented by calls that can offer an ICE restart: the clinic-room
// appliance's, answering the booth's restart request.
type RestartOfferer interface {
	RestartOffer(ctx context.Context) (string, error)
}
