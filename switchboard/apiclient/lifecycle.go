package apiclient

import (
	"context"
	"fmt"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
)

// MarkNoShow records that the patient did not come.
func (c *Client) MarkNoShow(ctx context.Context, id string) (Appointment, error) {
	return c.outcome(ctx, id, "no-show")
}

// MoveToTelephone records that the consultation moved to a phone call; a call in
// progress ends.
func (c *Client) MoveToTelephone(ctx context.Context, id string) (Appointment, error) {
	return c.outcome(ctx, id, "telephone")
}

func (c *Client) outcome(ctx context.Context, id, what string) (Appointment, error) {
	var out Appointment
	if !signalling.ValidID(id) {
		return out, fmt.Errorf("appointment ID %q is not valid", id)
	}
	err := c.do(ctx, "POST", "/api/v1/appointments/"+id+"/"+what, nil, nil, &out)
	return out, err
}

// AppointmentEvents returns an appointment's history, oldest first.
func (c *Client) AppointmentEvents(ctx context.Context, id string) ([]appointment.Record, error) {
	var out struct {
		Events []appointment.Record `json:"events"`
	}
	if !signalling.ValidID(id) {
		return nil, fmt.Errorf("appointment ID %q is not valid", id)
	}
	err := c.do(ctx, "GET", "/api/v1/appointments/"+id+"/events", nil, nil, &out)
	return out.Events, err
}

// SetJoinMode changes a device's join mode ("auto" or "button"); the switchboard pushes
// it to the device now or when it next connects. sentNow says whether it was connected.
func (c *Client) SetJoinMode(ctx context.Context, deviceID, mode string) (sentNow bool, err error) {
	var out struct {
		SentNow bool `json:"sent_now"`
	}
	if !signalling.ValidID(deviceID) {
		return false, fmt.Errorf("device ID %q is not valid", deviceID)
	}
	err = c.do(ctx, "PUT", "/api/v1/devices/"+deviceID+"/settings", nil, map[string]string{"join_mode": mode}, &out)
	return out.SentNow, err
}
