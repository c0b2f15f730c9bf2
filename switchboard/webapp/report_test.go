package webapp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/carebooth/carebooth/switchboard/webapp"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// The report page is served like the app, under the same strict CSP: its script and
// styles are files of its own origin, never inline, and it reads the report API.
func TestReportPage(t *testing.T) {
	srv := httptest.NewServer(webapp.Handler())
	t.Cleanup(srv.Close)

	res, page := get(t, srv.URL+"/report.html")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Security-Policy") != webapp.ContentSecurityPolicy {
		t.Fatalf("report.html: got %d, CSP %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	for _, want := range []string{`<script type="module" src="report.js"></script>`, `href="report.css"`,
		`data-testid="report-table"`, `data-testid="report-chart"`, `data-testid="report-csv"`, `<caption`, `scope="col"`, `lang="en-GB"`} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
	// No inline script or style: the CSP would block them.
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(page) || strings.Contains(page, " style=") || strings.Contains(page, "<style") {
		t.Error("report.html has an inline script or style")
	}
	for _, ids := range regexp.MustCompile(`\$\("([a-z-]+)"\)`).FindAllStringSubmatch(mustGet(t, srv.URL+"/report.js"), -1) {
		if !strings.Contains(page, `id="`+ids[1]+`"`) {
			t.Errorf("report.js looks up #%s, which report.html lacks", ids[1])
		}
	}

	res, js := get(t, srv.URL+"/report.js")
	if res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(js, "/reports?") {
		t.Errorf("report.js: got %q, want the script that reads /api/v1/reports", res.Header.Get("Content-Type"))
	}
	if strings.Contains(js, "innerHTML") || strings.Contains(js, "http://") && !strings.Contains(js, `"http://www.w3.org/2000/svg"`) {
		t.Error("report.js uses innerHTML or loads from another origin")
	}
	if res, css := get(t, srv.URL+"/report.css"); res.Header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(css, ".bar-dna") {
		t.Errorf("report.css: got %q", res.Header.Get("Content-Type"))
	}
	if _, index := get(t, srv.URL+"/"); !strings.Contains(index, `href="report.html"`) {
		t.Error("the app's page has no link to the reports")
	}
}

func mustGet(t *testing.T, url string) string {
	_, body := get(t, url)
	return body
}
