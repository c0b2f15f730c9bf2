package switchboard

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// crossSiteWrite reports why a state-changing request must be refused as a cross-site
// request forgery, or "" when it may go on.
//
// Only requests a browser could have been tricked into sending are checked: writes
// (anything but GET, HEAD and OPTIONS) that carry no Authorization header, since a page
// on another site cannot add one without a CORS preflight the switchboard never grants.
// Such a write is allowed when the browser says it came from our own pages:
// Sec-Fetch-Site is same-origin or none, or Origin names the switchboard's own host or an
// AllowedOrigins pattern (the rule the signalling WebSocket follows).
//
// A write that sends neither header is allowed only without the session cookie: every
// browser in use sends Origin on a cross-site POST, so a cookie write without one comes
// from a script or a very old browser, and scripts should authenticate with
// Authorization: Bearer. A write with no cookie carries no ambient authority to abuse
// (boothctl's login, for one).
//
// SameSite=Strict on the cookie already keeps it off cross-site requests; this does not
// rely on it.
func (s *Server) crossSiteWrite(r *http.Request) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return ""
	}
	if r.Header.Get("Authorization") != "" {
		return ""
	}
	origin := r.Header.Get("Origin")
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "same-origin", "none":
		return ""
	case "":
	default:
		if origin != "" && s.originAllowed(r, origin) {
			return ""
		}
		return fmt.Sprintf("a %s request (Sec-Fetch-Site: %s) may not change anything here; use the switchboard's own pages, or add the page's host with -allow-origin", site, site)
	}
	if origin == "" {
		if _, err := r.Cookie(sessionCookie); err != nil {
			return ""
		}
		return "a write with the session cookie must come from the switchboard's web app (the browser sends Origin); scripts should send Authorization: Bearer <token> instead"
	}
	if s.originAllowed(r, origin) {
		return ""
	}
	return fmt.Sprintf("Origin %q may not change anything here; use the switchboard's own pages, or add the page's host with -allow-origin", origin)
}

// originAllowed reports whether origin is the switchboard's own host or matches an
// AllowedOrigins pattern, as coder/websocket checks the signalling upgrade: a pattern
// with "://" matches scheme://host, one without matches the host (path.Match syntax).
func (s *Server) originAllowed(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // includes "null", sent by sandboxed frames and file: pages
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, pat := range s.cfg.AllowedOrigins {
		target := u.Host
		if strings.Contains(pat, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(pat), strings.ToLower(target)); err == nil && ok {
			return true
		}
	}
	return false
}
