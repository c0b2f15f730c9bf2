package signalling

// What a device records and what it is pushed, beside the call itself: the events of its
// outbox and their acknowledgements, settings and config pushes and their reports, a
// clinician's recorded outcome, and a call's quality figures with their acknowledgement.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
)

// Event is one appointment event a booth recorded in its outbox (package appointment's
// window_open, arrive or leave), sent live or replayed after the link was down. Key is the
// booth's idempotency key: the switchboard applies each key at most once and acknowledges
// it with EventAck, after which the booth forgets it. At is the booth's clock.
type Event struct {
	Key           string            `json:"key"`
	AppointmentID string            `json:"appointment_id"`
	Event         appointment.Event `json:"event"`
	At            time.Time         `json:"at"`
}

// outboxEvents are the events a booth records in its outbox, the only ones an Event may
// carry: the rest of the life cycle is the switchboard's, the clinician's or a call's.
var outboxEvents = []appointment.Event{appointment.OpenWindow, appointment.Arrive, appointment.Leave}

// EventAck tells a booth that an event is done with: applied, applied earlier (a
// duplicate), or refused because it was no longer legal (Refused says why). Either way
// the booth must not send it again. Status is the appointment's status afterwards.
type EventAck struct {
	Key       string             `json:"key"`
	Status    appointment.Status `json:"status,omitempty"`
	Duplicate bool               `json:"duplicate,omitempty"`
	Refused   string             `json:"refused,omitempty"`
}

// Settings carries device settings an admin changed. Seq rises; the device applies a
// Settings only if its Seq is above the last it applied, then acknowledges it.
type Settings struct {
	Seq      uint64          `json:"seq"`
	JoinMode device.JoinMode `json:"join_mode"`
}

// SettingsAck acknowledges every Settings up to Seq.
type SettingsAck struct {
	Seq uint64 `json:"seq"`
}

// MaxConfigBytes bounds a remote config document.
const MaxConfigBytes = 16 << 10

// Config carries a device's effective remote config: its fleet, site, room and device
// documents merged (provisioning/config.Overlay text). Seq is its push queue sequence,
// acknowledged with a ConfigAck carrying it; Version is the effective version, which
// changes whenever the effective config does.
type Config struct {
	Seq      uint64 `json:"seq"`
	Version  uint64 `json:"version"`
	Document string `json:"document"`
}

// ConfigResult is what became of a Config on the device.
type ConfigResult string

// Config results.
const (
	ConfigApplied    ConfigResult = "applied"     // running it, and it reached the switchboard
	ConfigRefused    ConfigResult = "refused"     // invalid with the device's own file; nothing changed
	ConfigRolledBack ConfigResult = "rolled_back" // it could not reach the switchboard; back to the previous one
)

// ConfigAck reports a Config's result. Seq acknowledges the push (0 for a report sent
// later, as a rollback is on the next connection); Reason says why for refused and
// rolled_back.
type ConfigAck struct {
	Seq     uint64       `json:"seq,omitempty"`
	Version uint64       `json:"version"`
	Result  ConfigResult `json:"result"`
	Reason  string       `json:"reason,omitempty"`
}

// Outcome records how an appointment ended without a video call.
type Outcome struct {
	AppointmentID string `json:"appointment_id"`
	Outcome       string `json:"outcome"`
}

// Outcomes.
const (
	OutcomeNoShow    = "no_show"   // the patient did not come
	OutcomeTelephone = "telephone" // the clinician phoned the patient instead
)

func (m *Event) validate() error {
	if err := needID("key", m.Key); err != nil {
		return err
	}
	if err := needID("appointment_id", m.AppointmentID); err != nil {
		return err
	}
	if !slices.Contains(outboxEvents, m.Event) {
		return fmt.Errorf("event %q is not one of %q, %q, %q", m.Event, outboxEvents[0], outboxEvents[1], outboxEvents[2])
	}
	if m.At.IsZero() {
		return errors.New("at is missing")
	}
	return nil
}

func (m *EventAck) validate() error { return needID("key", m.Key) }

