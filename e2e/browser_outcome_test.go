package e2e

import (
	"fmt"
	"testing"

	"github.com/carebooth/carebooth/appointment"
	"github.com/chromedp/chromedp"
)

// A clinician marks a patient who did not come as a no-show from today's appointments;
// the row shows it, the store has it, recorded as the clinician's, and the buttons go.
func TestBrowserMarksNoShow(t *testing.T) {
	e := startSwitchboard(t)
	p := openBrowser(t)
	p.logIn(e, e.Demo.ClinicianPassword)
	row := fmt.Sprintf(`[data-testid="appointment-row"][data-appointment-id=%q]`, e.Demo.AppointmentID)
	p.do("see the appointment", chromedp.WaitVisible(chromedp.ID("dashboard-view")), chromedp.WaitVisible(chromedp.CSS(row+` [data-testid="outcome-telephone"]`)))
	p.do("mark a no-show",
		chromedp.Click(chromedp.CSS(row+` [data-testid="outcome-no-show"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-status="no_show"]`)),
	)
	p.screenshot("no-show")
	a, err := e.Store.Appointment(e.Demo.AppointmentID)
	if err != nil || a.Status != appointment.NoShow {
		t.Fatalf("stored: got %+v, %v, want no_show", a, err)
	}
	h, _ := e.Store.History(a.ID)
	if len(h) != 1 || h[0].Event != appointment.MarkNoShow || h[0].Actor.Kind != appointment.ActorClinician {
		t.Errorf("history: got %+v, want one no_show by the clinician", h)
	}
	if n := len(p.text(row + " td.outcomes")); n != 0 {
		t.Errorf("outcome buttons after the no-show: got %d characters, want none", n)
	}
	p.checkProblems()
}
