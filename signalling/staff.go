package signalling

import (
	"fmt"
	"slices"
	"time"
)

// MaxStaffDevices bounds the devices one Devices message lists, so that a site's view
// fits in MaxMessageBytes. A site with more is shown its first MaxStaffDevices by name,
// with Truncated set.
const MaxStaffDevices = 200

// maxProblemLen bounds DeviceStatus.Problem: a heartbeat's last_error.
const maxProblemLen = maxLastErrorLen

// Devices is the staff station's view of a site: every device of the clinic with its
// live state, sorted by name. The switchboard sends it whole (it is a snapshot) to a
// clinician connection whose hello set Staff, on welcome and whenever it changes.
type Devices struct {
	ClinicID  string         `json:"clinic_id"`
	Devices   []DeviceStatus `json:"devices"`
	Truncated bool           `json:"truncated,omitempty"`
}

// DeviceStatus is one device as the staff station shows it.
type DeviceStatus struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Room string `json:"room,omitempty"`
	// State is what the device is doing, as the switchboard derives it from its
	// connection, the waiting rooms, calls, help requests and heartbeats.
	State BoothState `json:"state"`
	// Problem is what the device says is wrong (a heartbeat's last_error), for StateFault.
	Problem string `json:"problem,omitempty"`
	// Help is the standing help request of the device, nil when there is none; it
	// stands while the device is offline, so that nobody forgets it.
	Help *HelpStatus `json:"help,omitempty"`
}

// HelpStatus is a standing help request as the staff station shows it.
type HelpStatus struct {
	Since time.Time `json:"since"`
	// AcknowledgedBy is the name of the member of staff who said they are coming, and
	// AcknowledgedAt when; empty and zero until then.
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
}

func (m *Devices) validate() error {
	if m.ClinicID != "" && !validID(m.ClinicID) {
		return fmt.Errorf("clinic_id %q is not a valid ID", m.ClinicID)
	}
	if m.Devices == nil {
		return fmt.Errorf("devices is missing (an empty site sends [])")
	}
	if len(m.Devices) > MaxStaffDevices {
		return fmt.Errorf("devices lists %d, the limit is %d", len(m.Devices), MaxStaffDevices)
	}
	for i := range m.Devices {
		if err := m.Devices[i].validate(); err != nil {
			return fmt.Errorf("devices[%d]: %w", i, err)
		}
	}
	return nil
}

func (d *DeviceStatus) validate() error {
	if err := needID("id", d.ID); err != nil {
		return err
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"name", d.Name, MaxNameLen}, {"room", d.Room, MaxNameLen}, {"problem", d.Problem, maxProblemLen}} {
		if err := boundedText(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if !slices.Contains(StaffStates, d.State) {
		return fmt.Errorf("state %q is not one of %q", d.State, StaffStates)
	}
	if h := d.Help; h != nil {
		if h.Since.IsZero() {
			return fmt.Errorf("help.since is missing")
		}
		if err := boundedText("help.acknowledged_by", h.AcknowledgedBy, MaxNameLen); err != nil {
			return err
		}
		if (h.AcknowledgedBy == "") != (h.AcknowledgedAt == nil) {
			return fmt.Errorf("help.acknowledged_by and help.acknowledged_at come together")
		}
	}
	return nil
}
