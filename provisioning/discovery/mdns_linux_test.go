package discovery

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebooth/carebooth/provisioning/discovery/discoverytest"
)

// These tests run discovery between processes in network namespaces: two processes on one
// namespace's loopback, and two namespaces joined by a veth pair. Each process is this test
// binary run again as TestMDNSChild, inside its namespace by `ip netns exec`. They need
// root and iproute2; CI runs as root and must run them.

const childEnv = "CAREBOOTH_MDNS_CHILD"

var vethSeq atomic.Int32

// vethPair joins two new namespaces by a veth pair, each end with an IPv4 and an IPv6
// address, and returns the namespaces and the interface name in each.
func vethPair(t *testing.T) (nsA, nsB, ifA, ifB string) {
	nsA, nsB = discoverytest.New(t), discoverytest.New(t)
	for _, ns := range []string{nsA, nsB} {
		// Link-local addresses usable at once, not after duplicate address detection.
		out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0").CombinedOutput()
		if err != nil {
			t.Fatalf("sysctl accept_dad in %s: %v: %s", ns, err, out)
		}
	}
	n := vethSeq.Add(1)
	ifA, ifB = fmt.Sprintf("va%d-%d", os.Getpid()%100000, n), fmt.Sprintf("vb%d-%d", os.Getpid()%100000, n)
	discoverytest.IP(t, "link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB)
	for _, e := range []struct{ ns, dev, v4, v6 string }{{nsA, ifA, "10.213.0.1/24", "fd77::1/64"}, {nsB, ifB, "10.213.0.2/24", "fd77::2/64"}} {
		discoverytest.IP(t, "-n", e.ns, "addr", "add", e.v4, "dev", e.dev)
		discoverytest.IP(t, "-n", e.ns, "-6", "addr", "add", e.v6, "dev", e.dev, "nodad")
		discoverytest.IP(t, "-n", e.ns, "link", "set", e.dev, "up")
	}
	// Both ends have their link-local addresses (which come with the carrier) before the
	// test announces or dials them.
	for _, e := range []struct{ ns, dev string }{{nsA, ifA}, {nsB, ifB}} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, _ := exec.Command("ip", "-n", e.ns, "-6", "addr", "show", "dev", e.dev, "scope", "link").CombinedOutput()
			if strings.Contains(string(out), "fe80::") && !strings.Contains(string(out), "tentative") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no link-local address on %s in %s: %s", e.dev, e.ns, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nsA, nsB, ifA, ifB
}

// childSpec is what a child process does.
type childSpec struct {
	Mode   string // "advertise", "browse" or "flood"
	Iface  string
	Record Record
	Port   int
	// browse
	RoundMs, ListenMs, ExpiryMs int
	MaxDevices                  int
	// flood
	Flood int
}

// childView is what a browsing child prints, a line each time its table changes.
type childView struct {
	Devices, Switchboards []Peer
	Stats                 Stats
	Goroutines            int
}

// child is a running child process, its output lines in lines.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{} // closed when the child has exited; err is then set
	err   error
}

func startChild(t *testing.T, ns string, spec childSpec) *child {
	t.Helper()
	js, _ := json.Marshal(spec)
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestMDNSChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "CHILD "); ok {
				c.lines <- l
			}
		}
		close(c.lines)
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	return c
}

func (c *child) send(t *testing.T, line string) {
	t.Helper()
	if _, err := fmt.Fprintln(c.stdin, line); err != nil {
		t.Fatalf("tell the child %q: %v", line, err)
	}
}

// waitFor reads lines until one satisfies ok, within d.
func (c *child) waitFor(t *testing.T, what string, d time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l, open := <-c.lines:
			if !open {
				<-c.done
				t.Fatalf("%s: the child ended first: %v", what, c.err)
			}
			if ok(l) {
				return l
			}
		case <-deadline:
			t.Fatalf("%s: not within %s", what, d)
		}
	}
}

