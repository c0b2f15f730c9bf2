package switchboard

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
)

// received is one message a signalling connection got, or how it ended.
type received struct {
	t    signalling.Type
	body any
	err  error
}

// collect reads c until it closes, onto the returned channel: a peer that is reading
// answers the close handshake at once.
func collect(c *wsClient) <-chan received {
	ch := make(chan received, 64)
	go func() {
		for {
			env, body, err := c.conn.Recv(context.Background())
			ch <- received{env.Type, body, err}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// next is the next message of t on ch, skipping others, or fails.
func next(t *testing.T, ch <-chan received, want signalling.Type) any {
	t.Helper()
	for {
		select {
		case m := <-ch:
			if m.err != nil {
				t.Fatalf("waiting for %s: connection ended: %v", want, m.err)
			}
			if m.t == want {
				return m.body
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s within 5s", want)
		}
	}
}

// closedWith waits for ch's connection to close and returns its close status and reason.
func closedWith(t *testing.T, ch <-chan received) (websocket.StatusCode, string) {
	t.Helper()
	for {
		select {
		case m := <-ch:
			if m.err != nil {
				var ce websocket.CloseError
				if !errors.As(m.err, &ce) {
					return -1, m.err.Error()
				}
				return ce.Code, ce.Reason
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the connection is still open after 5s")
		}
	}
}

func (e *env) revoke(tok, id, reason string) (int, []byte) {
	e.t.Helper()
	return e.do("POST", "/api/v1/devices/"+id+"/revoke", tok, api.RevokeDevice{Reason: reason})
}

// TestRevokeCutsOffDeviceMidCall: revoking a booth in a call ends the call for the
// clinician with the reason the web app shows, tells the booth why, closes its
// connection, and from then on its token is refused with the revoked code.
func TestRevokeCutsOffDeviceMidCall(t *testing.T) {
	e := newEnv(t)
	doc, booth, callID := e.inCall()
	boothIn, docIn := collect(booth), collect(doc)

	code, body := e.revoke(e.adminTok, e.booth.ID, "reported stolen")
	if code != http.StatusOK {
		t.Fatalf("revoke: got %d %s, want 200", code, body)
	}
	var got api.DeviceRevoked
	must(t, json.Unmarshal(body, &got))
	if got.Disconnected != 1 || got.Device.Revoked == nil || got.Device.Revoked.By != "admin" ||
		got.Device.Revoked.Reason != "reported stolen" || !got.Device.Revoked.At.Equal(t0) {
		t.Errorf("revoke answer: got %s, want one connection closed and the revocation by admin at %s", body, t0)
	}

	end := next(t, docIn, signalling.TypeEnd).(*signalling.End)
	if end.CallID != callID || end.Reason != signalling.EndRevoked {
		t.Errorf("clinician's end: got %+v, want call %s with reason %q", end, callID, signalling.EndRevoked)
	}
	why := next(t, boothIn, signalling.TypeError).(*signalling.Error)
	if why.Code != signalling.CodeRevoked {
		t.Errorf("booth told: got %+v, want code %q", why, signalling.CodeRevoked)
	}
	if status, reason := closedWith(t, boothIn); status != websocket.StatusPolicyViolation || reason != "device revoked" {
		t.Errorf("booth's close: got %d %q, want %d \"device revoked\"", status, reason, websocket.StatusPolicyViolation)
	}
	if got := e.status(e.appt.ID); got != appointment.Ended {
		t.Errorf("appointment after revoking: got %s, want %s", got, appointment.Ended)
	}
	if q := e.srv.hub.Queue(e.clinic.ID); len(q.Entries) != 0 {
		t.Errorf("waiting room after revoking: got %+v, want empty", q.Entries)
	}

	code, body = e.do("GET", "/api/v1/me", e.boothTok, nil)
	if code != http.StatusForbidden || errorOf(t, body).Code != api.CodeRevoked {
		t.Errorf("its token afterwards: got %d %s, want 403 %s", code, body, api.CodeRevoked)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.boothTok}}})
	if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("reconnecting: got %v, %v, want 403", res, err)
	}
	if code, body := e.revoke(e.adminTok, e.booth.ID, ""); code != http.StatusConflict {
		t.Errorf("revoking again: got %d %s, want 409", code, body)
	}
	// The other clinic's booth is untouched.
	if code, _ := e.do("GET", "/api/v1/me", e.otherBoothTok, nil); code != http.StatusOK {
		t.Errorf("another booth: got %d, want 200", code)
	}
}

// TestRevokeRefusals: who may revoke which device, and bad input.
func TestRevokeRefusals(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, tok, id, body string
		want                int
	}{
		{"a clinician", e.docTok, e.booth.ID, `{}`, http.StatusForbidden},
		{"a device", e.boothTok, e.booth.ID, `{}`, http.StatusForbidden},
		{"a site admin, another site's device", e.adminTok, e.otherBooth.ID, `{}`, http.StatusNotFound},
		{"no such device", e.fleetTok, "no-such-device", `{}`, http.StatusNotFound},
		{"a reason too long", e.fleetTok, e.booth.ID, `{"reason":"` + strings.Repeat("x", 201) + `"}`, http.StatusBadRequest},
		{"an unknown field", e.fleetTok, e.booth.ID, `{"why":"x"}`, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := e.do("POST", "/api/v1/devices/"+tc.id+"/revoke", tc.tok, tc.body); code != tc.want {
				t.Errorf("got %d %s, want %d", code, body, tc.want)
			}
		})
	}
	for _, tok := range []string{e.boothTok, e.otherBoothTok} {
		if code, body := e.do("GET", "/api/v1/me", tok, nil); code != http.StatusOK {
			t.Errorf("a device after refused revocations: got %d %s, want 200", code, body)
		}
	}
	if code, body := e.revoke(e.fleetTok, e.otherBooth.ID, ""); code != http.StatusOK {
		t.Errorf("a fleet admin, any site's device: got %d %s, want 200", code, body)
	}
}

