package booth

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/signalling"
)

// Config is what a Booth needs to know. cmd/boothd fills it from the config file.
type Config struct {
	// SwitchboardURL is the switchboard's base URL; the booth dials <URL>/api/v1/signal.
	SwitchboardURL string
	// Rediscover, if set, is asked for the switchboard's base URL again after each failed
	// connection: a switchboard found by mDNS may have moved to another address (a new DHCP
	// lease). "" keeps the URL in use.
	Rediscover func() string
	// Token is the device token, sent as a bearer token.
	Token string
	// DeviceName is for logs.
	DeviceName string
	// JoinMode is device.JoinAuto (arrive at the start time, the default) or
	// device.JoinButton (arrive on Join). In both modes Join pressed during the window
	// arrives at once.
	JoinMode device.JoinMode
	// JoinWindow is how long before the start an appointment can be joined.
	JoinWindow time.Duration
	// Role is device.RoleBooth (the default) or device.RoleClinic. The clinic-room
	// appliance shows its clinic's waiting room, its Join button (Next) admits the patient
	// who has waited longest and End ends the call. It offers; its Caller's calls must
	// implement Offerer.
	Role device.Role
	// StaffCall says a staff call (a desk buzzer, a lamp over the booth, a nurse-call
	// input) is wired at the booth's site and follows Snapshot.Help. Help then counts as
	// given the moment it is pressed, online or not, because the people on site are
	// called at once; the clinic's clinicians are told as well when the link is up.
	StaffCall bool
	// StateDir holds booth.db when Deps.Store is nil.
	StateDir string
	// StatsInterval is how often a call's stats are read into the metrics. Default 2s.
	StatsInterval time.Duration
	// ReconnectMin and ReconnectMax bound the link's backoff. Defaults 1s and 60s.
	ReconnectMin, ReconnectMax time.Duration
}

// Deps are the Booth's collaborators. Caller is required; the rest have defaults.
type Deps struct {
	// Caller starts calls (media/call in boothd, a fake in tests).
	Caller Caller
	// Buttons is the button source, e.g. a *button.Sim. Nil means no buttons.
	Buttons button.Source
	// Store is the appointment store. Nil opens a BoltStore in Config.StateDir, which
	// Close closes; a Store passed in is left open.
	Store Store
	// Clock drives the schedule and backoff. Default the real clock.
	Clock clockwork.Clock
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Registerer receives the booth's metrics. Nil registers nothing.
	Registerer prometheus.Registerer
	// HTTPClient dials the switchboard. Default http.DefaultClient.
	HTTPClient *http.Client
	// Health is what the heartbeat carries besides the state and the round trip; nil
	// sends no heartbeats.
	Health HealthSource
	// RemoteConfig handles the config documents the switchboard pushes
	// (provisioning/remoteconfig.Controller in boothd). Nil: they are ignored.
	RemoteConfig RemoteConfig
	// Diagnostics runs self-tests and reads recent logs when IT asks through the
	// switchboard. Nil: such requests are answered with an error.
	Diagnostics Diagnostics
	// NetworkChanges receives a value each time the host's network changes (netwatch): a
	// call in progress restarts ICE at once rather than waiting for its checks to fail.
	// Nil: only a broken path restarts.
	NetworkChanges <-chan struct{}
}

// RemoteConfig applies remote config documents; the booth only carries its messages.
type RemoteConfig interface {
	// Connected is called on each welcome and returns the reports to send.
	Connected() []*signalling.ConfigAck
	// Reported is called for each report once sent.
	Reported(*signalling.ConfigAck)
	// Offer handles a pushed document: the ack to send now, or nil.
	Offer(*signalling.Config) *signalling.ConfigAck
}
