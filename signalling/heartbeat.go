package signalling

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// TypeHeartbeat is device -> switchboard: the booth's health, on connecting and then
// every HeartbeatInterval. The switchboard takes the device from the connection, never
// from the body, so a device cannot speak for another.
const TypeHeartbeat Type = "heartbeat"

// HeartbeatInterval is how often boothd sends a heartbeat; the switchboard counts a
// device offline after three missed ones.
const HeartbeatInterval = 30 * time.Second

// BoothState is what a booth is doing, as its heartbeat says, and as the staff station
// shows it (Devices), where the switchboard adds StateOffline.
type BoothState string

// Booth states.
const (
	StateIdle    BoothState = "idle"
	StateWaiting BoothState = "waiting"
	StateInCall  BoothState = "in_call"
	StateHelp    BoothState = "help"
	StateFault   BoothState = "fault"
	// StateOffline is the switchboard's word for a device it cannot hear: no signalling
	// connection, or no heartbeat for three intervals. A heartbeat never says it.
	StateOffline BoothState = "offline"
)

// BoothStates lists every state a heartbeat may report, in the order reports show them.
var BoothStates = []BoothState{StateIdle, StateWaiting, StateInCall, StateHelp, StateFault}

// StaffStates lists every state the staff station shows: BoothStates and StateOffline.
var StaffStates = append(BoothStates[:len(BoothStates):len(BoothStates)], StateOffline)

// Valid reports whether s is one of BoothStates (a state a heartbeat may report).
func (s BoothState) Valid() bool {
	for _, v := range BoothStates {
		if s == v {
			return true
		}
	}
	return false
}

// Bounds of a heartbeat's fields.
const (
	maxVersionLen   = 64
	maxLastErrorLen = 500
	maxUptime       = 10 * 365 * 24 * 3600 // seconds
	maxDiskFree     = 1 << 50              // bytes, a petabyte
)

// Heartbeat is a booth's health. Optional fields are absent when the booth does not know
// them (no thermal zone off a Pi, no round trip measured yet).
type Heartbeat struct {
	Version       string     `json:"version"`
	UptimeSeconds int64      `json:"uptime_seconds"`
	State         BoothState `json:"state"`
	Camera        bool       `json:"camera"`
	Microphone    bool       `json:"microphone"`
	Speaker       bool       `json:"speaker"`
	// RTTMs is the link's round trip to the switchboard, measured by ping and pong.
	RTTMs         *float64 `json:"rtt_ms,omitempty"`
	DiskFreeBytes *int64   `json:"disk_free_bytes,omitempty"` // in the state directory
	TempCelsius   *float64 `json:"temp_celsius,omitempty"`    // thermal_zone0 on a Pi
	LastError     string   `json:"last_error,omitempty"`
	// FirmwareVersion and ConfigVersion are sent once the booth knows them.
	FirmwareVersion string `json:"firmware_version,omitempty"`
	ConfigVersion   string `json:"config_version,omitempty"`
}

func boundedText(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%s is %d bytes, the limit is %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	return nil
}

func (m *Heartbeat) validate() error {
	if m.Version == "" {
		return errors.New("version is missing")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"version", m.Version, maxVersionLen},
		{"firmware_version", m.FirmwareVersion, maxVersionLen},
		{"config_version", m.ConfigVersion, maxVersionLen},
		{"last_error", m.LastError, maxLastErrorLen},
	} {
		if err := boundedText(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if !m.State.Valid() {
		return fmt.Errorf("state %q is not one of %q", m.State, BoothStates)
	}
	switch {
	case m.UptimeSeconds < 0 || m.UptimeSeconds > maxUptime:
		return fmt.Errorf("uptime_seconds %d is outside 0..%d", m.UptimeSeconds, maxUptime)
	case m.RTTMs != nil && !(*m.RTTMs >= 0 && *m.RTTMs <= 60_000):
		return fmt.Errorf("rtt_ms %v is outside 0..60000", *m.RTTMs)
	case m.DiskFreeBytes != nil && (*m.DiskFreeBytes < 0 || *m.DiskFreeBytes > maxDiskFree):
		return fmt.Errorf("disk_free_bytes %d is outside 0..%d", *m.DiskFreeBytes, int64(maxDiskFree))
	case m.TempCelsius != nil && !(*m.TempCelsius >= -60 && *m.TempCelsius <= 150):
		return fmt.Errorf("temp_celsius %v is outside -60..150", *m.TempCelsius)
	}
	return nil
}
