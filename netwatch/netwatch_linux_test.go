package netwatch

import (
	"os/exec"
	"testing"
	"time"

	"github.com/carebooth/carebooth/provisioning/discovery/discoverytest"
)

// TestWatchSeesAddressChanges, in a network namespace of its own: adding and removing an
// address (a new DHCP lease) each give one notice, and a quiet network none.
func TestWatchSeesAddressChanges(t *testing.T) {
	if _, inside := discoverytest.Loopback(t); !inside {
		return
	}
	w, err := Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	select {
	case <-w.C:
		t.Fatal("a notice before anything changed")
	case <-time.After(700 * time.Millisecond):
	}
	for _, args := range [][]string{{"addr", "add", "10.77.0.5/24", "dev", "lo"}, {"addr", "del", "10.77.0.5/24", "dev", "lo"}} {
		start := time.Now()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
		select {
		case <-w.C:
			t.Logf("ip %v: notice after %s", args, time.Since(start).Round(time.Millisecond))
		case <-time.After(3 * time.Second):
			t.Fatalf("ip %v: no notice within 3 s", args)
		}
		select {
		case <-w.C:
			t.Fatalf("ip %v: two notices for one change", args)
		case <-time.After(2 * Settle):
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
