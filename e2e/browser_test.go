package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/switchboard"
)

// The browser tests drive the clinician web app (switchboard/webapp) in Debian's headless
// Chromium against an in-process switchboard and booth. Chromium's fake camera and
// microphone (--use-fake-device-for-media-stream) stand in for the clinician's; the booth
// sends mediadevices' test sources and decodes what it receives with media/call.
//
// Chromium never gathers ICE candidates on a loopback interface, so the machine needs one
// other interface with an address (any, it need not route anywhere). On a loopback-only
// host (e.g. under `unshare -n`) the browser has no candidate, the call cannot connect and
// TestBrowserCall fails after the guard with the page's "video connection ... failed".

// minFrames is how many video frames each side must decode: a second of video at the
// usual 30 fps, enough to show that keyframes, decoding and NACK/PLI work, short enough
// to keep the test quick.
const minFrames = 30

// chromiumPath finds Chromium: /usr/bin/chromium, or chromium on PATH.
func chromiumPath(t *testing.T) string { return browserPath(t, "chromium") }

// browserPath finds a browser Debian installs as /usr/bin/<name>, or name on PATH. Without
// it the test skips on a laptop and fails under CI=true, where a skipped browser test would
// hide that the web app was never tried in that browser.
func browserPath(t *testing.T, name string) string {
	t.Helper()
	for _, cand := range []string{"/usr/bin/" + name, name} {
		if p, err := exec.LookPath(cand); err == nil {
			return p
		}
	}
	why := fmt.Sprintf("no %s at /usr/bin/%s or on PATH (Debian: apt-get install %s)", name, name, name)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true needs the browser tests to run", why)
	}
	t.Skipf("%s; skipping the browser test (with CI=true this is a failure)", why)
	return ""
}

// page is one Chromium tab on the web app, with what the page reported on its console.
type page struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // uncaught exceptions and Content-Security-Policy violations
}

// openBrowser starts headless Chromium with a fresh profile, fake media devices and
// auto-accepted permission prompts, and returns its first tab. Everything is torn down
// when the test ends.
func openBrowser(t *testing.T) *page {
	t.Helper()
	chromium := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // Chromium refuses to run as root with its sandbox on
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 720),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf), chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelTab)

	p := &page{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, p.onEvent); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	// Content-Security-Policy violations reach the Log domain, not the console API.
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the browser log: %v", err)
	}
	t.Cleanup(p.checkProblems)
	return p
}

// onEvent runs on chromedp's reader goroutine: it only records.
func (p *page) onEvent(ev any) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range e.Args {
			if len(a.Value) > 0 {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		p.t.Logf("page console.%s: %s", e.Type, strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		p.record(fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber, text))
	case *cdplog.EventEntryAdded:
		p.t.Logf("page log %s/%s: %s", e.Entry.Source, e.Entry.Level, e.Entry.Text)
		if strings.Contains(e.Entry.Text, "Content Security Policy") {
			p.record("Content-Security-Policy violation: " + e.Entry.Text)
		}
	}
}

func (p *page) record(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, s)
}

func (p *page) checkProblems() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.problems {
		p.t.Errorf("page: %s", s)
	}
}

// screenshot saves the page as <name>.png in $E2E_SCREENSHOTS, when that is set, for a
// person to look at the layout; the tests assert nothing about pixels.
func (p *page) screenshot(name string) {
	p.t.Helper()
	dir := os.Getenv("E2E_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := pageRun(p, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, p.t.Name()+"-"+name+".png"), png, 0o644)
	}
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
	}
}

// do runs steps that return nothing, within the guard; what says what the user was doing.
// On failure it reports what the page showed.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, guard)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v\n%s", what, err, p.describe())
	}
}

