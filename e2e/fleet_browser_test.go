package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard"
)

// TestBrowserFleet: an admin's fleet page shows a booth's heartbeat without a reload
// when a new one comes, and approving a pending activation code from the page enrols it.
func TestBrowserFleet(t *testing.T) {
	// The demo booth below dials with its token, which a switchboard on TLS takes only
	// with DeviceTokens (docs/fleet.md, "Tokens and certificates").
	e := startSwitchboardCA(t, switchboard.Config{DeviceTokens: true}, true)
	p := openBrowser(t)
	p.do("log in as the admin and open the fleet page",
		chromedp.Navigate(e.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-username"), e.Demo.AdminUser),
		chromedp.SendKeys(chromedp.ID("login-password"), e.Demo.AdminPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("dashboard-view")),
		chromedp.Navigate(e.URL+"/fleet.html"),
		chromedp.WaitVisible(chromedp.CSS(`#fleet-body tr`)),
	)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.URL, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.Token}}})
	if err != nil {
		t.Fatalf("dial as the booth: %v", err)
	}
	defer ws.CloseNow()
	c := signalling.NewConn(ws)
	closed := make(chan struct{})
	go func() { // read what the switchboard sends; answer a self-test and a log request as boothd would
		defer close(closed)
		for {
			_, body, err := c.Recv(ctx)
			if err != nil && !errors.Is(err, signalling.ErrProtocol) {
				return
			}
			if m, ok := body.(*signalling.Diagnose); ok {
				d := &signalling.Diagnosis{Request: m.Request, Kind: m.Kind}
				if m.Kind == signalling.DiagnoseSelfTest {
					d.Checks = []signalling.CheckResult{{Name: "camera", OK: true, Detail: "VideoTest, 640x480", TookMs: 41},
						{Name: "disk", OK: false, Detail: "12 MiB free in /var/lib/carebooth", TookMs: 1}}
				} else {
					d.Logs = []signalling.LogLine{{Time: time.Now(), Text: `level=INFO msg="boothd starting" device=booth-1`}}
				}
				c.Send(ctx, signalling.TypeDiagnosis, d) //nolint:errcheck // the page's wait reports a lost answer
			}
		}
	}()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Send(ctx, signalling.TypeHello, &signalling.Hello{Role: signalling.RoleDevice, Agent: "boothd test"}))
	temp := 49.5
	must(c.Send(ctx, signalling.TypeHeartbeat, &signalling.Heartbeat{Version: "3.1.4", State: signalling.StateIdle, Camera: true, TempCelsius: &temp}))
	row := `#fleet-body tr[data-device-id="` + e.Demo.DeviceID + `"]`
	p.do("the first heartbeat shows", chromedp.WaitVisible(chromedp.CSS(row+` td[data-testid="device-version"]`)))
	waitText := func(sel, want string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			got, err := p.textNow(sel)
			if err == nil && strings.Contains(got, want) {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("%s reads %q (%v), want %q", sel, got, err, want)
			}
		}
	}
	waitText(row, "3.1.4")
	waitText(row, "49.5 °C")
	must(c.Send(ctx, signalling.TypeHeartbeat, &signalling.Heartbeat{Version: "3.1.5", State: signalling.StateInCall, Camera: true}))
	waitText(row, "3.1.5")
	waitText(row, "in_call")

	// A booth asks to enrol; the admin approves its code from the page.
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	body := []byte(`{"name":"library-booth-9","version":"1.0"}`)
	req, _ := http.NewRequest("POST", e.URL+"/api/v1/enrol", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", enrol.Authorization(key, "POST", "/api/v1/enrol", time.Now(), body))
	res, err := http.DefaultClient.Do(req)
	must(err)
	var st enrol.Status
	must(json.NewDecoder(res.Body).Decode(&st))
	res.Body.Close()
	waitText("#pending-body", st.Code)
	p.do("approve the code from the page",
		chromedp.SendKeys(chromedp.ID("approve-code"), st.Code),
		chromedp.SendKeys(chromedp.ID("approve-site"), e.Demo.ClinicID),
		chromedp.SendKeys(chromedp.ID("approve-room"), "Room 9"),
		chromedp.Click(chromedp.ID("approve-submit")),
	)
	waitText("#approve-status", "Enrolled library-booth-9")
	waitText("#fleet-body", "library-booth-9")
	if got, _ := p.textNow("#pending-body"); strings.Contains(got, st.Code) {
		t.Errorf("pending after approval reads %q, want the code gone", got)
	}

	// The booth's self-test and log, on request from the page.
	p.clickNow(row + ` button[data-action="selftest"]`) // run the booth's self-test
	waitText("#selftest-body", "VideoTest, 640x480")
	waitText("#selftest-body", "FAILED")
	waitText("#device-panel-status", "1 of 2 checks failed")
	p.clickNow(row + ` button[data-action="logs"]`) // read the booth's log
	waitText("#logs-text", `msg="boothd starting"`)
	waitText("#audit-body", "device_selftest")
	waitText("#audit-body", "enrolment_approve")

	// Revoke takes a second press; then the booth is cut off and the page says so.
	p.clickNow(row + ` button[data-action="revoke"]`) // press revoke once
	waitText("#device-panel-status", "Press the button again")
	select {
	case <-closed:
		t.Fatal("one press of revoke cut the booth off")
	case <-time.After(300 * time.Millisecond):
	}
	p.clickNow(row + ` button[data-action="revoke"]`) // press revoke again
	waitText("#device-panel-status", "is revoked; 1 connection(s) closed")
	waitText(row, "revoked by "+e.Demo.AdminUser)
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the revoked booth's connection is still open")
	}
	waitText("#audit-body", "device_revoke")
}
