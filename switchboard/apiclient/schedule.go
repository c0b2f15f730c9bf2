package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/carebooth/carebooth/switchboard/api"
)

// ImportRequest is a schedule file to import (POST /api/v1/appointments/import).
type ImportRequest struct {
	Data []byte
	// Format is "fhir", "ical", or "" to let the switchboard tell from the file.
	Format string
	// ClinicID defaults to the clinician's; DeviceID is the booth for entries that name
	// no device of the clinic.
	ClinicID, DeviceID string
	DryRun             bool
	// From and To bound the instances of an iCalendar feed that are imported; zero
	// means the switchboard's defaults (now, and 90 days on).
	From, To time.Time
}

// An import's report, as the switchboard sends it.
type (
	ImportChange = api.ImportChange
	ImportResult = api.ImportResult
)

// ImportAppointments imports a FHIR R4 Bundle or an iCalendar file into a clinic. A
// refused file is an *Error naming the JSON path (Field) or line (Line) at fault.
func (c *Client) ImportAppointments(ctx context.Context, in ImportRequest) (ImportResult, error) {
	q := url.Values{}
	setNonEmpty(q, "format", in.Format)
	setNonEmpty(q, "clinic_id", in.ClinicID)
	setNonEmpty(q, "device_id", in.DeviceID)
	if in.DryRun {
		q.Set("dry_run", "true")
	}
	setTime(q, "from", in.From)
	setTime(q, "to", in.To)
	ct := "application/octet-stream" // let the switchboard look at the file
	switch in.Format {
	case "fhir":
		ct = "application/fhir+json"
	case "ical":
		ct = "text/calendar"
	}
	var out ImportResult
	raw, err := c.raw(ctx, "POST", "/api/v1/appointments/import", q, ct, in.Data, "application/json")
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("POST /api/v1/appointments/import: decode response: %w", err)
	}
	return out, nil
}

// ReportQuery selects a report: appointments starting in [From, To) (zero: the last 30
// days), of one clinic (admins; "" is every clinic they may see).
type ReportQuery struct {
	From, To time.Time
	ClinicID string
}

// The report's wire types.
type (
	ReportMetrics = api.ReportMetrics
	ReportSite    = api.ReportSite
	ReportClinic  = api.ReportClinic
	Report        = api.Report
)

func reportQuery(rq ReportQuery) url.Values {
	q := url.Values{}
	setTime(q, "from", rq.From)
	setTime(q, "to", rq.To)
	setNonEmpty(q, "clinic_id", rq.ClinicID)
	return q
}

// Report returns the report as JSON.
func (c *Client) Report(ctx context.Context, rq ReportQuery) (Report, error) {
	var out Report
	err := c.do(ctx, "GET", "/api/v1/reports", reportQuery(rq), nil, &out)
	return out, err
}

// ReportCSV returns the report as RFC 4180 CSV.
func (c *Client) ReportCSV(ctx context.Context, rq ReportQuery) ([]byte, error) {
	q := reportQuery(rq)
	q.Set("format", "csv")
	return c.raw(ctx, "GET", "/api/v1/reports", q, "", nil, "text/csv")
}

func setNonEmpty(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func setTime(q url.Values, k string, t time.Time) {
	if !t.IsZero() {
		q.Set(k, t.UTC().Format(time.RFC3339))
	}
}

// raw sends a body that is not JSON (or none) and returns the response body as it is.
func (c *Client) raw(ctx context.Context, method, path string, query url.Values, contentType string, body []byte, accept string) ([]byte, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		return nil, refusal(res.StatusCode, raw)
	}
	return raw, nil
}