// pageRun runs one action that returns a value, within the guard.
func pageRun[T any](p *page, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, guard)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// describe returns the page's message and state, for failure reports.
func (p *page) describe() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({message: document.getElementById("message-text").textContent, state: window.carebooth.state()})`))
	if err != nil {
		return fmt.Sprintf("(the page could not be read: %v)", err)
	}
	return "page: " + s
}

func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := pageRun(p, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("read the text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// textNow reads the text of sel in one script step, "" when nothing matches: for nodes a
// page re-renders on a timer, which chromedp.Text can lose between finding and reading.
func (p *page) textNow(sel string) (string, error) {
	q, err := json.Marshal(sel)
	if err != nil {
		return "", err
	}
	s, err := pageRun(p, chromedp.Evaluate[string](`(document.querySelector(`+string(q)+`)?.textContent ?? "")`))
	return strings.TrimSpace(s), err
}

// clickNow finds sel and clicks it in one script step, waiting up to guard for it to
// appear: for buttons in rows a page re-renders on a timer.
func (p *page) clickNow(sel string) {
	p.t.Helper()
	q, _ := json.Marshal(sel)
	for deadline := time.Now().Add(guard); ; time.Sleep(50 * time.Millisecond) {
		ok, err := pageRun(p, chromedp.Evaluate[bool](`(() => { const b = document.querySelector(`+string(q)+`); if (!b || b.disabled) return false; b.click(); return true })()`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("click %s: not found or disabled (%v)", sel, err)
		}
	}
}

// pageStats is what window.carebooth.stats() resolves to.
type pageStats struct {
	FramesDecoded        int64  `json:"framesDecoded"`
	FramesSent           int64  `json:"framesSent"`
	AudioPacketsReceived int64  `json:"audioPacketsReceived"`
	ConnectionState      string `json:"connectionState"`
	CallID               string `json:"callId"`
}

func (p *page) stats() pageStats {
	p.t.Helper()
	s, err := pageRun(p, chromedp.Evaluate[pageStats](`window.carebooth.stats()`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("window.carebooth.stats(): %v", err)
	}
	return s
}

// pageState is the part of window.carebooth.state() the tests read.
type pageState struct {
	View       string `json:"view"`
	Signalling string `json:"signalling"`
	Call       *struct {
		ID    string `json:"id"`
		Muted bool   `json:"muted"`
	} `json:"call"`
}

func (p *page) state() pageState {
	p.t.Helper()
	s, err := pageRun(p, chromedp.Evaluate[pageState](`window.carebooth.state()`))
	if err != nil {
		p.t.Fatalf("window.carebooth.state(): %v", err)
	}
	return s
}

// logIn opens the web app and logs in as the demo clinician.
func (p *page) logIn(e *env, password string) {
	p.t.Helper()
	p.do("open the web app and log in",
		chromedp.Navigate(e.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-username"), e.Demo.ClinicianUser),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
	)
}

// admitButton selects the enabled Admit button of an appointment.
func admitButton(appointmentID string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`[data-testid="admit-button"][data-appointment-id=%q]:not([disabled])`, appointmentID))
}

// startCall runs a booth whose patient presses Join for the demo appointment (two minutes
// ahead, so its join window is open), logs the browser in, waits for the patient in the
// waiting room and admits them.
func startCall(t *testing.T) (*env, *runningBooth, *page) {
	t.Helper()
	e := startSwitchboard(t)
	rb := e.startBooth(t, clockwork.NewRealClock(), device.JoinButton, capture.Config{})
	rb.waitFor(t, "the booth's join window", func(s booth.Snapshot) bool { return s.State == booth.JoinWindow && !s.Offline })
	if err := rb.Buttons.Press(button.Join); err != nil {
		t.Fatalf("press Join on the booth: %v", err)
	}
	rb.waitFor(t, "the booth in the waiting room", func(s booth.Snapshot) bool { return s.State == booth.Waiting })

	p := openBrowser(t)
	p.logIn(e, e.Demo.ClinicianPassword)
	entry := fmt.Sprintf(`[data-testid="waiting-entry"][data-appointment-id=%q]`, e.Demo.AppointmentID)
	p.do("see the booth's patient in the waiting room", chromedp.WaitVisible(admitButton(e.Demo.AppointmentID)))
	if got := p.text(entry + ` [data-testid="waiting-patient"]`); got != switchboard.DemoPatient {
		t.Errorf("waiting room shows %q, want %q", got, switchboard.DemoPatient)
	}
	if got := p.text(entry + ` [data-testid="waiting-time"]`); !strings.HasPrefix(got, "Just arrived") && !strings.HasPrefix(got, "Waiting") {
		t.Errorf("waiting time reads %q, want \"Just arrived\" or \"Waiting n min\"", got)
	}

	p.screenshot("waiting-room")
	p.do("admit the patient", chromedp.Click(admitButton(e.Demo.AppointmentID)), chromedp.WaitVisible(chromedp.ID("call-view")))
	rb.waitFor(t, "the booth in the call", func(s booth.Snapshot) bool { return s.State == booth.InCall })
	return e, rb, p
}

// TestBrowserCall is the clinician's whole path in a real browser: log in, see the booth
// arrive, admit, video both ways, mute, end.
func TestBrowserCall(t *testing.T) {
	_, rb, p := startCall(t)

	var st pageStats
	for deadline := time.Now().Add(guard); ; time.Sleep(100 * time.Millisecond) {
		st = p.stats()
		if st.FramesDecoded >= minFrames && rb.frames.Load() >= minFrames {
			break
		}
		if time.Now().After(deadline) {
			msg, _ := pageRun(p, chromedp.Evaluate[string](`document.getElementById("message-text").textContent`))
			t.Fatalf("after %s: the browser decoded %d video frames (sent %d, connection %q) and the booth decoded %d; want at least %d each (page message: %q)",
				guard, st.FramesDecoded, st.FramesSent, st.ConnectionState, rb.frames.Load(), minFrames, msg)
		}
	}
	t.Logf("browser: %+v; booth decoded %d video frames, %d audio blocks", st, rb.frames.Load(), rb.audio.Load())
	if st.ConnectionState != "connected" {
		t.Errorf("browser connection state: got %q, want connected", st.ConnectionState)
	}
	if st.FramesSent < minFrames {
		t.Errorf("browser sent %d video frames, want at least %d", st.FramesSent, minFrames)
	}
	eventually(t, "audio from the booth in the browser and from the browser in the booth", func() bool {
		return p.stats().AudioPacketsReceived > 0 && rb.audio.Load() > 0
	})

	// The person sees it: the large video plays the booth's picture, the small one the camera.
	for _, id := range []string{"remote-video", "local-video"} {
		w, err := pageRun(p, chromedp.Evaluate[int](fmt.Sprintf(`document.getElementById(%q).videoWidth`, id)))
		if err != nil || w == 0 {
			t.Errorf("#%s: videoWidth %d (%v), want a playing picture", id, w, err)
		}
	}

	p.screenshot("call")
	p.do("mute the microphone", chromedp.Click(chromedp.ID("mute-button")), chromedp.WaitVisible(chromedp.ID("muted-indicator")))
	p.screenshot("muted")
	if s := p.state(); s.Call == nil || !s.Call.Muted {
		t.Errorf("after Mute, state().call is %+v, want muted", s.Call)
	}
	if got := p.text("#mute-button"); got != "Unmute microphone" {
		t.Errorf("mute button reads %q after Mute, want \"Unmute microphone\"", got)
	}

	p.do("end the call", chromedp.Click(chromedp.ID("end-button")), chromedp.WaitVisible(chromedp.ID("dashboard-view")))
	rb.waitFor(t, "the booth out of the call", func(s booth.Snapshot) bool { return s.State != booth.InCall })
	if got := p.text("#message-text"); got != "You ended the call." {
		t.Errorf("message after End: got %q, want \"You ended the call.\"", got)
	}
	if s := p.stats(); s.ConnectionState != "none" {
		t.Errorf("after End the page still has a call: %+v", s)
	}
}

// TestBrowserBoothEndsCall: the patient presses End on the booth and the clinician is told.
func TestBrowserBoothEndsCall(t *testing.T) {
	_, rb, p := startCall(t)
	eventually(t, "video from the booth in the browser", func() bool { return p.stats().FramesDecoded > 0 })

	if err := rb.Buttons.Press(button.End); err != nil {
		t.Fatalf("press End on the booth: %v", err)
	}
	p.do("see the call end", chromedp.WaitVisible(chromedp.ID("dashboard-view")), chromedp.WaitVisible(chromedp.ID("message")))
	p.screenshot("ended-by-booth")
	if got, want := p.text("#message-text"), "The patient's booth ended the call."; got != want {
		t.Errorf("message after the booth hung up: got %q, want %q", got, want)
	}
}

// TestBrowserLogin: a wrong password is refused with a message, the right one opens the
// dashboard with a live waiting room, and Log out goes back to the form.
func TestBrowserLogin(t *testing.T) {
	e := startSwitchboard(t)
	p := openBrowser(t)

	p.logIn(e, "not the password")
	p.do("see the login refused", chromedp.WaitVisible(chromedp.ID("login-error")))
	p.screenshot("refused")
	if got := p.text("#login-error"); !strings.Contains(got, "username or password is not right") {
		t.Errorf("login error reads %q, want it to say the username or password is not right", got)
	}

	p.do("log in with the right password",
		chromedp.SendKeys(chromedp.ID("login-password"), e.Demo.ClinicianPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("dashboard-view")),
		chromedp.WaitVisible(chromedp.CSS(`#conn-status[data-state="open"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-testid="appointment-row"][data-appointment-id=%q]`, e.Demo.AppointmentID))),
	)
	if s := p.state(); s.View != "dashboard" || s.Signalling != "open" {
		t.Errorf("after login: got view %q signalling %q, want dashboard and open", s.View, s.Signalling)
	}

	p.do("log out", chromedp.Click(chromedp.ID("logout-button")), chromedp.WaitVisible(chromedp.ID("login-form")))
	// The session is gone on the server too: a reload lands on the login form.
	p.do("reload", chromedp.Navigate(e.URL+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
}

// TestBrowserReloadDuringCall: a clinician who reloads the page mid-call finds the patient
// back in the waiting room and can admit them again.
func TestBrowserReloadDuringCall(t *testing.T) {
	// On reload Chromium may close the media (DTLS close_notify) before the switchboard sees
	// the WebSocket drop, so the booth reports a failed call in about one run in five, and
	// otherwise the hub ends it with peer_lost. Either way the patient must wait again: a
	// failed call and a lost clinician both put them back in the waiting room.
	e, rb, p := startCall(t)
	eventually(t, "video from the booth in the browser", func() bool { return p.stats().FramesDecoded > 0 })
	calls := rb.Snapshot().Calls

	p.do("reload the page and find the patient waiting again",
		chromedp.Navigate(e.URL+"/"),
		chromedp.WaitVisible(admitButton(e.Demo.AppointmentID)),
	)
	p.do("admit the patient again", chromedp.Click(admitButton(e.Demo.AppointmentID)), chromedp.WaitVisible(chromedp.ID("call-view")))
	rb.waitFor(t, "the booth in a second call", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Calls > calls })
	eventually(t, "video both ways in the second call", func() bool {
		return p.stats().FramesDecoded >= minFrames && rb.Snapshot().Stats.FramesDecoded > 0
	})
}
