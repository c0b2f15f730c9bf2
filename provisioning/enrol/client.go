package enrol

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// Path is the switchboard's enrolment route.
const Path = "/api/v1/enrol"

// maxStatusBytes bounds a switchboard's answer (a certificate chain is a few KiB).
const maxStatusBytes = 256 << 10

// Client enrols one device with one switchboard.
type Client struct {
	BaseURL string             // the switchboard, e.g. "https://sb.example.org"
	Key     ed25519.PrivateKey // the device's identity key
	HTTP    *http.Client       // nil: http.DefaultClient
	Clock   clockwork.Clock    // nil: the real clock
}

// Ask posts the device's request and returns the switchboard's answer: Pending with the
// code to show, or Approved when the key is enrolled already.
func (c *Client) Ask(ctx context.Context, r Request) (Status, error) {
	if err := r.Validate(); err != nil {
		return Status{}, err
	}
	body, _ := json.Marshal(r)
	return c.do(ctx, "POST", body)
}

// Poll asks where the enrolment stands.
func (c *Client) Poll(ctx context.Context) (Status, error) { return c.do(ctx, "GET", nil) }

// Enrol asks, then polls until the device is approved, and returns the approved status
// (the caller keeps its Chain with identity.SaveCertificate). pending is told each code
// to show, again whenever it changes (a code expired and the device asked again). It
// returns when ctx ends, or on a refusal a retry cannot mend (a bad signature, a
// refused device).
func (c *Client) Enrol(ctx context.Context, r Request, pending func(Status)) (Status, error) {
	st, err := c.Ask(ctx, r)
	shown := ""
	for {
		switch {
		case err != nil:
			var se *StatusError
			if errors.As(err, &se) && se.Status != http.StatusTooManyRequests && se.Status < 500 {
				return Status{}, err
			}
		case st.State == Approved:
			return st, nil
		case st.State == Refused:
			return st, errors.New("enrolment refused by the switchboard; ask IT")
		case st.State == Expired:
			st, err = c.Ask(ctx, r)
			continue
		case st.State == Pending && st.Code != shown:
			shown = st.Code
			pending(st)
		}
		wait := st.PollAfter
		if wait <= 0 || err != nil {
			wait = 5 * time.Second
		}
		select {
		case <-ctx.Done():
			return Status{}, ctx.Err()
		case <-c.clock().After(min(wait, time.Minute)):
		}
		st, err = c.Poll(ctx)
	}
}

func (c *Client) clock() clockwork.Clock {
	if c.Clock == nil {
		return clockwork.NewRealClock()
	}
	return c.Clock
}

// StatusError is a refusal from the switchboard.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("enrolment: switchboard answered %d: %s", e.Status, e.Message)
}

func (c *Client) do(ctx context.Context, method string, body []byte) (Status, error) {
	u, err := url.Parse(strings.TrimSuffix(c.BaseURL, "/") + Path)
	if err != nil || u.Host == "" {
		return Status{}, fmt.Errorf("enrolment: switchboard URL %q is not a URL with a host", c.BaseURL)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return Status{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", Authorization(c.Key, method, u.RequestURI(), c.clock().Now(), body))
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return Status{}, fmt.Errorf("enrolment: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxStatusBytes))
	if err != nil {
		return Status{}, fmt.Errorf("enrolment: read the answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		return Status{}, &StatusError{Status: res.StatusCode, Message: msg}
	}
	var st Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return Status{}, fmt.Errorf("enrolment: the switchboard's answer is not a status: %w", err)
	}
	switch st.State {
	case Pending, Approved, Expired, Refused:
	default:
		return Status{}, fmt.Errorf("enrolment: the switchboard answered state %q", st.State)
	}
	if st.State == Approved && len(st.Chain) == 0 {
		return Status{}, errors.New("enrolment: approved, but the answer carries no certificate")
	}
	return st, nil
}
