package switchboard

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
)

func loginBody(user, password string) string {
	b, _ := json.Marshal(map[string]string{"username": user, "password": password})
	return string(b)
}

// loginFrom logs in as if from addr: the test server's peer (127.0.0.1) must be a
// trusted proxy.
func (e *env) loginFrom(addr, user, password string) (*http.Response, []byte) {
	e.t.Helper()
	return e.send("POST", "/api/v1/login", loginBody(user, password),
		map[string]string{"Content-Type": "application/json", "X-Forwarded-For": addr})
}

func retryAfter(t *testing.T, res *http.Response) time.Duration {
	t.Helper()
	n, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After: got %q, want a whole number of seconds >= 1", res.Header.Get("Retry-After"))
	}
	return time.Duration(n) * time.Second
}

func behindLocalProxy(c *Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// TestLoginParallelGuessesCannotExceedLimit: 100 guesses at once, one of them right,
// reach the password check no more often than the account's free attempts; the others
// are refused with 429 and a Retry-After, whichever one held the right password. The
// owner, from elsewhere, gets in once that wait is over.
func TestLoginParallelGuessesCannotExceedLimit(t *testing.T) {
	e := newEnvWith(t, behindLocalProxy)
	var verified atomic.Int32
	e.srv.verifyPassword = func(hash, pw []byte) error {
		verified.Add(1)
		time.Sleep(20 * time.Millisecond) // keep each check in flight while the others arrive
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	const guesses = 100
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		codes    = map[int]int{}
		maxRetry time.Duration
	)
	start := make(chan struct{})
	for i := range guesses {
		pw := "wrong guess " + strconv.Itoa(i)
		if i == 37 {
			pw = testPassword
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/login", strings.NewReader(loginBody("dr.patel", pw)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			res, err := e.ts.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			codes[res.StatusCode]++
			if res.StatusCode == http.StatusTooManyRequests {
				n, _ := strconv.Atoi(res.Header.Get("Retry-After"))
				maxRetry = max(maxRetry, time.Duration(n)*time.Second)
			}
		}()
	}
	close(start)
	wg.Wait()

	limit := defaultLoginLimits.FreeFails
	if got := int(verified.Load()); got > limit {
		t.Errorf("password checks: got %d of %d parallel guesses, want at most %d", got, guesses, limit)
	}
	if codes[http.StatusTooManyRequests] < guesses-limit {
		t.Errorf("responses: got %v, want at least %d 429s", codes, guesses-limit)
	}
	if codes[http.StatusOK] > 1 || codes[http.StatusOK]+codes[http.StatusUnauthorized]+codes[http.StatusTooManyRequests] != guesses {
		t.Errorf("responses: got %v, want 401s and 429s (and a 200 if the right guess was checked)", codes)
	}
	if maxRetry < time.Second || maxRetry > defaultLoginLimits.MaxDelay {
		t.Errorf("Retry-After: got %s, want 1 s to %s", maxRetry, defaultLoginLimits.MaxDelay)
	}

	// Unless the right guess was checked (and gave its attempt back), the owner waits.
	res, body := e.loginFrom("198.51.100.7", "dr.patel", testPassword)
	if res.StatusCode == http.StatusTooManyRequests {
		e.clock.Advance(retryAfter(t, res))
		res, body = e.loginFrom("198.51.100.7", "dr.patel", testPassword)
	}
	if res.StatusCode != http.StatusOK {
		t.Errorf("owner from another address after Retry-After: got %d %s, want 200", res.StatusCode, body)
	}
}

// TestLoginBackoffDoesNotLockOutTheOwner: however long a stranger keeps guessing, each
// wait stays under a minute, and the owner's right password from another address gets
// in once the current one is over, not 15 minutes later.
func TestLoginBackoffDoesNotLockOutTheOwner(t *testing.T) {
	e := newEnvWith(t, behindLocalProxy)
	refused := 0
	for guessed := 0; guessed < 30; { // ends on a guess that was checked
		res, body := e.loginFrom("203.0.113.9", "dr.patel", "a wrong guess")
		switch res.StatusCode {
		case http.StatusUnauthorized:
			guessed++
		case http.StatusTooManyRequests:
			refused++
			d := retryAfter(t, res)
			if d > defaultLoginLimits.MaxDelay {
				t.Fatalf("Retry-After after %d guesses: got %s, want at most %s", refused, d, defaultLoginLimits.MaxDelay)
			}
			e.clock.Advance(d)
		default:
			t.Fatalf("guess: got %d %s", res.StatusCode, body)
		}
	}
	if refused == 0 {
		t.Fatal("30 wrong guesses: got no 429, want the backoff")
	}
	res, _ := e.loginFrom("198.51.100.7", "dr.patel", testPassword)
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("owner right after a guess: got %d, want 429 (the backoff is per account)", res.StatusCode)
	}
	d := retryAfter(t, res)
	if d > defaultLoginLimits.MaxDelay {
		t.Errorf("owner's wait: got %s, want at most %s", d, defaultLoginLimits.MaxDelay)
	}
	e.clock.Advance(d)
	if res, body := e.loginFrom("198.51.100.7", "dr.patel", testPassword); res.StatusCode != http.StatusOK {
		t.Errorf("owner after the wait: got %d %s, want 200", res.StatusCode, body)
	}
}

