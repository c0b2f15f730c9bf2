package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/carebooth/carebooth/switchboard/api"
)

// Firmware wire types (package api, and firmware/release for the device's side).
type (
	Release              = api.Release
	FirmwareAnnouncement = api.FirmwareAnnouncement
	FirmwareReport       = api.FirmwareReport
)

// PublishOptions are how a release is rolled out.
type PublishOptions struct {
	CanaryPercent  int      // announce first to this percentage of booths
	Canaries       []string // or to these booths
	Notes          string
	AllowDowngrade bool
}

// PublishFirmware uploads a signed bundle of size bytes, streamed from body. The request
// has no timeout of its own (a bundle may take minutes); ctx bounds it.
func (c *Client) PublishFirmware(ctx context.Context, body io.Reader, size int64, opt PublishOptions) (Release, error) {
	q := url.Values{}
	if opt.CanaryPercent > 0 {
		q.Set("canary", strconv.Itoa(opt.CanaryPercent))
	}
	if len(opt.Canaries) > 0 {
		q.Set("devices", strings.Join(opt.Canaries, ","))
	}
	setNonEmpty(q, "notes", opt.Notes)
	if opt.AllowDowngrade {
		q.Set("allow_downgrade", "true")
	}
	u := *c.base
	u.Path += "/api/v1/firmware"
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, "POST", u.String(), body)
	if err != nil {
		return Release{}, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := *c.hc
	hc.Timeout = 0
	res, err := hc.Do(req)
	if err != nil {
		return Release{}, fmt.Errorf("POST /api/v1/firmware: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return Release{}, fmt.Errorf("POST /api/v1/firmware: read response: %w", err)
	}
	if res.StatusCode >= 300 {
		return Release{}, refusal(res.StatusCode, raw)
	}
	var r Release
	if err := json.Unmarshal(raw, &r); err != nil {
		return Release{}, fmt.Errorf("POST /api/v1/firmware: decode response: %w", err)
	}
	return r, nil
}

// Releases lists the firmware releases, newest first.
func (c *Client) Releases(ctx context.Context) ([]Release, error) {
	var out api.Releases
	err := c.do(ctx, "GET", "/api/v1/firmware", nil, nil, &out)
	return out.Releases, err
}

// Release returns one release and its rollout.
func (c *Client) Release(ctx context.Context, id string) (Release, error) {
	var r Release
	err := c.do(ctx, "GET", "/api/v1/firmware/"+url.PathEscape(id), nil, nil, &r)
	return r, err
}

// SteerRollout pauses, resumes or promotes a rollout: action is "pause", "resume" or
// "promote".
func (c *Client) SteerRollout(ctx context.Context, id, action string) (Release, error) {
	var r Release
	err := c.do(ctx, "POST", "/api/v1/firmware/"+url.PathEscape(id)+"/"+action, nil, nil, &r)
	return r, err
}

// FirmwareAnnouncement returns the release this device should install, and false when
// there is none. The client's credentials must be a device's.
func (c *Client) FirmwareAnnouncement(ctx context.Context) (FirmwareAnnouncement, bool, error) {
	var a FirmwareAnnouncement
	if err := c.do(ctx, "GET", "/api/v1/firmware/announcement", nil, nil, &a); err != nil {
		return a, false, err
	}
	return a, a.ReleaseID != "", nil
}

// ReportFirmware tells the switchboard how far this device has got with a release.
func (c *Client) ReportFirmware(ctx context.Context, releaseID string, r FirmwareReport) error {
	return c.do(ctx, "POST", "/api/v1/firmware/"+url.PathEscape(releaseID)+"/reports", nil, r, nil)
}

// URL resolves a path on the switchboard (an announcement's URL) to an absolute URL.
func (c *Client) URL(path string) string {
	u := *c.base
	u.Path += path
	return u.String()
}
