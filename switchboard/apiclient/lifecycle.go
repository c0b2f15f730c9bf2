package apiclient

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
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

// AppointmentEvents returns an appointment's whole history, oldest first, following the
// switchboard's pages.
func (c *Client) AppointmentEvents(ctx context.Context, id string) ([]appointment.Record, error) {
	if !signalling.ValidID(id) {
		return nil, fmt.Errorf("appointment ID %q is not valid", id)
	}
	var all []appointment.Record
	offset := 0
	for {
		var page api.History
		q := url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(eventsPage)}}
		if err := c.do(ctx, "GET", "/api/v1/appointments/"+id+"/events", q, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Events...)
		if page.NextOffset == nil {
			return all, nil
		}
		if *page.NextOffset <= offset {
			return nil, fmt.Errorf("appointment %s history: the switchboard gave next_offset %d after offset %d", id, *page.NextOffset, offset)
		}
		offset = *page.NextOffset
	}
}

// eventsPage is the largest page of history the switchboard gives.
const eventsPage = 500

// SetJoinMode changes a device's join mode ("auto" or "button"); the switchboard pushes
// it to the device now or when it next connects. sentNow says whether it was connected.
func (c *Client) SetJoinMode(ctx context.Context, deviceID, mode string) (sentNow bool, err error) {
	var out api.DeviceSettingsChanged
	if !signalling.ValidID(deviceID) {
		return false, fmt.Errorf("device ID %q is not valid", deviceID)
	}
	err = c.do(ctx, "PUT", "/api/v1/devices/"+deviceID+"/settings", nil, api.DeviceSettings{JoinMode: device.JoinMode(mode)}, &out)
	return out.SentNow, err
}

// RevokeDevice revokes a device at once and for good (admins; a site admin only for
// their own site's devices), and returns it and how many connections were closed.
func (c *Client) RevokeDevice(ctx context.Context, deviceID, reason string) (api.DeviceRevoked, error) {
	var out api.DeviceRevoked
	if !signalling.ValidID(deviceID) {
		return out, fmt.Errorf("device ID %q is not valid", deviceID)
	}
	err := c.do(ctx, "POST", "/api/v1/devices/"+deviceID+"/revoke", nil, api.RevokeDevice{Reason: reason}, &out)
	return out, err
}

// Enrolments lists the devices waiting for an admin to approve their activation codes.
func (c *Client) Enrolments(ctx context.Context) ([]api.Enrolment, error) {
	var out api.Enrolments
	err := c.do(ctx, "GET", "/api/v1/enrolments", nil, nil, &out)
	return out.Enrolments, err
}

// ApproveEnrolment approves the device showing code into a site (a clinic ID) and room
// with a role, and returns the device created.
func (c *Client) ApproveEnrolment(ctx context.Context, a enrol.Approval) (Device, error) {
	var out Device
	err := c.do(ctx, "POST", "/api/v1/enrolments/approve", nil, a, &out)
	return out, err
}

// AuditQuery selects audit entries: Since is a duration back from now ("24h") or an RFC
// 3339 time, Action one of package audit's; After and Limit page.
type AuditQuery struct {
	Since  string
	Action string
	After  uint64
	Limit  int
}

// Audit returns one page of the audit log (admins; a site admin's own site).
func (c *Client) Audit(ctx context.Context, q AuditQuery) (api.AuditLog, error) {
	v := url.Values{}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if q.Action != "" {
		v.Set("action", q.Action)
	}
	if q.After > 0 {
		v.Set("after", strconv.FormatUint(q.After, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out api.AuditLog
	err := c.do(ctx, "GET", "/api/v1/audit", v, nil, &out)
	return out, err
}