// TestLoginPerAddressCap: one address spraying many usernames is stopped for the window,
// even for a right password; another address is not.
func TestLoginPerAddressCap(t *testing.T) {
	e := newEnvWith(t, behindLocalProxy)
	for i := range defaultLoginLimits.PerAddress {
		if res, body := e.loginFrom("203.0.113.9", "user"+strconv.Itoa(i), "a wrong guess"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: got %d %s, want 401", i, res.StatusCode, body)
		}
	}
	res, body := e.loginFrom("203.0.113.9", "dr.patel", testPassword)
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after %d failures from one address: got %d %s, want 429", defaultLoginLimits.PerAddress, res.StatusCode, body)
	}
	if d := retryAfter(t, res); d < defaultLoginLimits.Window-time.Minute || d > defaultLoginLimits.Window {
		t.Errorf("Retry-After: got %s, want about %s", d, defaultLoginLimits.Window)
	}
	if !strings.Contains(errorOf(t, body).Message, "minutes") {
		t.Errorf("message: got %q, want the wait in minutes", errorOf(t, body).Message)
	}
	if res, body := e.loginFrom("198.51.100.7", "dr.patel", testPassword); res.StatusCode != http.StatusOK {
		t.Errorf("from another address: got %d %s, want 200", res.StatusCode, body)
	}
	// Without a trusted proxy, X-Forwarded-For is the client's own claim and is ignored.
	e2 := newEnv(t)
	for i := range defaultLoginLimits.PerAddress {
		e2.send("POST", "/api/v1/login", loginBody("user"+strconv.Itoa(i), "a wrong guess"),
			map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "203.0.113." + strconv.Itoa(i)})
	}
	res, _ = e2.send("POST", "/api/v1/login", loginBody("dr.patel", testPassword),
		map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "198.51.100.7"})
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("spoofed X-Forwarded-For from an untrusted peer: got %d, want 429 (counted against the peer)", res.StatusCode)
	}
}

// TestLoginRightGuessInBurstFreesNoSlot: when the right password is among a burst's
// first FreeFails attempts, its success gives its reservation back, but the burst's next
// guess still waits: CI once saw six checks when the success freed a slot at once.
func TestLoginRightGuessInBurstFreesNoSlot(t *testing.T) {
	e := newEnv(t)
	l := newLoginLimiter(e.clock, defaultLoginLimits)
	var right *loginAttempt
	for i := range defaultLoginLimits.FreeFails {
		att, wait := l.reserve("203.0.113.9", "dr.patel")
		if att == nil {
			t.Fatalf("attempt %d: refused for %s, want allowed", i, wait)
		}
		if i == 0 {
			right = att
		}
	}
	l.succeeded(right)
	if att, _ := l.reserve("203.0.113.9", "dr.patel"); att != nil {
		t.Fatal("guess after a success in the burst: allowed, want it to wait for the backoff")
	}
	e.clock.Advance(defaultLoginLimits.BaseDelay)
	if att, wait := l.reserve("198.51.100.7", "dr.patel"); att == nil {
		t.Fatalf("owner after the wait: refused for %s, want allowed", wait)
	}
	// Forgotten after Memory, the account starts fresh: FreeFails attempts, no wait.
	e.clock.Advance(defaultLoginLimits.Memory)
	for i := range defaultLoginLimits.FreeFails {
		if att, wait := l.reserve("198.51.100.7", "dr.patel"); att == nil {
			t.Fatalf("attempt %d after Memory: refused for %s, want allowed", i, wait)
		}
	}
}

