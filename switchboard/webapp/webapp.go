package webapp

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every response of the handler. Scripts, styles and
// connections (fetch and the signalling WebSocket; CSP 3 'self' covers ws: and wss: on the
// same host) come from the page's origin only; camera and remote media are MediaStreams set
// through srcObject, which no fetch directive governs.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; media-src 'self'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// asset is one file, read once when the handler is built.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler returns the handler that serves the web app. Mount it at "/" (or under a prefix
// with http.StripPrefix: the page refers to its files by relative URL). It answers only GET
// and HEAD and returns 404 for any other path, so it does not shadow the API.
func Handler() http.Handler {
	// Request path (after the mount point) -> embedded file.
	files := map[string]struct{ name, contentType string }{
		"":           {"static/index.html", "text/html; charset=utf-8"},
		"index.html": {"static/index.html", "text/html; charset=utf-8"},
		"app.js":     {"static/app.js", "text/javascript; charset=utf-8"},
		"app.css":    {"static/app.css", "text/css; charset=utf-8"},
		"icon.svg":   {"static/icon.svg", "image/svg+xml"},
		// The commissioners' report page (GET /api/v1/reports as a chart and a table).
		"report.html": {"static/report.html", "text/html; charset=utf-8"},
		"report.js":   {"static/report.js", "text/javascript; charset=utf-8"},
		"report.css":  {"static/report.css", "text/css; charset=utf-8"},
		// The admins' fleet page: devices with their health, pending enrolments.
		"fleet.html": {"static/fleet.html", "text/html; charset=utf-8"},
		"fleet.js":   {"static/fleet.js", "text/javascript; charset=utf-8"},
		// The staff station: the site's devices live, and help alerts with a sound.
		"staff":      {"static/staff.html", "text/html; charset=utf-8"},
		"staff.html": {"static/staff.html", "text/html; charset=utf-8"},
		"staff.js":   {"static/staff.js", "text/javascript; charset=utf-8"},
		"staff.css":  {"static/staff.css", "text/css; charset=utf-8"},
	}
	assets := make(map[string]asset, len(files))
	for p, f := range files {
		body, err := fs.ReadFile(static, f.name)
		if err != nil {
			// The files are embedded at build time; a missing one is a build mistake that
			// the package's test catches.
			panic(fmt.Sprintf("webapp: embedded %s: %v", f.name, err))
		}
		sum := sha256.Sum256(body)
		assets[p] = asset{body: body, contentType: f.contentType, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")

		a, ok := assets[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		// The file names carry no version, so the browser revalidates on every load and
		// gets a 304 from the ETag when nothing changed: a switchboard upgrade is seen at
		// once and an unchanged page costs one small round trip.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		h.Set("Content-Type", a.contentType)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
