package webapp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/carebooth/carebooth/switchboard/webapp"
)

func TestHandlerServesFiles(t *testing.T) {
	srv := httptest.NewServer(webapp.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		path        string
		contentType string
		contains    string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="app.js"></script>`},
		{"/index.html", "text/html; charset=utf-8", `data-testid="login-form"`},
		{"/app.js", "text/javascript; charset=utf-8", `Object.defineProperty(window, "carebooth"`},
		{"/app.css", "text/css; charset=utf-8", `:focus-visible`},
		{"/icon.svg", "image/svg+xml", `<svg`},
		{"/staff", "text/html; charset=utf-8", `<script type="module" src="staff.js"></script>`},
		{"/staff.js", "text/javascript; charset=utf-8", `hello", { role: "clinician", agent: AGENT, staff: true }`},
		{"/staff.css", "text/css; charset=utf-8", `.alert-list`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.contentType)
			}
			if got := res.Header.Get("Content-Security-Policy"); got != webapp.ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy: got %q, want %q", got, webapp.ContentSecurityPolicy)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control: got %q, want no-cache", got)
			}
			if res.Header.Get("ETag") == "" {
				t.Error("ETag: got none, want one so that reloads are answered 304")
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
		})
	}
}

func TestContentSecurityPolicyIsStrict(t *testing.T) {
	directives := map[string]string{}
	for _, d := range strings.Split(webapp.ContentSecurityPolicy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	want := map[string]string{
		"default-src":     "'none'",
		"script-src":      "'self'",
		"style-src":       "'self'",
		"connect-src":     "'self'",
		"frame-ancestors": "'none'",
		"base-uri":        "'none'",
	}
	for name, value := range want {
		if got := directives[name]; got != value {
			t.Errorf("%s: got %q, want %q", name, got, value)
		}
	}
	for name, value := range directives {
		if strings.Contains(value, "unsafe") || strings.Contains(value, "*") || strings.Contains(value, "http") {
			t.Errorf("%s %s: allows more than the page's own origin", name, value)
		}
	}
}

// The CSP forbids inline script and style, so the page must not carry any: it would be
// silently blocked in the browser.
func TestIndexHasNoInlineScriptOrStyle(t *testing.T) {
	rec := httptest.NewRecorder()
	webapp.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	page := rec.Body.String()
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", " onsubmit=", "javascript:", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("index.html: got %d script tags, want 1 (app.js)", n)
	}
}

func TestHandlerRevalidates(t *testing.T) {
	h := webapp.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/app.js", nil))
	etag := rec.Header().Get("ETag")

	req := httptest.NewRequest(http.MethodGet, "/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("GET with If-None-Match %s: got %d, want 304", etag, rec.Code)
	}
}

func TestHandlerRefuses(t *testing.T) {
	h := webapp.Handler()
	tests := []struct {
		name   string
		method string
		path   string
		want   int
	}{
		{"unknown file", http.MethodGet, "/secret.txt", http.StatusNotFound},
		{"the embed folder", http.MethodGet, "/static/app.js", http.StatusNotFound},
		{"the API", http.MethodGet, "/api/v1/me", http.StatusNotFound},
		{"a POST", http.MethodPost, "/", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.want {
				t.Errorf("%s %s: got %d, want %d", tt.method, tt.path, rec.Code, tt.want)
			}
			if rec.Header().Get("Content-Security-Policy") == "" {
				t.Errorf("%s %s: no Content-Security-Policy", tt.method, tt.path)
			}
		})
	}
}

// The switchboard mounts the web app at "/", next to its API.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("/", webapp.Handler())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}