func TestLoginLimiterMemoryIsBounded(t *testing.T) {
	e := newEnv(t)
	lim := defaultLoginLimits
	lim.MaxKeys = 100
	l := newLoginLimiter(e.clock, lim)
	for i := range 1000 {
		if att, _ := l.reserve("2001:db8:"+strconv.FormatInt(int64(i), 16)+"::1", "user"+strconv.Itoa(i)); att == nil {
			t.Fatalf("attempt %d: refused, want allowed (one each)", i)
		}
	}
	if len(l.accounts) > lim.MaxKeys || len(l.addrs) > lim.MaxKeys {
		t.Errorf("tracked: got %d accounts and %d addresses, want at most %d each", len(l.accounts), len(l.addrs), lim.MaxKeys)
	}
	// One IPv6 /64 is one address.
	l = newLoginLimiter(e.clock, lim)
	for i := range lim.PerAddress {
		l.reserve("2001:db8:1:2::"+strconv.FormatInt(int64(i+1), 16), "user"+strconv.Itoa(i))
	}
	if att, _ := l.reserve("2001:db8:1:2:ffff::1", "someone"); att != nil {
		t.Error("another address in the same /64: allowed, want refused")
	}
}

func TestClientAddress(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, ::1,192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: Config{TrustedProxies: proxies}}
	tests := []struct {
		name, peer, xff, proto string
		want                   string
		tls                    bool
	}{
		{name: "direct", peer: "198.51.100.7:4000", want: "198.51.100.7"},
		{name: "untrusted peer's header ignored", peer: "198.51.100.7:4000", xff: "1.2.3.4", proto: "https", want: "198.51.100.7"},
		{name: "one proxy", peer: "10.1.2.3:4000", xff: "203.0.113.9", proto: "https", want: "203.0.113.9", tls: true},
		{name: "client's own claim ignored", peer: "10.1.2.3:4000", xff: "1.1.1.1, 203.0.113.9", want: "203.0.113.9"},
		{name: "chain of proxies", peer: "[::1]:4000", xff: "203.0.113.9, 10.9.9.9, 192.0.2.1", want: "203.0.113.9"},
		{name: "all trusted", peer: "10.1.2.3:4000", xff: "10.0.0.7", want: "10.0.0.7"},
		{name: "garbage", peer: "10.1.2.3:4000", xff: "not-an-ip", want: "10.1.2.3"},
		{name: "with a port", peer: "10.1.2.3:4000", xff: "203.0.113.9:5555", want: "203.0.113.9"},
		{name: "mapped IPv4 peer", peer: "[::ffff:10.1.2.3]:4000", xff: "203.0.113.9", want: "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			ri := s.requestInfo(r)
			if ri.addr.String() != tt.want || ri.tls != tt.tls {
				t.Errorf("got %s tls=%t, want %s tls=%t", ri.addr, ri.tls, tt.want, tt.tls)
			}
		})
	}
	for _, bad := range []string{"10.0.0.0/33", "example.org", "10.0.0"} {
		if _, err := ParseTrustedProxies(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseTrustedProxies(%q): got %v, want an error naming it", bad, err)
		}
	}
}

// cookieLogin logs dr.patel in and returns the session cookie.
func (e *env) cookieLogin() *http.Cookie {
	e.t.Helper()
	res, body := e.send("POST", "/api/v1/login", loginBody("dr.patel", testPassword), map[string]string{"Content-Type": "application/json"})
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("login: got %d %s", res.StatusCode, body)
	}
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	e.t.Fatal("login set no session cookie")
	return nil
}

