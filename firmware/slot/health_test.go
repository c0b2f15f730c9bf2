package slot

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/firmware/health"
)

var _ checker = (*health.Runner)(nil)

// The booth's health checks decide the trial: a runner whose camera check fails rolls
// the release back and records which check failed and why.
func TestConfirmWithHealthRunner(t *testing.T) {
	v1, v2 := stage(t, "1.0.0"), stage(t, "2.0.0")
	ok := func(context.Context) error { return nil }
	runner, err := health.NewRunner(testClock, nil,
		health.Check{Name: "switchboard", Timeout: time.Second, Run: ok},
		health.Check{Name: "camera", Timeout: time.Second, Run: func(context.Context) error { return errors.New("open /dev/video0: no such device") }},
		health.Check{Name: "microphone", Timeout: time.Second, Run: ok},
		health.Check{Name: "screen", Timeout: time.Second, Run: ok},
	)
	if err != nil {
		t.Fatal(err)
	}
	dev := committed(t, t.TempDir(), v1)
	if _, err := dev.m.Install(v2); err != nil {
		t.Fatal(err)
	}
	mustBoot(t, dev.m)
	d, err := dev.m.Confirm(context.Background(), runner)
	if err != nil {
		t.Fatal(err)
	}
	want := "health check failed: camera: open /dev/video0: no such device"
	if d.RolledBack == nil || d.RolledBack.Reason != want {
		t.Fatalf("got %+v, want rolled back for %q", d.RolledBack, want)
	}
	checkRuns(t, dev, "1.0.0")
	st, _ := dev.m.State()
	if st.LastError == nil || !strings.Contains(st.LastError.String(), "2.0.0 rolled back") {
		t.Errorf("state: got %v, want the rollback recorded", st.LastError)
	}
}
