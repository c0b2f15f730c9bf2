package site

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/carebooth/carebooth/provisioning/discovery"
)

// ErrSpoofed is wrapped when a device at an announced address is not the device the
// announcement claims.
var ErrSpoofed = errors.New("the announcement's device ID is not the certificate's")

// maxRecordBytes bounds a peer's answer.
const maxRecordBytes = 4 << 10

// Verify asks the device p claims to be, at the addresses p announced, for its record,
// authenticated by its certificate, and returns it. The record comes back only if the
// certificate there is a device certificate of the site's CA naming p's ID, and the record
// it answers names that ID too; a spoofed or rogue announcement fails with ErrNotDevice
// (and ErrSpoofed when it is another of the site's devices).
func Verify(ctx context.Context, creds Credentials, p discovery.Peer) (discovery.Record, error) {
	eps := p.Endpoints()
	if len(eps) == 0 {
		return discovery.Record{}, fmt.Errorf("verify %q: no address", p.Instance)
	}
	tr := &http.Transport{TLSClientConfig: creds.clientTLS(p.ID), DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		TLSHandshakeTimeout: 3 * time.Second, ResponseHeaderTimeout: 3 * time.Second, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var errs []error
	for _, ep := range eps {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+ep+PathDevice, nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp, err := c.Do(req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxRecordBytes+1))
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(body) > maxRecordBytes {
			errs = append(errs, fmt.Errorf("%s: %s", ep, resp.Status))
			continue
		}
		var rec discovery.Record
		if err := json.Unmarshal(body, &rec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ep, err))
			continue
		}
		if err := rec.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ep, err))
			continue
		}
		if rec.ID != p.ID {
			errs = append(errs, fmt.Errorf("%s: %w: it says it is %q", ep, ErrSpoofed, rec.ID))
			continue
		}
		return rec, nil
	}
	return discovery.Record{}, fmt.Errorf("verify device %q (%s): %w", p.ID, p.Instance, errors.Join(errs...))
}
