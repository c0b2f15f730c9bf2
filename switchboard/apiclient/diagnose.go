package apiclient

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
)

// SelfTest runs a device's self-test now and returns each check (admins; a site admin
// only for their own site's devices). It can take up to 30 s: the device opens its
// camera and microphone.
func (c *Client) SelfTest(ctx context.Context, deviceID string) (api.SelfTest, error) {
	var out api.SelfTest
	if !signalling.ValidID(deviceID) {
		return out, fmt.Errorf("device ID %q is not valid", deviceID)
	}
	err := c.do(ctx, "POST", "/api/v1/devices/"+deviceID+"/selftest", nil, nil, &out)
	return out, err
}

// DeviceLogs returns a device's last lines log lines, oldest first (0: the
// switchboard's default of 200).
func (c *Client) DeviceLogs(ctx context.Context, deviceID string, lines int) (api.DeviceLogs, error) {
	var out api.DeviceLogs
	if !signalling.ValidID(deviceID) {
		return out, fmt.Errorf("device ID %q is not valid", deviceID)
	}
	v := url.Values{}
	if lines > 0 {
		v.Set("lines", strconv.Itoa(lines))
	}
	err := c.do(ctx, "GET", "/api/v1/devices/"+deviceID+"/logs", v, nil, &out)
	return out, err
}