// TestCrossOriginWritesRefused: a write carried by the session cookie is refused unless
// the browser says it came from the switchboard's own pages; a JSON body must say it is
// JSON. Nothing refused changes the store.
func TestCrossOriginWritesRefused(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.AllowedOrigins = []string{"app.example.org"} })
	cookie := e.cookieLogin()
	self := e.ts.URL
	appt := `{"device_id":"` + e.booth.ID + `","patient":"Mallory","start":"2026-11-21T10:00:00Z","end":"2026-11-21T10:20:00Z"}`
	ical := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
	withCookie := func(h map[string]string) map[string]string {
		h["Cookie"] = cookie.Name + "=" + cookie.Value
		return h
	}
	refused := []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     int
	}{
		{"cross-site text/plain form", "POST", "/api/v1/appointments", appt,
			withCookie(map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}), http.StatusForbidden},
		{"foreign Origin, JSON", "POST", "/api/v1/appointments", appt,
			withCookie(map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}), http.StatusForbidden},
		{"Sec-Fetch-Site cross-site", "POST", "/api/v1/appointments", appt,
			withCookie(map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}), http.StatusForbidden},
		{"Sec-Fetch-Site same-site", "DELETE", "/api/v1/appointments/" + e.appt.ID, "",
			withCookie(map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://other.example"}), http.StatusForbidden},
		{"Origin null", "POST", "/api/v1/appointments/" + e.appt.ID + "/no-show", "",
			withCookie(map[string]string{"Origin": "null"}), http.StatusForbidden},
		{"cookie without Origin", "POST", "/api/v1/appointments", appt,
			withCookie(map[string]string{"Content-Type": "application/json"}), http.StatusForbidden},
		{"logout from another site", "POST", "/api/v1/logout", "",
			withCookie(map[string]string{"Origin": "https://evil.example"}), http.StatusForbidden},
		{"import from another site", "POST", "/api/v1/appointments/import", ical,
			withCookie(map[string]string{"Content-Type": "text/calendar", "Origin": "https://evil.example"}), http.StatusForbidden},
		{"login from another site", "POST", "/api/v1/login", loginBody("dr.patel", testPassword),
			map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same origin, text/plain", "POST", "/api/v1/appointments", appt,
			withCookie(map[string]string{"Content-Type": "text/plain", "Origin": self}), http.StatusUnsupportedMediaType},
		{"bearer, no Content-Type", "POST", "/api/v1/appointments", appt,
			map[string]string{"Authorization": "Bearer " + e.docTok}, http.StatusUnsupportedMediaType},
		{"login as a form", "POST", "/api/v1/login", "username=dr.patel&password=x",
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
	}
	before := e.snapshot()
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			res, body := e.send(tt.method, tt.path, tt.body, tt.hdr)
			if res.StatusCode != tt.want {
				t.Fatalf("got %d %s, want %d", res.StatusCode, body, tt.want)
			}
			ae := errorOf(t, body)
			if ae.Message == "" || (tt.want == http.StatusUnsupportedMediaType && ae.Code != api.CodeMediaType) {
				t.Errorf("error: got %+v, want a message (and code %s for 415)", ae, api.CodeMediaType)
			}
		})
	}
	// The logout above was refused: the session still works.
	if res, _ := e.send("GET", "/api/v1/me", "", withCookie(map[string]string{})); res.StatusCode != http.StatusOK {
		t.Errorf("me after the refused logout: got %d, want 200", res.StatusCode)
	}
	if e.snapshot() != before {
		t.Error("store changed by refused writes")
	}

	allowed := []struct {
		name, path, body string
		hdr              map[string]string
	}{
		{"web app (fetch)", "/api/v1/appointments", appt,
			withCookie(map[string]string{"Content-Type": "application/json", "Origin": self, "Sec-Fetch-Site": "same-origin"})},
		{"Origin only", "/api/v1/appointments", appt,
			withCookie(map[string]string{"Content-Type": "application/json; charset=utf-8", "Origin": self})},
		{"allowed origin", "/api/v1/appointments", appt,
			withCookie(map[string]string{"Content-Type": "application/json", "Origin": "https://app.example.org", "Sec-Fetch-Site": "same-site"})},
		{"bearer from a script", "/api/v1/appointments", appt,
			map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + e.docTok}},
		{"import keeps its own content types", "/api/v1/appointments/import?dry_run=true", ical,
			withCookie(map[string]string{"Content-Type": "text/calendar", "Origin": self})},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			res, body := e.send("POST", tt.path, tt.body, tt.hdr)
			if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
				t.Errorf("got %d %s, want it accepted", res.StatusCode, body)
			}
		})
	}
}

// wsReader collects what a signalling connection receives until it closes.
type wsReader struct {
	msgs   chan signalling.Type
	closed chan error
}

func readAll(conn *signalling.Conn) *wsReader {
	rd := &wsReader{msgs: make(chan signalling.Type, 64), closed: make(chan error, 1)}
	go func() {
		for {
			env, _, err := conn.Recv(context.Background())
			if err != nil {
				rd.closed <- err
				return
			}
			rd.msgs <- env.Type
		}
	}()
	return rd
}

