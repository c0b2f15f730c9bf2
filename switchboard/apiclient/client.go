package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
)

// The API's wire types are package api's, shared with the server, so the client cannot
// drift from what the switchboard sends.
type (
	Clinic         = api.Clinic
	Clinician      = api.Clinician
	NewClinician   = api.NewClinician
	Device         = api.Device
	Appointment    = api.Appointment
	CallQuality    = api.CallQuality
	NewAppointment = api.NewAppointment
	Me             = api.Me
	Login          = api.Login
)

// Error is a refusal from the switchboard.
type Error struct {
	Status  int    // HTTP status
	Code    string // bad_request, unauthorized, forbidden, not_found, conflict, too_large, ...
	Message string
	Field   string // the request field at fault, if any (for an import file, its JSON path)
	Line    int    // the line of an import file at fault, if any
}

// refusal reads an error response: the API's error body, or else the text it holds.
func refusal(status int, raw []byte) *Error {
	var e api.ErrorBody
	if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
		return &Error{Status: status, Code: "http", Message: strings.TrimSpace(string(raw))}
	}
	return &Error{Status: status, Code: e.Error.Code, Message: e.Error.Message, Field: e.Error.Field, Line: e.Error.Line}
}

func (e *Error) Error() string {
	return fmt.Sprintf("switchboard refused (%d %s): %s", e.Status, e.Code, e.Message)
}

// Client calls one switchboard with one token (a session or device token; empty for
// Login alone).
type Client struct {
	base  *url.URL
	token string
	hc    *http.Client
}

// New returns a client for the switchboard at baseURL (e.g. "https://sb.example.org").
// hc nil means a client with a 30 s timeout.
func New(baseURL, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("switchboard URL %q: want http(s)://host[:port]", baseURL)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, token: token, hc: hc}, nil
}

// WithToken returns a copy of c that sends token.
func (c *Client) WithToken(token string) *Client {
	cc := *c
	cc.token = token
	return &cc
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		return refusal(res.StatusCode, raw)
	}
	if out == nil || res.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// Login exchanges a clinician's username and password for a session token.
func (c *Client) Login(ctx context.Context, username, password string) (Login, error) {
	var out Login
	err := c.do(ctx, "POST", "/api/v1/login", nil, api.LoginRequest{Username: username, Password: password}, &out)
	return out, err
}

// Logout ends the client's session.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, "POST", "/api/v1/logout", nil, nil, nil)
}

// Me returns who the client's token belongs to.
func (c *Client) Me(ctx context.Context) (Me, error) {
	var out Me
	err := c.do(ctx, "GET", "/api/v1/me", nil, nil, &out)
	return out, err
}

// Clinics lists the clinics the clinician may see.
func (c *Client) Clinics(ctx context.Context) ([]Clinic, error) {
	var out api.Clinics
	err := c.do(ctx, "GET", "/api/v1/clinics", nil, nil, &out)
	return out.Clinics, err
}

// CreateClinic creates a clinic (admins only).
func (c *Client) CreateClinic(ctx context.Context, name, phone string) (Clinic, error) {
	var out Clinic
	err := c.do(ctx, "POST", "/api/v1/clinics", nil, api.NewClinic{Name: name, Phone: phone}, &out)
	return out, err
}

// CreateClinician creates a clinician account (admins only).
func (c *Client) CreateClinician(ctx context.Context, n NewClinician) (Clinician, error) {
	var out Clinician
	err := c.do(ctx, "POST", "/api/v1/clinicians", nil, n, &out)
	return out, err
}

// Devices lists the devices of the clinician's clinic (admins: every clinic's).
func (c *Client) Devices(ctx context.Context) ([]Device, error) {
	var out api.Devices
	err := c.do(ctx, "GET", "/api/v1/devices", nil, nil, &out)
	return out.Devices, err
}

// Device returns one device with its health.
func (c *Client) Device(ctx context.Context, id string) (Device, error) {
	var out api.DeviceDetail
	err := c.do(ctx, "GET", "/api/v1/devices/"+url.PathEscape(id), nil, nil, &out)
	return out.Device, err
}

// CreateDevice creates a device and returns it with its token, which the switchboard
// shows only this once (admins only).
func (c *Client) CreateDevice(ctx context.Context, name, clinicID, role string) (Device, string, error) {
	var out api.DeviceCreated
	err := c.do(ctx, "POST", "/api/v1/devices", nil, api.NewDevice{Name: name, ClinicID: clinicID, Role: device.Role(role)}, &out)
	return out.Device, out.Token, err
}

// AppointmentQuery selects appointments. Zero times use the switchboard's defaults (the
// last hour and the next 48); ClinicID is for admins and defaults to their own clinic.
type AppointmentQuery struct {
	From, To time.Time
	ClinicID string
}

// Appointments lists the appointments overlapping [From, To) of the clinician's clinic,
// or of the calling device.
func (c *Client) Appointments(ctx context.Context, aq AppointmentQuery) ([]Appointment, error) {
	q := url.Values{}
	if !aq.From.IsZero() {
		q.Set("from", aq.From.Format(time.RFC3339))
	}
	if !aq.To.IsZero() {
		q.Set("to", aq.To.Format(time.RFC3339))
	}
	if aq.ClinicID != "" {
		q.Set("clinic_id", aq.ClinicID)
	}
	var out api.Appointments
	err := c.do(ctx, "GET", "/api/v1/appointments", q, nil, &out)
	return out.Appointments, err
}

// CreateAppointment books an appointment.
func (c *Client) CreateAppointment(ctx context.Context, n NewAppointment) (Appointment, error) {
	var out Appointment
	err := c.do(ctx, "POST", "/api/v1/appointments", nil, n, &out)
	return out, err
}

// Appointment returns one appointment.
func (c *Client) Appointment(ctx context.Context, id string) (Appointment, error) {
	var out Appointment
	if !signalling.ValidID(id) {
		return out, fmt.Errorf("appointment ID %q is not valid", id)
	}
	err := c.do(ctx, "GET", "/api/v1/appointments/"+id, nil, nil, &out)
	return out, err
}

// CancelAppointment cancels an appointment.
func (c *Client) CancelAppointment(ctx context.Context, id string) (Appointment, error) {
	var out Appointment
	if !signalling.ValidID(id) {
		return out, fmt.Errorf("appointment ID %q is not valid", id)
	}
	err := c.do(ctx, "DELETE", "/api/v1/appointments/"+id, nil, nil, &out)
	return out, err
}

// WaitingRoom returns the clinician's clinic's waiting room.
func (c *Client) WaitingRoom(ctx context.Context) (signalling.Queue, error) {
	var out signalling.Queue
	err := c.do(ctx, "GET", "/api/v1/waiting-room", nil, nil, &out)
	return out, err
}

// IsStatus reports whether err is an *Error with the given HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}
