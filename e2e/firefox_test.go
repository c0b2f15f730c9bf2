package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/media/capture"
)

// The Firefox test drives the clinician web app in Debian's headless firefox-esr through
// WebDriver BiDi (https://w3c.github.io/webdriver-bidi/), which Firefox serves itself when
// started with --remote-debugging-port: no geckodriver, no client library. Firefox's fake
// media streams stand in for the clinician's camera and microphone.
//
// Firefox gathers ICE candidates on the loopback interface when media.peerconnection.ice.
// loopback is set, so unlike Chromium it needs no other interface.

// firefoxPrefs go into the fresh profile's user.js: fake media without a permission prompt,
// loopback ICE candidates with their real addresses (pion cannot resolve mDNS names), media
// that may play without a click, and none of the background traffic a loopback-only
// machine cannot answer.
var firefoxPrefs = map[string]any{
	"media.navigator.streams.fake":                      true,
	"media.navigator.permission.disabled":               true,
	"media.peerconnection.ice.loopback":                 true,
	"media.peerconnection.ice.no_host":                  false,
	"media.peerconnection.ice.obfuscate_host_addresses": false,
	"media.autoplay.default":                            0,
	"media.autoplay.blocking_policy":                    0,
	"browser.shell.checkDefaultBrowser":                 false,
	"browser.startup.homepage_override.mstone":          "ignore",
	"app.update.enabled":                                false,
	"app.update.auto":                                   false,
	"datareporting.policy.dataSubmissionEnabled":        false,
	"datareporting.healthreport.uploadEnabled":          false,
	"toolkit.telemetry.enabled":                         false,
	"toolkit.telemetry.unified":                         false,
	"network.captive-portal-service.enabled":            false,
	"network.connectivity-service.enabled":              false,
	"browser.safebrowsing.malware.enabled":              false,
	"browser.safebrowsing.phishing.enabled":             false,
	"browser.safebrowsing.downloads.enabled":            false,
	"browser.safebrowsing.downloads.remote.enabled":     false,
	"browser.safebrowsing.blockedURIs.enabled":          false,
	"browser.safebrowsing.provider.mozilla.updateURL":   "",
	"browser.safebrowsing.provider.google4.updateURL":   "",
	"extensions.update.enabled":                         false,
	"extensions.getAddons.cache.enabled":                false,
	"extensions.blocklist.enabled":                      false,
	"browser.aboutwelcome.enabled":                      false,
	"browser.newtabpage.enabled":                        false,
	"browser.region.update.enabled":                     false,
	"browser.search.update":                             false,
	"services.settings.server":                          "http://127.0.0.1:9/",
}

// firefoxPath finds Debian's firefox-esr (see browserPath).
func firefoxPath(t *testing.T) string { return browserPath(t, "firefox-esr") }

// bidiListening is the line Firefox writes on stderr once its remote agent is up.
var bidiListening = regexp.MustCompile(`WebDriver BiDi listening on (ws://[^\s]+)`)

// firefoxOutput keeps the end of Firefox's stderr for failure reports and announces the
// WebDriver BiDi address.
type firefoxOutput struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	found bool
	url   chan string
}

func (o *firefoxOutput) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(b)
	if !o.found {
		if m := bidiListening.FindSubmatch(o.buf.Bytes()); m != nil {
			o.found = true
			o.url <- string(m[1])
		}
	}
	if o.buf.Len() > 64<<10 {
		tail := append([]byte(nil), o.buf.Bytes()[o.buf.Len()-32<<10:]...)
		o.buf.Reset()
		o.buf.Write(tail)
	}
	return len(b), nil
}