// waitView waits for a browsing child's view that satisfies ok.
func (c *child) waitView(t *testing.T, what string, d time.Duration, ok func(childView) bool) childView {
	t.Helper()
	var v childView
	c.waitFor(t, what, d, func(l string) bool {
		rest, isView := strings.CutPrefix(l, "view ")
		if !isView {
			return false
		}
		v = childView{}
		if err := json.Unmarshal([]byte(rest), &v); err != nil {
			t.Fatalf("child view %q: %v", l, err)
		}
		return ok(v)
	})
	return v
}

// finish closes the child's stdin and waits for it to exit cleanly.
func (c *child) finish(t *testing.T) {
	t.Helper()
	c.stdin.Close()
	for range c.lines {
	}
	select {
	case <-c.done:
		if c.err != nil {
			t.Fatalf("child exited: %v", c.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("child did not exit")
	}
}

func fastBrowse(iface string) childSpec {
	return childSpec{Mode: "browse", Iface: iface, RoundMs: 1000, ListenMs: 700, ExpiryMs: 3000}
}

func peerNamed(ps []Peer, id string) (Peer, bool) {
	for _, p := range ps {
		if p.ID == id {
			return p, true
		}
	}
	return Peer{}, false
}

// TestMDNSLoopback: a booth and a switchboard advertised by one process are found by
// another on the same host; the booth's state change reaches the browser, its withdrawal
// and its disappearance make it leave, and the browser leaks no goroutine.
func TestMDNSLoopback(t *testing.T) {
	discoverytest.Need(t)
	ns := discoverytest.MulticastLoopback(t)
	booth := startChild(t, ns, childSpec{Mode: "advertise", Iface: "lo", Record: boothRecord(), Port: 8443})
	booth.waitFor(t, "the booth advertising", 10*time.Second, func(l string) bool { return l == "ready" })
	sb := startChild(t, ns, childSpec{Mode: "advertise", Iface: "lo", Record: switchboardRecord(), Port: 443})
	sb.waitFor(t, "the switchboard advertising", 10*time.Second, func(l string) bool { return l == "ready" })
	br := startChild(t, ns, fastBrowse("lo"))
	start := time.Now()

	v := br.waitView(t, "the booth and the switchboard found", 15*time.Second, func(v childView) bool {
		_, b := peerNamed(v.Devices, "dev-1")
		_, s := peerNamed(v.Switchboards, "switchboard")
		return b && s
	})
	t.Logf("found after %s", time.Since(start).Round(time.Millisecond))
	p, _ := peerNamed(v.Devices, "dev-1")
	if p.Record != boothRecord() || p.Port != 8443 || len(p.Addrs) == 0 || p.Addrs[0].String() != "127.0.0.1" {
		t.Errorf("booth peer: got %+v, want its record, port 8443 and 127.0.0.1", p)
	}
	s, _ := peerNamed(v.Switchboards, "switchboard")
	if s.CA != switchboardRecord().CA || s.Port != 443 {
		t.Errorf("switchboard peer: got %+v, want its CA fingerprint and port 443", s)
	}

	// Help pressed: the TXT record changes and the browser hears of it.
	r := boothRecord()
	r.State = "help"
	js, _ := json.Marshal(r)
	booth.send(t, "update "+string(js))
	start = time.Now()
	br.waitView(t, "the state change seen", 10*time.Second, func(v childView) bool {
		p, ok := peerNamed(v.Devices, "dev-1")
		return ok && p.State == "help"
	})
	t.Logf("state change seen by the browser after %s", time.Since(start).Round(time.Millisecond))

	// The booth withdraws (shutdown): gone within the expiry.
	booth.send(t, "close")
	booth.finish(t)
	start = time.Now()
	br.waitView(t, "the withdrawn booth gone", 10*time.Second, func(v childView) bool {
		_, ok := peerNamed(v.Devices, "dev-1")
		return !ok
	})
	t.Logf("withdrawn booth gone after %s (expiry 3 s in this test)", time.Since(start).Round(time.Millisecond))

	// The switchboard vanishes without a goodbye (power cut): expired too.
	start = time.Now()
	sb.cmd.Process.Kill()
	br.waitView(t, "the vanished switchboard gone", 10*time.Second, func(v childView) bool { return len(v.Switchboards) == 0 })
	t.Logf("switchboard gone after %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	br.finish(t) // the child checks its goroutines came back
	t.Logf("browser finished in %s", time.Since(start).Round(time.Millisecond))
}

// TestMDNSVeth: discovery across two namespaces joined by a veth pair, with both
// address families.
func TestMDNSVeth(t *testing.T) {
	discoverytest.Need(t)
	nsA, nsB, ifA, ifB := vethPair(t)
	booth := startChild(t, nsA, childSpec{Mode: "advertise", Iface: ifA, Record: boothRecord(), Port: 8443})
	booth.waitFor(t, "the booth advertising", 10*time.Second, func(l string) bool { return l == "ready" })
	br := startChild(t, nsB, fastBrowse(ifB))
	v := br.waitView(t, "the booth found across the veth", 15*time.Second, func(v childView) bool {
		p, ok := peerNamed(v.Devices, "dev-1")
		return ok && len(p.Addrs) >= 2
	})
	p, _ := peerNamed(v.Devices, "dev-1")
	var has4, has6 bool
	for _, a := range p.Addrs {
		has4 = has4 || a.String() == "10.213.0.1"
		has6 = has6 || a.WithZone("").String() == "fd77::1"
	}
	if !has4 || !has6 {
		t.Errorf("booth addresses: got %v, want 10.213.0.1 and fd77::1", p.Addrs)
	}
	// Dial it at what was found: a TCP listener in namespace A answers there.
	booth.send(t, "listen")
	booth.waitFor(t, "the booth listening", 5*time.Second, func(l string) bool { return l == "listening" })
	br.send(t, "dial "+strings.Join(p.Endpoints(), ","))
	br.waitFor(t, "the browser dialling each address found", 10*time.Second, func(l string) bool {
		if strings.HasPrefix(l, "dial failed") {
			a, _ := exec.Command("ip", "-n", nsA, "addr").CombinedOutput()
			b, _ := exec.Command("ip", "-n", nsB, "-6", "route").CombinedOutput()
			t.Fatalf("%s\naddresses in A:\n%s\nIPv6 routes in B:\n%s", l, a, b)
		}
		return l == "dialled"
	})
	booth.finish(t)
	br.finish(t)
}

// TestMDNSHostile: a flood of announcements and hostile records on the LAN leave the
// browser's memory bounded and the genuine peer found.
func TestMDNSHostile(t *testing.T) {
	discoverytest.Need(t)
	nsA, nsB, ifA, ifB := vethPair(t)
	booth := startChild(t, nsA, childSpec{Mode: "advertise", Iface: ifA, Record: boothRecord(), Port: 8443})
	booth.waitFor(t, "the booth advertising", 10*time.Second, func(l string) bool { return l == "ready" })
	spec := fastBrowse(ifB)
	spec.MaxDevices = 64
	spec.ExpiryMs = 20000
	br := startChild(t, nsB, spec)
	br.waitView(t, "the booth found", 15*time.Second, func(v childView) bool { _, ok := peerNamed(v.Devices, "dev-1"); return ok })

	fl := startChild(t, nsA, childSpec{Mode: "flood", Iface: ifA, Flood: 3000})
	fl.waitFor(t, "the flood sent", 60*time.Second, func(l string) bool { return l == "flooded" })
	fl.finish(t)
	v := br.waitView(t, "the flood counted", 15*time.Second, func(v childView) bool {
		return v.Stats.Full > 0 && v.Stats.Malformed > 0
	})
	if len(v.Devices) > 64 {
		t.Errorf("devices held: got %d, want at most the bound, 64", len(v.Devices))
	}
	var genuine, spoof bool
	for _, p := range v.Devices {
		if p.ID != "dev-1" {
			continue
		}
		switch p.Instance {
		case "carebooth-dev-1":
			genuine = len(p.Addrs) > 0 && p.Addrs[0].String() == "10.213.0.1"
		case "carebooth-dev-1-evil":
			spoof = true
		}
	}
	if !genuine {
		t.Error("the genuine booth was pushed out or overwritten by the flood")
	}
	if !spoof {
		t.Log("the spoofed claim to dev-1 was not received (UDP may drop it in a flood)")
	}
	for _, p := range v.Devices {
		if len(p.Addrs) > 2*maxAddrs {
			t.Errorf("peer %q holds %d addresses", p.Instance, len(p.Addrs))
		}
	}
	t.Logf("after the flood: %d devices held, %d refused as full, %d malformed, %d goroutines", len(v.Devices), v.Stats.Full, v.Stats.Malformed, v.Goroutines)
	booth.finish(t)
	br.finish(t)
}

// TestMDNSChild is a child process of the tests above, run inside a namespace.
func TestMDNSChild(t *testing.T) {
	js := os.Getenv(childEnv)
	if js == "" {
		t.Skip("run by the mDNS namespace tests as their child process")
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(js), &spec); err != nil {
		t.Fatal(err)
	}
	ifs, err := Interfaces([]string{spec.Iface})
	if err != nil {
		t.Fatal(err)
	}
	say := func(format string, args ...any) { fmt.Printf("CHILD "+format+"\n", args...) }
	cmds := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			cmds <- sc.Text()
		}
		close(cmds)
	}()
	switch spec.Mode {
	case "advertise":
		a, err := NewAdvertiser(AdvertiserConfig{Port: spec.Port, Interfaces: ifs, Host: "child"}, spec.Record)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		say("ready")
		var ln net.Listener
		for c := range cmds {
			switch {
			case strings.HasPrefix(c, "update "):
				var r Record
				json.Unmarshal([]byte(strings.TrimPrefix(c, "update ")), &r)
				if err := a.Update(r); err != nil {
					t.Fatal(err)
				}
				say("updated")
			case c == "close":
				a.Close()
				say("closed")
			case c == "listen":
				if ln, err = net.Listen("tcp", fmt.Sprintf(":%d", spec.Port)); err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				go func() {
					for {
						conn, err := ln.Accept()
						if err != nil {
							return
						}
						conn.Close()
					}
				}()
				say("listening")
			}
		}
	case "browse":
		base := runtime.NumGoroutine()
		tab := NewTable(TableConfig{Expiry: time.Duration(spec.ExpiryMs) * time.Millisecond, MaxDevices: spec.MaxDevices})
		b, err := NewBrowser(BrowserConfig{Interfaces: ifs, Round: time.Duration(spec.RoundMs) * time.Millisecond,
			Listen: time.Duration(spec.ListenMs) * time.Millisecond}, tab)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		print := func() {
			v := childView{Devices: tab.Peers(KindDevice), Switchboards: tab.Peers(KindSwitchboard), Stats: tab.Stats(), Goroutines: runtime.NumGoroutine()}
			out, _ := json.Marshal(v)
			say("view %s", out)
		}
	loop:
		for {
			select {
			case <-tab.Changed():
				print()
			case <-tick.C:
				print()
			case c, ok := <-cmds:
				if !ok {
					break loop
				}
				if addrs, isDial := strings.CutPrefix(c, "dial "); isDial {
					for _, a := range strings.Split(addrs, ",") {
						conn, err := net.DialTimeout("tcp", a, 3*time.Second)
						if err != nil {
							say("dial failed %s: %v", a, err)
							continue
						}
						conn.Close()
					}
					say("dialled")
				}
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// Every resolver's goroutines end with its browse (the library's servers' probes
		// are not ours to wait for; no advertiser runs here).
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base+1 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > base+1 {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d after browsing, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
	case "flood":
		if err := flood(ifs[0], spec.Flood); err != nil {
			t.Fatal(err)
		}
		say("flooded")
		for range cmds {
		}
	default:
		t.Fatalf("mode %q", spec.Mode)
	}
}
