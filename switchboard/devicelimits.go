package switchboard

import "github.com/carebooth/carebooth/switchboard/hub"

// Rate is a token bucket: PerSecond messages a second on average, Burst at once.
type Rate = hub.Rate

// DeviceLimits bound what one device can make the switchboard store, log and fan out,
// however it behaves; see hub.DeviceLimits.
type DeviceLimits = hub.DeviceLimits

// DefaultDeviceLimits are generous for a booth and its outbox replay and tight for a
// device that floods; see hub.DefaultDeviceLimits.
func DefaultDeviceLimits() DeviceLimits { return hub.DefaultDeviceLimits() }