func (o *firefoxOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// bidiError is a WebDriver BiDi error response.
type bidiError struct {
	Method  string
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *bidiError) Error() string { return fmt.Sprintf("%s: %s: %s", e.Method, e.Code, e.Message) }

// bidiMessage is any message from the remote end: a command's response or an event.
type bidiMessage struct {
	Type    string          `json:"type"` // success, error or event
	ID      int             `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// bidi is a minimal WebDriver BiDi client: commands are correlated with their responses
// by id; events go to onEvent, on the reader goroutine.
type bidi struct {
	ws      *websocket.Conn
	onEvent func(method string, params json.RawMessage)

	mu      sync.Mutex
	next    int
	pending map[int]chan bidiMessage
	closed  error

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func dialBiDi(ctx context.Context, url string, onEvent func(string, json.RawMessage)) (*bidi, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	ws.SetReadLimit(16 << 20)
	rctx, cancel := context.WithCancel(context.Background())
	b := &bidi{ws: ws, onEvent: onEvent, pending: map[int]chan bidiMessage{}, cancel: cancel}
	b.wg.Add(1)
	go b.read(rctx)
	return b, nil
}

func (b *bidi) read(ctx context.Context) {
	defer b.wg.Done()
	var err error
	for {
		var data []byte
		if _, data, err = b.ws.Read(ctx); err != nil {
			break
		}
		var m bidiMessage
		if err = json.Unmarshal(data, &m); err != nil {
			err = fmt.Errorf("decode %q: %w", data, err)
			break
		}
		if m.Type == "event" {
			if b.onEvent != nil {
				b.onEvent(m.Method, m.Params)
			}
			continue
		}
		b.mu.Lock()
		ch := b.pending[m.ID]
		delete(b.pending, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = fmt.Errorf("webdriver bidi connection: %w", err)
	for id, ch := range b.pending {
		close(ch)
		delete(b.pending, id)
	}
}

// call sends a command and decodes its result into out (if not nil).
func (b *bidi) call(ctx context.Context, method string, params, out any) error {
	if params == nil {
		params = struct{}{}
	}
	ch := make(chan bidiMessage, 1)
	b.mu.Lock()
	if b.closed != nil {
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, b.closed)
	}
	b.next++
	id := b.next
	b.pending[id] = ch
	b.mu.Unlock()
	drop := func() {
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
	}

	cmd, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		drop()
		return fmt.Errorf("%s: %w", method, err)
	}
	if err := b.ws.Write(ctx, websocket.MessageText, cmd); err != nil {
		drop()
		return fmt.Errorf("%s: send: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			b.mu.Lock()
			defer b.mu.Unlock()
			return fmt.Errorf("%s: %w", method, b.closed)
		}
		if m.Type == "error" {
			return &bidiError{Method: method, Code: m.Error, Message: m.Message}
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				return fmt.Errorf("%s: decode result %s: %w", method, m.Result, err)
			}
		}
		return nil
	case <-ctx.Done():
		drop()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (b *bidi) close() {
	b.cancel()
	b.ws.CloseNow()
	b.wg.Wait()
}

// firefoxPage is the one tab of a headless Firefox on the web app.
type firefoxPage struct {
	t       *testing.T
	b       *bidi
	context string // the browsing context's id
	out     *firefoxOutput

	mu       sync.Mutex
	problems []string // uncaught exceptions and Content-Security-Policy violations
}

// openFirefox starts headless firefox-esr with a fresh profile and its remote agent on a
// port of its choosing, opens a WebDriver BiDi session and returns its first tab. Firefox
// and its content processes are killed when the test ends.
func openFirefox(t *testing.T) *firefoxPage {
	t.Helper()
	firefox := firefoxPath(t)
	profile := t.TempDir()
	var js strings.Builder
	for k, v := range firefoxPrefs {
		val, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&js, "user_pref(%q, %s);\n", k, val)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(js.String()), 0o644); err != nil {
		t.Fatalf("write user.js: %v", err)
	}

	out := &firefoxOutput{url: make(chan string, 1)}
	cmd := exec.Command(firefox, "-headless", "-no-remote", "-profile", profile,
		"--remote-debugging-port=0", "about:blank")
	cmd.Env = append(os.Environ(),
		"HOME="+t.TempDir(), // Firefox writes caches under $HOME even with -profile
		"MOZ_CRASHREPORTER_DISABLE=1",
		"MOZ_HEADLESS=1",
	)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so the content processes die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", firefox, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})

	var url string
	select {
	case url = <-out.url:
	case <-exited:
		t.Fatalf("firefox exited before its remote agent listened: %v\n%s", waitErr, out)
	case <-time.After(guard):
		t.Fatalf("firefox: no \"WebDriver BiDi listening\" within %s\n%s", guard, out)
	}

	p := &firefoxPage{t: t, out: out}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	b, err := dialBiDi(ctx, url+"/session", p.onEvent)
	if err != nil {
		t.Fatalf("firefox: %v\n%s", err, out)
	}
	p.b = b
	t.Cleanup(b.close) // runs before Firefox is killed

	if err := b.call(ctx, "session.new", map[string]any{
		"capabilities": map[string]any{"alwaysMatch": map[string]any{"acceptInsecureCerts": true}},
	}, nil); err != nil {
		t.Fatalf("firefox: %v", err)
	}
	if err := b.call(ctx, "session.subscribe", map[string]any{"events": []string{"log.entryAdded"}}, nil); err != nil {
		t.Fatalf("firefox: %v", err)
	}
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := b.call(ctx, "browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree); err != nil {
		t.Fatalf("firefox: %v", err)
	}
	if len(tree.Contexts) > 0 {
		p.context = tree.Contexts[0].Context
	} else {
		var created struct {
			Context string `json:"context"`
		}
		if err := b.call(ctx, "browsingContext.create", map[string]any{"type": "tab"}, &created); err != nil {
			t.Fatalf("firefox: %v", err)
		}
		p.context = created.Context
	}
	t.Cleanup(p.checkProblems)
	return p
}

// onEvent runs on the BiDi reader goroutine: it only logs and records.
func (p *firefoxPage) onEvent(method string, params json.RawMessage) {
	if method != "log.entryAdded" {
		return
	}
	var e struct {
		Type   string `json:"type"` // console or javascript
		Level  string `json:"level"`
		Text   string `json:"text"`
		Source struct {
			Context string `json:"context"`
		} `json:"source"`
	}
	if err := json.Unmarshal(params, &e); err != nil {
		p.t.Logf("page log: %s", params)
		return
	}
	p.t.Logf("page %s.%s: %s", e.Type, e.Level, e.Text)
	if (e.Type == "javascript" && e.Level == "error") || strings.Contains(e.Text, "Content-Security-Policy") {
		p.mu.Lock()
		p.problems = append(p.problems, e.Text)
		p.mu.Unlock()
	}
}

func (p *firefoxPage) checkProblems() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.problems {
		p.t.Errorf("page: %s", s)
	}
}

// navigate loads url and waits for the load event.
func (p *firefoxPage) navigate(url string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := p.b.call(ctx, "browsingContext.navigate", map[string]any{
		"context": p.context, "url": url, "wait": "complete",
	}, nil); err != nil {
		p.t.Fatalf("firefox: open %s: %v", url, err)
	}
}

// eval runs expr in the page, awaits it if it is a promise, and decodes its value (passed
// through JSON.stringify) into out, when out is not nil.
func (p *firefoxPage) eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Type   string `json:"type"` // success or exception
		Result struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := p.b.call(ctx, "script.evaluate", map[string]any{
		"expression":      "(async () => JSON.stringify(await (" + expr + ")))()",
		"target":          map[string]any{"context": p.context},
		"awaitPromise":    true,
		"resultOwnership": "none",
	}, &r); err != nil {
		return err
	}
	if r.Type == "exception" {
		return fmt.Errorf("%s threw: %s", expr, r.ExceptionDetails.Text)
	}
	if out == nil {
		return nil
	}
	s, ok := r.Result.Value.(string)
	if r.Result.Type != "string" || !ok {
		return fmt.Errorf("%s: got a %s, want a value JSON can hold", expr, r.Result.Type)
	}
	return json.Unmarshal([]byte(s), out)
}

// run evaluates expr within the guard and fails the test, saying what the user was doing,
// if it throws.
func (p *firefoxPage) run(what, expr string, out any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := p.eval(ctx, expr, out); err != nil {
		p.t.Fatalf("%s: %v\n%s", what, err, p.describe())
	}
}

// waitFor polls the boolean expression cond until it holds or the guard runs out.
func (p *firefoxPage) waitFor(what, cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	for {
		var ok bool
		err := p.eval(ctx, cond, &ok)
		if err == nil && ok {
			return
		}
		var be *bidiError
		if errors.As(err, &be) && be.Code != "no such frame" {
			p.t.Fatalf("%s: %v\n%s", what, err, p.describe())
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("%s: not within %s (last error %v)\n%s", what, guard, err, p.describe())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// describe returns the page's message and state, for failure reports.
func (p *firefoxPage) describe() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var s any
	if err := p.eval(ctx, `({message: document.getElementById("message-text").textContent, state: window.carebooth.state()})`, &s); err != nil {
		return fmt.Sprintf("(the page could not be read: %v)", err)
	}
	b, _ := json.Marshal(s)
	return "page: " + string(b)
}

func (p *firefoxPage) stats() pageStats {
	p.t.Helper()
	var s pageStats
	p.run("window.carebooth.stats()", `window.carebooth.stats()`, &s)
	return s
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestFirefoxCall is the clinician's path in Firefox: log in, see the booth arrive, admit,
// video both ways.
func TestFirefoxCall(t *testing.T) {
	p := openFirefox(t)
	e := startSwitchboard(t)
	rb := e.startBooth(t, clockwork.NewRealClock(), device.JoinButton, capture.Config{})
	rb.waitFor(t, "the booth's join window", func(s booth.Snapshot) bool { return s.State == booth.JoinWindow && !s.Offline })
	if err := rb.Buttons.Press(button.Join); err != nil {
		t.Fatalf("press Join on the booth: %v", err)
	}
	rb.waitFor(t, "the booth in the waiting room", func(s booth.Snapshot) bool { return s.State == booth.Waiting })

	p.navigate(e.URL + "/")
	p.waitFor("see the login form", `(() => { const f = document.getElementById("login-form"); return !!f && !f.hidden && f.offsetParent !== null; })()`)
	p.run("log in", fmt.Sprintf(`(() => {
		document.getElementById("login-username").value = %s;
		document.getElementById("login-password").value = %s;
		document.getElementById("login-submit").click();
	})()`, jsString(e.Demo.ClinicianUser), jsString(e.Demo.ClinicianPassword)), nil)

	admit := jsString(fmt.Sprintf(`[data-testid="admit-button"][data-appointment-id=%q]:not([disabled])`, e.Demo.AppointmentID))
	p.waitFor("see the booth's patient in the waiting room", `!!document.querySelector(`+admit+`)`)
	p.run("admit the patient", `document.querySelector(`+admit+`).click()`, nil)
	p.waitFor("see the call", `!document.getElementById("call-view").hidden`)
	rb.waitFor(t, "the booth in the call", func(s booth.Snapshot) bool { return s.State == booth.InCall })

	var st pageStats
	for deadline := time.Now().Add(guard); ; time.Sleep(100 * time.Millisecond) {
		st = p.stats()
		if st.FramesDecoded >= minFrames && rb.frames.Load() >= minFrames {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: Firefox decoded %d video frames (sent %d, connection %q) and the booth decoded %d; want at least %d each\n%s",
				guard, st.FramesDecoded, st.FramesSent, st.ConnectionState, rb.frames.Load(), minFrames, p.describe())
		}
	}
	t.Logf("firefox: %+v; booth decoded %d video frames, %d audio blocks", st, rb.frames.Load(), rb.audio.Load())
	if st.ConnectionState != "connected" {
		t.Errorf("firefox connection state: got %q, want connected", st.ConnectionState)
	}
}