// TestRevokedKeyRefused: a device enrolled by its key, once revoked, is refused by its
// certificate, gets no credentials from its enrolment poll, and cannot ask to enrol
// again with the same key.
func TestRevokedKeyRefused(t *testing.T) {
	e := newEnv(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, st, _ := e.signed(key, "POST", enrolBody, 0)
	if code, body := e.approve(e.adminTok, enrol.Approval{Code: st.Code, Site: e.clinic.ID, Room: "Room 1"}); code != http.StatusCreated {
		t.Fatalf("approve: %d %s", code, body)
	}
	_, done, _ := e.signed(key, "GET", "", 0)

	ts := httptest.NewUnstartedServer(e.srv.Handler())
	ts.TLS = e.srv.TLSConfig()
	der, skey, err := e.ca.IssueServer([]string{"127.0.0.1"})
	must(t, err)
	ts.TLS.Certificates = []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: skey}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool(),
		Certificates: []tls.Certificate{{Certificate: done.Chain, PrivateKey: key}}}}}
	byCert := func() (int, string) {
		res, err := hc.Get(ts.URL + "/api/v1/me")
		if err != nil {
			t.Fatalf("request by certificate: %v", err)
		}
		defer res.Body.Close()
		var b api.ErrorBody
		json.NewDecoder(res.Body).Decode(&b) //nolint:errcheck // a 200 has no error
		return res.StatusCode, b.Error.Code
	}
	if code, _ := byCert(); code != http.StatusOK {
		t.Fatalf("by certificate before revoking: got %d, want 200", code)
	}
	if code, body := e.revoke(e.adminTok, done.DeviceID, "left the practice"); code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, errCode := byCert(); code != http.StatusForbidden || errCode != api.CodeRevoked {
		t.Errorf("by certificate after revoking: got %d %q, want 403 %q", code, errCode, api.CodeRevoked)
	}
	for _, tc := range []struct{ method, body string }{{"GET", ""}, {"POST", enrolBody}} {
		code, got, body := e.signed(key, tc.method, tc.body, 0)
		if code != http.StatusForbidden || errorOf(t, body).Code != api.CodeRevoked || got.Code != "" || len(got.Chain) != 0 {
			t.Errorf("%s /api/v1/enrol with the revoked key: got %d %s, want 403 %s and no code or certificate", tc.method, code, body, api.CodeRevoked)
		}
	}
	_, list := e.do("GET", "/api/v1/enrolments", e.adminTok, nil)
	if strings.Contains(string(list), `"code"`) {
		t.Errorf("pending after the revoked key asked: got %s, want none", list)
	}
}

// TestRevokeClosesConnectionBeforeHello: a connection the device opened but has not said
// hello on yet is closed too, so it cannot say hello after the revocation.
func TestRevokeClosesConnectionBeforeHello(t *testing.T) {
	e := newEnv(t)
	c := e.dial(e.boothTok)
	in := collect(c)
	if code, body := e.revoke(e.adminTok, e.booth.ID, ""); code != http.StatusOK {
		t.Fatalf("revoke: got %d %s", code, body)
	}
	if status, reason := closedWith(t, in); status != websocket.StatusPolicyViolation || reason != "device revoked" {
		t.Errorf("close: got %d %q, want %d \"device revoked\"", status, reason, websocket.StatusPolicyViolation)
	}
}
