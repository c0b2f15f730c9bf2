package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserReport: a logged-in clinician opens the reports page from the app and sees
// their clinic's figures as a chart and a table, under the app's strict CSP (a violation or
// an uncaught exception fails the test through the page's problem log).
func TestBrowserReport(t *testing.T) {
	e := startSwitchboard(t)
	p := openBrowser(t)

	p.logIn(e, e.Demo.ClinicianPassword)
	p.do("open the reports from the app",
		chromedp.WaitVisible(chromedp.ID("dashboard-view")),
		chromedp.Click(chromedp.CSS(`[data-testid="reports-link"]`)),
		chromedp.WaitVisible(chromedp.ID("report-output")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="report-chart-svg"] rect.bar-attended`)),
	)
	p.screenshot("report")
	table := p.text("#report-body")
	if !strings.Contains(table, "library-booth-1") || !strings.Contains(table, "All sites") {
		t.Errorf("report table reads %q, want the demo clinic and its booth", table)
	}
	if got := p.text("#report-notes"); !strings.Contains(got, "not reported") {
		t.Errorf("notes read %q, want that call quality is not reported", got)
	}
	if got := p.text("#report-status"); !strings.Contains(got, "1 appointments") {
		t.Errorf("status reads %q, want the demo appointment counted", got)
	}
	href, err := pageRun(p, chromedp.Evaluate[string](`document.getElementById("report-csv").href`))
	if err != nil || !strings.Contains(href, "/api/v1/reports?") || !strings.Contains(href, "format=csv") {
		t.Errorf("CSV link: got %q, %v", href, err)
	}
}
