package api

import "github.com/carebooth/carebooth/signalling"

// StaffView answers GET /api/v1/staff/devices: the staff station's view of a site, the
// same body the signalling connection pushes as a devices message.
type StaffView = signalling.Devices

// HelpAcknowledged answers POST /api/v1/devices/{id}/help/acknowledge: the device's help
// request, now acknowledged (by whoever said first that they are coming).
type HelpAcknowledged struct {
	Device string                `json:"device"`
	Help   signalling.HelpStatus `json:"help"`
}