func (rd *wsReader) waitClosed(t *testing.T, want websocket.StatusCode) {
	t.Helper()
	select {
	case err := <-rd.closed:
		if got := websocket.CloseStatus(err); got != want {
			t.Errorf("close: got %v (status %d), want status %d", err, got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connection is still open")
	}
}

// TestLogoutClosesSessionSockets: logging out closes the session's signalling sockets,
// with a close frame, and they get no waiting-room push afterwards; another session of
// the same clinic keeps its socket and gets the push.
func TestLogoutClosesSessionSockets(t *testing.T) {
	e := newEnv(t)
	cookie := e.cookieLogin()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// As the web app opens it: the cookie and the page's Origin.
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}, "Origin": {e.ts.URL}}})
	must(t, err)
	defer ws.CloseNow()
	doc := &wsClient{t: t, ws: ws, conn: signalling.NewConn(ws)}
	doc.send(signalling.TypeHello, &signalling.Hello{Role: signalling.RoleClinician, Agent: "test"})
	expect[signalling.Welcome](doc, signalling.TypeWelcome)
	expect[signalling.Queue](doc, signalling.TypeQueue)
	other := e.hello(e.docTok, signalling.RoleClinician)
	rd := readAll(doc.conn)

	res, body := e.send("POST", "/api/v1/logout", "", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value, "Origin": e.ts.URL})
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: got %d %s, want 204", res.StatusCode, body)
	}
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	booth.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
	expect[signalling.Queue](other, signalling.TypeQueue) // the push happened
	rd.waitClosed(t, websocket.StatusPolicyViolation)
	close(rd.msgs)
	for m := range rd.msgs {
		t.Errorf("after logout the socket received %s, want nothing", m)
	}
	// And a socket cannot be opened with the ended session.
	_, res, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}, "Origin": {e.ts.URL}}})
	if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("dial with the ended session: got %v, want 401", res)
	}
}

