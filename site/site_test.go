package site

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/discovery"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/deviceca"
)

func newCA(t *testing.T) *deviceca.CA {
	t.Helper()
	ca, _, err := deviceca.Open(t.TempDir(), "Carebooth devices", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func creds(t *testing.T, ca *deviceca.CA, id string) Credentials {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	der, err := ca.IssueDevice(id, pub)
	if err != nil {
		t.Fatal(err)
	}
	return Credentials{Cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, CA: ca.Certificate()}
}

func record(id string) discovery.Record {
	return discovery.Record{Kind: discovery.KindDevice, ID: id, Role: device.RoleBooth, Site: "s1", Version: "1", State: signalling.StateIdle}
}

// serve runs a site server for c answering rec, and returns the peer announcing it as id.
func serve(t *testing.T, c Credentials, rec discovery.Record, announcedID string) discovery.Peer {
	t.Helper()
	s, err := NewServer(c, func() discovery.Record { return rec }, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	ap := netip.MustParseAddrPort(ln.Addr().String())
	r := record(announcedID)
	return discovery.Peer{Instance: "carebooth-" + announcedID, Record: r, Port: int(ap.Port()), Addrs: []netip.Addr{ap.Addr()}}
}

func TestVerify(t *testing.T) {
	ca := newCA(t)
	me := creds(t, ca, "dev-2")
	ctx := context.Background()

	t.Run("the device it claims to be", func(t *testing.T) {
		p := serve(t, creds(t, ca, "dev-1"), record("dev-1"), "dev-1")
		rec, err := Verify(ctx, me, p)
		if err != nil || rec != record("dev-1") {
			t.Fatalf("got %+v, %v; want dev-1's record", rec, err)
		}
	})
	t.Run("another device of the site claiming dev-1", func(t *testing.T) {
		p := serve(t, creds(t, ca, "dev-3"), record("dev-1"), "dev-1")
		if _, err := Verify(ctx, me, p); !errors.Is(err, ErrSpoofed) {
			t.Fatalf("got %v, want ErrSpoofed", err)
		}
	})
	t.Run("a rogue CA's dev-1", func(t *testing.T) {
		p := serve(t, creds(t, newCA(t), "dev-1"), record("dev-1"), "dev-1")
		_, err := Verify(ctx, me, p)
		if !errors.Is(err, ErrNotDevice) {
			t.Fatalf("got %v, want ErrNotDevice", err)
		}
	})
	t.Run("a device answering another's record", func(t *testing.T) {
		p := serve(t, creds(t, ca, "dev-1"), record("dev-9"), "dev-1")
		if _, err := Verify(ctx, me, p); !errors.Is(err, ErrSpoofed) {
			t.Fatalf("got %v, want ErrSpoofed", err)
		}
	})
	t.Run("nobody listening", func(t *testing.T) {
		p := discovery.Peer{Instance: "x", Record: record("dev-1"), Port: 1, Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
		if _, err := Verify(ctx, me, p); err == nil {
			t.Fatal("got nil, want an error")
		}
	})
}

// TestServerRefuses: without a device certificate of the site's CA nothing is answered.
func TestServerRefuses(t *testing.T) {
	ca := newCA(t)
	p := serve(t, creds(t, ca, "dev-1"), record("dev-1"), "dev-1")
	url := "https://" + p.Endpoints()[0] + PathDevice
	for name, certs := range map[string][]tls.Certificate{
		"no certificate":       nil,
		"a rogue CA's device":  {creds(t, newCA(t), "dev-2").Cert},
		"a self-made identity": {selfSigned(t)},
	} {
		t.Run(name, func(t *testing.T) {
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
				InsecureSkipVerify: true, Certificates: certs}}}
			resp, err := c.Get(url)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got %s, want the handshake refused", resp.Status)
			}
			if !strings.Contains(err.Error(), "certificate") && !strings.Contains(err.Error(), "tls") {
				t.Errorf("got %v, want a TLS refusal", err)
			}
		})
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	return creds(t, newCA(t), "dev-1").Cert // issued by a CA nobody here trusts
}
