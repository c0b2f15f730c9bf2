package turnrelay

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
)

func startRelay(t *testing.T, allowLoopback bool) *Server {
	t.Helper()
	creds, err := NewCredentials(testSecret, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(Config{Listen: "127.0.0.1:0", PublicIP: netip.MustParseAddr("127.0.0.1"), AllowLoopbackPeers: allowLoopback}, creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// relayOnlyPeer is a peer connection that may use relayed candidates only, as when a
// site's firewall blocks UDP between the parties.
func relayOnlyPeer(t *testing.T, s *Server, party string, use func(url string) bool) *webrtc.PeerConnection {
	t.Helper()
	ice, err := s.ICEServer(party)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, u := range ice.URLs {
		if use(u) {
			urls = append(urls, u)
		}
	}
	if len(urls) == 0 {
		t.Fatalf("no relay URL to use among %v", ice.URLs)
	}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{
		ICEServers:         []webrtc.ICEServer{{URLs: urls, Username: ice.Username, Credential: ice.Credential}},
		ICETransportPolicy: webrtc.ICETransportPolicyRelay,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// TestRelayOnlyCall: two parties that may not use host candidates reach each other through
// the relay, over UDP and, as the last resort, TCP, with the credentials the switchboard
// hands out; and every candidate they used was relayed.
func TestRelayOnlyCall(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			callThrough(t, startRelay(t, true), "turn:", "transport="+transport)
		})
	}
}

// callThrough connects two relay-only peers through s using its URLs that start with
// scheme (and end with suffix, if given), and sends a message from one to the other.
func callThrough(t *testing.T, s *Server, scheme string, suffix ...string) {
	t.Helper()
	use := func(u string) bool {
		return strings.HasPrefix(u, scheme) && (len(suffix) == 0 || strings.HasSuffix(u, suffix[0]))
	}
	a, b := relayOnlyPeer(t, s, "dev-1", use), relayOnlyPeer(t, s, "clin-1", use)
	for _, p := range [][2]*webrtc.PeerConnection{{a, b}, {b, a}} {
		from, to := p[0], p[1]
		from.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c == nil {
				return
			}
			if c.Typ != webrtc.ICECandidateTypeRelay {
				t.Errorf("a %s candidate was offered by a relay-only peer", c.Typ)
			}
			to.AddICECandidate(c.ToJSON())
		})
	}
	got := make(chan string, 1)
	b.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { got <- string(m.Data) })
	})
	dc, err := a.CreateDataChannel("consultation", nil)
	if err != nil {
		t.Fatal(err)
	}
	dc.OnOpen(func() { dc.SendText("hello through the relay") })
	offer, _ := a.CreateOffer(nil)
	a.SetLocalDescription(offer)
	b.SetRemoteDescription(offer)
	answer, _ := b.CreateAnswer(nil)
	b.SetLocalDescription(answer)
	a.SetRemoteDescription(answer)
	select {
	case m := <-got:
		if m != "hello through the relay" {
			t.Errorf("got %q", m)
		}
	case <-time.After(60 * time.Second): // a bound on a busy machine, not a speed
		t.Fatalf("no message through the relay (%s) (a: %s, b: %s)", scheme, a.ICEConnectionState(), b.ICEConnectionState())
	}
	if n := s.Allocations(); n < 2 {
		t.Errorf("allocations: got %d, want one a party at least", n)
	}
}

// TestRelayRefuses: no allocation without valid credentials, and no relaying to loopback
// (the switchboard's own services) unless allowed.
func TestRelayRefuses(t *testing.T) {
	s := startRelay(t, false)
	good, err := s.ICEServer("dev-1")
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", itoa(s.Port()))
	client := func(user, pass string) *turn.Client {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, Username: user, Password: pass, Realm: Realm, Conn: conn, RTO: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); conn.Close() })
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, c := range map[string]struct {
		user, pass string
		counted    bool // refused by the user name; a wrong password fails pion's MESSAGE-INTEGRITY check
	}{
		"wrong password": {good.Username, "AAAA" + good.Credential[4:], false},
		"another party":  {strings.Replace(good.Username, "dev-1", "dev-2", 1), good.Credential, false},
		"expired":        {"1000:dev-1", "x", true},
		"no expiry":      {"dev-1", good.Credential, true},
	} {
		before := s.Refused()
		if _, err := client(c.user, c.pass).AllocateWithContext(ctx); err == nil {
			t.Errorf("%s: allocated", name)
		}
		if c.counted && s.Refused() == before {
			t.Errorf("%s: not counted as refused", name)
		}
	}
	relay, err := client(good.Username, good.Credential).AllocateWithContext(ctx)
	if err != nil {
		t.Fatalf("allocate with good credentials: %v", err)
	}
	defer relay.Close()
	target, _ := net.ListenPacket("udp4", "127.0.0.1:0")
	defer target.Close()
	before := s.Refused()
	relay.WriteTo([]byte("to the switchboard's loopback"), target.LocalAddr())
	target.SetReadDeadline(time.Now().Add(time.Second))
	if n, _, err := target.ReadFrom(make([]byte, 100)); err == nil {
		t.Errorf("the relay reached a loopback peer (%d bytes)", n)
	}
	if s.Refused() == before {
		t.Error("the loopback permission was not refused")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