// TestSessionExpiryClosesSockets: a session that expires while its socket is open is
// cut off at its expiry, not at its next request.
func TestSessionExpiryClosesSockets(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.SessionTTL = time.Hour })
	_, body := e.do("POST", "/api/v1/login", "", map[string]string{"username": "dr.patel", "password": testPassword})
	var login struct{ Token string }
	must(t, json.Unmarshal(body, &login))
	doc := e.hello(login.Token, signalling.RoleClinician)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	rd := readAll(doc.conn)
	e.clock.Advance(59 * time.Minute)
	select {
	case err := <-rd.closed:
		t.Fatalf("closed before the session expired: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	e.clock.Advance(time.Minute)
	rd.waitClosed(t, websocket.StatusPolicyViolation)
	// The device's connection has no session and stays.
	booth.sendRaw("garbage")
	booth.expectError(signalling.CodeBadMessage, 0)
}

// TestSocketsPerCredentialCapped: one device token or session opens at most its cap of
// signalling connections; the next is refused before the upgrade, and a closed one frees
// its place.
func TestSocketsPerCredentialCapped(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.ConnLimits = ConnLimits{SocketsPerDevice: 2, SocketsPerSession: 3} })
	url := "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/api/v1/signal"
	for _, tt := range []struct {
		name string
		tok  string
		cap  int
	}{{"device", e.boothTok, 2}, {"session", e.docTok, 3}} {
		t.Run(tt.name, func(t *testing.T) {
			var open []*wsClient
			for range tt.cap {
				open = append(open, e.dial(tt.tok))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			hdr := http.Header{"Authorization": {"Bearer " + tt.tok}}
			ws, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
			if err == nil {
				ws.CloseNow()
				t.Fatalf("connection %d: got a socket, want 429", tt.cap+1)
			}
			if res == nil || res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
				t.Fatalf("connection %d: got %v, want 429 with Retry-After", tt.cap+1, res)
			}
			open[0].ws.Close(websocket.StatusNormalClosure, "")
			for {
				ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
				if err == nil {
					ws.CloseNow()
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("after closing one: %v, want a socket", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	// Other credentials are not affected.
	e.dial(e.otherBoothTok)
}

// serveReal runs e's switchboard on a real listener (httptest's has no timeouts) until
// the test ends, and returns its address.
func (e *env) serveReal() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(e.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestSlowRequestsCutOff: a login body sent a byte at a time, or headers sent so, are cut
// off at the read timeouts.
func TestSlowRequestsCutOff(t *testing.T) {
	const timeout = 400 * time.Millisecond
	e := newEnvWith(t, func(c *Config) {
		c.ConnLimits = ConnLimits{ReadHeaderTimeout: timeout, ReadTimeout: timeout}
	})
	addr := e.serveReal()
	body := loginBody("dr.patel", testPassword)
	tests := map[string]struct{ head, drip string }{
		"body": {
			head: "POST /api/v1/login HTTP/1.1\r\nHost: sb\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n",
			drip: body,
		},
		"headers": {head: "POST /api/v1/login HTTP/1.1\r\n", drip: "Host: sb\r\nContent-Type: application/json\r\n\r\n"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			must(t, err)
			defer conn.Close()
			start := time.Now()
			_, err = io.WriteString(conn, tt.head)
			must(t, err)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // a byte every 100 ms: the whole would take seconds
				defer wg.Done()
				for i := 0; i < len(tt.drip); i++ {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
					if _, err := conn.Write([]byte{tt.drip[i]}); err != nil {
						return
					}
				}
			}()
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			reply, err := io.ReadAll(conn) // until the server closes
			close(stop)
			wg.Wait()
			took := time.Since(start)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("still open after 5 s (got %q), want it cut off after %s", reply, timeout)
			}
			if took > timeout+time.Second {
				t.Errorf("cut off after %s, want about %s", took, timeout)
			}
			if strings.Contains(string(reply), "200 OK") {
				t.Errorf("got %q, want no login", reply)
			}
		})
	}
}

// TestWebSocketOutlivesRequestTimeouts: the read and write timeouts bound requests, not
// the signalling connection an upgrade turns one into.
func TestWebSocketOutlivesRequestTimeouts(t *testing.T) {
	const timeout = 300 * time.Millisecond
	e := newEnvWith(t, func(c *Config) {
		c.ConnLimits = ConnLimits{ReadHeaderTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout}
	})
	addr := e.serveReal()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.boothTok}}})
	must(t, err)
	defer ws.CloseNow()
	c := &wsClient{t: t, ws: ws, conn: signalling.NewConn(ws)}
	c.send(signalling.TypeHello, &signalling.Hello{Role: signalling.RoleDevice, Agent: "test"})
	expect[signalling.Welcome](c, signalling.TypeWelcome)
	expect[signalling.Schedule](c, signalling.TypeSchedule)
	time.Sleep(4 * timeout)
	c.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
	expect[signalling.Schedule](c, signalling.TypeSchedule)
}

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*Config)
		hdr       map[string]string
		tls       bool
	}{
		{"plain HTTP", func(*Config) {}, nil, false},
		{"behind a TLS proxy (-secure-cookies)", func(c *Config) { c.SecureCookies = true }, nil, true},
		{"trusted proxy says https", behindLocalProxy, map[string]string{"X-Forwarded-Proto": "https"}, true},
		{"untrusted peer says https", func(*Config) {}, map[string]string{"X-Forwarded-Proto": "https"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWith(t, tt.configure)
			hdr := map[string]string{"Content-Type": "application/json"}
			for k, v := range tt.hdr {
				hdr[k] = v
			}
			login, body := e.send("POST", "/api/v1/login", loginBody("dr.patel", testPassword), hdr)
			if login.StatusCode != http.StatusOK {
				t.Fatalf("login: got %d %s", login.StatusCode, body)
			}
			for _, c := range login.Cookies() {
				if c.Name == sessionCookie && c.Secure != tt.tls {
					t.Errorf("cookie Secure: got %t, want %t", c.Secure, tt.tls)
				}
			}
			for _, path := range []string{"/api/v1/me", "/api/v1/nope", "/"} {
				res, _ := e.send("GET", path, "", tt.hdr)
				if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("%s: X-Content-Type-Options: got %q, want nosniff", path, got)
				}
				if got := res.Header.Get("Strict-Transport-Security") != ""; got != tt.tls {
					t.Errorf("%s: Strict-Transport-Security sent: got %t, want %t", path, got, tt.tls)
				}
			}
		})
	}
}

func TestPlainHTTPWarning(t *testing.T) {
	for _, tt := range []struct {
		addr string
		warn string
	}{
		{"127.0.0.1:8080", ""},
		{"[::1]:8080", ""},
		{"0.0.0.0:8080", "ALL INTERFACES"},
		{"[::]:8080", "ALL INTERFACES"},
		{"192.0.2.10:8080", "BEYOND LOOPBACK"},
	} {
		ap := netip.MustParseAddrPort(tt.addr)
		got := plainHTTPWarning(net.TCPAddrFromAddrPort(ap))
		if (tt.warn == "") != (got == "") || !strings.Contains(got, tt.warn) {
			t.Errorf("%s: got %q, want %q", tt.addr, got, tt.warn)
		}
	}
}