func (m *Settings) validate() error {
	if m.Seq == 0 {
		return errors.New("seq is missing or 0")
	}
	if !m.JoinMode.Valid() {
		return fmt.Errorf("join_mode %q is not %q or %q", m.JoinMode, device.JoinAuto, device.JoinButton)
	}
	return nil
}

func (m *SettingsAck) validate() error {
	if m.Seq == 0 {
		return errors.New("seq is missing or 0")
	}
	return nil
}

func (m *Config) validate() error {
	switch {
	case m.Seq == 0:
		return errors.New("seq is missing or 0")
	case m.Version == 0:
		return errors.New("version is missing or 0")
	case len(m.Document) > MaxConfigBytes:
		return fmt.Errorf("document is %d bytes, the limit is %d", len(m.Document), MaxConfigBytes)
	}
	return nil
}

func (m *ConfigAck) validate() error {
	switch m.Result {
	case ConfigApplied:
	case ConfigRefused, ConfigRolledBack:
		if strings.TrimSpace(m.Reason) == "" {
			return fmt.Errorf("reason is required with result %q", m.Result)
		}
	default:
		return fmt.Errorf("result %q is not %q, %q or %q", m.Result, ConfigApplied, ConfigRefused, ConfigRolledBack)
	}
	if m.Version == 0 {
		return errors.New("version is missing or 0")
	}
	if len(m.Reason) > 2000 {
		return errors.New("reason is longer than 2000 characters")
	}
	return nil
}

// Quality is how a call went, as the booth measured it, sent when the call ends. It feeds
// the commissioners' report (mean bitrate and packet loss); it holds no patient data.
type Quality struct {
	AppointmentID string  `json:"appointment_id"`
	CallID        string  `json:"call_id"`
	BitrateKbps   float64 `json:"bitrate_kbps"`    // mean outgoing video bitrate over the call
	PacketLossPct float64 `json:"packet_loss_pct"` // incoming packets lost, percent
	RTTMs         float64 `json:"rtt_ms,omitempty"`
	Seconds       float64 `json:"seconds"` // how long the media flowed
}

// maxRefusedLen bounds the reason a refusal gives.
const maxRefusedLen = 500

// QualityAck tells a device that the figures of a call it reported are kept, or refused for
// good (Refused says why): either way it forgets them. A device keeps its figures until
// then, so a call that ends while the link is down is reported once it is back.
type QualityAck struct {
	CallID  string `json:"call_id"`
	Refused string `json:"refused,omitempty"`
}

func (m *QualityAck) validate() error {
	if len(m.Refused) > maxRefusedLen {
		return fmt.Errorf("refused: %d bytes, at most %d", len(m.Refused), maxRefusedLen)
	}
	return needID("call_id", m.CallID)
}

func (m *Quality) validate() error {
	if err := needID("appointment_id", m.AppointmentID); err != nil {
		return err
	}
	if err := needID("call_id", m.CallID); err != nil {
		return err
	}
	switch {
	case !(m.BitrateKbps >= 0 && m.BitrateKbps <= 100_000):
		return fmt.Errorf("bitrate_kbps %v is outside 0..100000", m.BitrateKbps)
	case !(m.PacketLossPct >= 0 && m.PacketLossPct <= 100):
		return fmt.Errorf("packet_loss_pct %v is outside 0..100", m.PacketLossPct)
	case !(m.RTTMs >= 0 && m.RTTMs <= 60_000):
		return fmt.Errorf("rtt_ms %v is outside 0..60000", m.RTTMs)
	case !(m.Seconds >= 0 && m.Seconds <= 86_400):
		return fmt.Errorf("seconds %v is outside 0..86400", m.Seconds)
	}
	return nil
}

func (m *Outcome) validate() error {
	if err := needID("appointment_id", m.AppointmentID); err != nil {
		return err
	}
	if m.Outcome != OutcomeNoShow && m.Outcome != OutcomeTelephone {
		return fmt.Errorf("outcome %q is not %q or %q", m.Outcome, OutcomeNoShow, OutcomeTelephone)
	}
	return nil
}
