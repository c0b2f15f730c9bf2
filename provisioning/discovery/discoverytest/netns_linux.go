package discoverytest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// insideEnv names the test a re-executed test binary runs inside its namespace.
const insideEnv = "CAREBOOTH_NETNS_TEST"

// Need skips t (or, under CI=true, fails it) when network namespaces cannot be made here.
func Need(t testing.TB) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "network namespaces need root"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "network namespaces need iproute2's ip (apt install iproute2)"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI must run the network namespace tests: %s", why)
	}
	t.Skip(why)
}

var seq atomic.Int32

// IP runs ip with args, failing t if it fails.
func IP(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// New makes a network namespace with its loopback up and returns its name; it is removed
// when t ends.
func New(t testing.TB) string {
	t.Helper()
	Need(t)
	name := fmt.Sprintf("cbns-%d-%d", os.Getpid(), seq.Add(1))
	IP(t, "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	IP(t, "-n", name, "link", "set", "lo", "up")
	return name
}

// MulticastLoopback makes a namespace whose loopback does multicast, so that processes in
// it find each other by mDNS on lo and on nothing else.
func MulticastLoopback(t testing.TB) string {
	t.Helper()
	ns := New(t)
	IP(t, "-n", ns, "link", "set", "lo", "multicast", "on")
	IP(t, "-n", ns, "route", "add", "224.0.0.0/4", "dev", "lo")
	return ns
}

// Loopback runs the calling test inside a namespace of its own whose loopback does
// multicast. Outside, it re-executes the test binary there for this test alone, reports
// its output and result, and returns ok false: the caller returns at once. Inside, it
// returns the loopback interface and ok true, and the test goes on.
func Loopback(t *testing.T) (lo net.Interface, ok bool) {
	t.Helper()
	if os.Getenv(insideEnv) == t.Name() {
		ifi, err := net.InterfaceByName("lo")
		if err != nil {
			t.Fatalf("loopback in the namespace: %v", err)
		}
		return *ifi, true
	}
	ns := MulticastLoopback(t)
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run="+strings.Join(parts, "/"), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), insideEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in network namespace %s: %v\n%s", t.Name(), ns, err, out)
	}
	if top, _, _ := strings.Cut(t.Name(), "/"); !strings.Contains(string(out), "--- PASS: "+top) {
		t.Fatalf("%s in network namespace %s ran no test:\n%s", t.Name(), ns, out)
	}
	t.Logf("ran in network namespace %s", ns)
	return net.Interface{}, false
}
