package e2e

import (
	"strings"
	"testing"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/chromedp/chromedp"
	"github.com/jonboulle/clockwork"
)

// TestBrowserHelp: the patient presses Help at the booth; the clinician's page says so, the
// booth shows help is coming only then, and End at the booth clears it on both.
func TestBrowserHelp(t *testing.T) {
	e := startSwitchboard(t)
	rb := e.startBooth(t, clockwork.NewRealClock(), device.JoinButton, capture.Config{})
	rb.waitFor(t, "the booth online", func(s booth.Snapshot) bool { return !s.Offline })
	p := openBrowser(t)
	p.logIn(e, e.Demo.ClinicianPassword)
	p.do("see the live waiting room", chromedp.WaitVisible(`[data-testid="conn-status"][data-state="open"]`))

	if err := rb.Buttons.Press(button.Help); err != nil {
		t.Fatalf("press Help on the booth: %v", err)
	}
	p.do("see the help request", chromedp.WaitVisible(chromedp.ID("message")))
	if got := p.text("#message-text"); !strings.Contains(got, "Help requested at "+e.Demo.DeviceName) {
		t.Errorf("page message: got %q, want help requested at %s", got, e.Demo.DeviceName)
	}
	rb.waitFor(t, "the booth showing help is coming", func(s booth.Snapshot) bool { return s.Help })
	p.screenshot("help")

	if err := rb.Buttons.Press(button.End); err != nil {
		t.Fatalf("press End on the booth: %v", err)
	}
	rb.waitFor(t, "the booth's help request over", func(s booth.Snapshot) bool { return !s.Help })
	eventually(t, "the page's help message gone", func() bool {
		hidden, err := pageRun(p, chromedp.Evaluate[bool](`document.getElementById("message").hidden`))
		return err == nil && hidden
	})
}
