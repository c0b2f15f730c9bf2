package switchboard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads a comma-separated list of IP addresses and CIDR prefixes
// ("10.0.0.0/8,::1") into prefixes for Config.TrustedProxies. A bare address is a
// single-address prefix.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR prefix (e.g. 10.0.0.0/8 or ::1)", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// reqInfo is what the edge handler learns about a request's sender once, for every
// handler after it: the client's address and whether the client reached us over TLS.
type reqInfo struct {
	addr netip.Addr // invalid when RemoteAddr is not an IP (a test's fake request)
	tls  bool
}

type reqInfoKey struct{}

// clientIP is the client's address for logs and the login limiter: the TCP peer, or,
// when the peer is a trusted proxy, the right-most untrusted address of X-Forwarded-For.
// Everything that names a client uses it.
func clientIP(r *http.Request) string {
	if ri, ok := r.Context().Value(reqInfoKey{}).(reqInfo); ok && ri.addr.IsValid() {
		return ri.addr.String()
	}
	if a, ok := peerAddr(r); ok {
		return a.String()
	}
	return r.RemoteAddr
}

// overTLS reports whether the client's connection is encrypted, here or at a proxy in
// front (Config.SecureCookies, or X-Forwarded-Proto from a trusted proxy). Secure cookies
// and HSTS follow it.
func (s *Server) overTLS(r *http.Request) bool {
	if ri, ok := r.Context().Value(reqInfoKey{}).(reqInfo); ok {
		return ri.tls
	}
	return s.requestInfo(r).tls
}

func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// requestInfo works out reqInfo from the connection and, only when the peer is a trusted
// proxy, from its X-Forwarded-For and X-Forwarded-Proto headers. Proxies append the
// address they were reached from, so the list is read from the right: trusted hops are
// skipped and the first untrusted one is the client. Anything to its left is whatever
// the client chose to send and is ignored.
func (s *Server) requestInfo(r *http.Request) reqInfo {
	ri := reqInfo{tls: r.TLS != nil || s.servesTLS() || s.cfg.SecureCookies}
	peer, ok := peerAddr(r)
	if !ok {
		return ri
	}
	ri.addr = peer
	if !s.trusted(peer) {
		return ri
	}
	if strings.EqualFold(strings.TrimSpace(lastListItem(r.Header.Values("X-Forwarded-Proto"))), "https") {
		ri.tls = true
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break // garbage: keep the last address a trusted hop vouched for
		}
		ri.addr = a
		if !s.trusted(a) {
			break
		}
	}
	return ri
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a port.
func parseHop(h string) (netip.Addr, bool) {
	h = strings.TrimSpace(h)
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func lastListItem(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return v
}

// edge is the outermost handler: it records reqInfo for every handler after it and sets
// the headers every response carries.
func (s *Server) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := s.requestInfo(r)
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if ri.tls {
			// Only over TLS (or behind a TLS proxy): browsers ignore it on plain HTTP.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri)))
	})
}
