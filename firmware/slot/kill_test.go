package slot

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carebooth/carebooth/firmware/bundle"
)

// killChildEnv, when set, makes the test binary the installer child of TestKilledAtEveryStep
// (a JSON killOrder) instead of running tests.
const killChildEnv = "CAREBOOTH_SLOT_KILL_CHILD"

type killOrder struct {
	Dir     string         `json:"dir"`
	Staged  *bundle.Staged `json:"staged"`
	Healthy bool           `json:"healthy"`
	KillAt  int            `json:"kill_at"` // the step after which to die; 0: none
}

func TestMain(m *testing.M) {
	if order := os.Getenv(killChildEnv); order != "" {
		os.Exit(killChild(order))
	}
	os.Exit(m.Run())
}

// killChild runs one release's life on a device running 1.0.0: install, restart, the
// health checks and commit or rollback, restart. It prints each durable step and
// SIGKILLs itself after step KillAt, as a power cut or the OOM killer would.
func killChild(order string) int {
	var o killOrder
	if err := json.Unmarshal([]byte(order), &o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	dev, err := openDevice(o.Dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	n := 0
	step := func(name string) {
		n++
		fmt.Printf("%d %s\n", n, name)
		if n == o.KillAt {
			os.Stdout.Sync()
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute) // the signal arrives first
		}
	}
	dev.m.step, dev.dirs.step = step, step
	var check checker = passes
	if !o.Healthy {
		check = noCamera
	}
	_, err = dev.m.Boot()
	if err == nil {
		_, err = dev.m.Install(o.Staged)
	}
	if err == nil {
		_, err = dev.m.Boot()
	}
	if err == nil {
		_, err = dev.m.Confirm(context.Background(), check)
	}
	if err == nil {
		_, err = dev.m.Boot()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("done")
	return 0
}

// The installer is killed after each of its durable steps in turn (from the state
// records and the slot's files to the link's rename and sync, through the restart, the
// health checks and the commit or rollback). After every kill, the starts that follow
// run a complete release each time, never a mix or a part, and end on the new release
// only if it was healthy and its trial recorded, else on the old one with the failure
// recorded.
func TestKilledAtEveryStep(t *testing.T) {
	v1, v2 := stage(t, "1.0.0"), stage(t, "2.0.0")
	for _, healthy := range []bool{true, false} {
		name := map[bool]string{true: "healthy release", false: "release failing its health check"}[healthy]
		t.Run(name, func(t *testing.T) {
			steps := runKillChild(t, committedDir(t, v1), v2, healthy, 0)
			if len(steps) < 10 {
				t.Fatalf("the child took %d steps (%q), want the whole install", len(steps), steps)
			}
			t.Logf("%d steps: %q", len(steps), steps)
			trialAt := indexOf(t, steps, "install: record the trial")
			for k := 1; k <= len(steps); k++ {
				dir := committedDir(t, v1)
				runKillChild(t, dir, v2, healthy, k)
				final := startUntilSettled(t, dir, healthy)
				want := "1.0.0"
				if healthy && k >= trialAt {
					want = "2.0.0"
				}
				if final.Version != want {
					t.Errorf("killed after step %d (%s): settled on %s, want %s", k, steps[k-1], final.Version, want)
				}
				if !healthy && k >= trialAt {
					st, _ := newDevice(t, dir).m.State()
					if st.LastError == nil || st.LastError.Version != "2.0.0" {
						t.Errorf("killed after step %d (%s): last error %v, want 2.0.0's failure recorded", k, steps[k-1], st.LastError)
					}
				}
			}
		})
	}
}

// committedDir returns a device directory with 1.0.0 committed.
func committedDir(t *testing.T, v1 *bundle.Staged) string {
	dir := t.TempDir()
	committed(t, dir, v1)
	return dir
}

// startUntilSettled starts the device (Boot, and Confirm for a trial) until a start
// neither restarts nor tries, checking that every start runs a complete release.
func startUntilSettled(t *testing.T, dir string, healthy bool) Decision {
	t.Helper()
	var check checker = passes
	if !healthy {
		check = noCamera
	}
	for start := 1; start <= 10; start++ {
		dev := newDevice(t, dir) // a new process each start
		d, err := dev.m.Boot()
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		if d.Restart {
			continue
		}
		checkRuns(t, dev, d.Version)
		if !d.Trying {
			return d
		}
		if _, err := dev.m.Confirm(context.Background(), check); err != nil {
			t.Fatalf("start %d: confirm: %v", start, err)
		}
	}
	t.Fatal("the device did not settle in 10 starts")
	return Decision{}
}

func runKillChild(t *testing.T, dir string, staged *bundle.Staged, healthy bool, killAt int) []string {
	t.Helper()
	order, err := json.Marshal(killOrder{Dir: dir, Staged: staged, Healthy: healthy, KillAt: killAt})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+string(order))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var steps []string
	done := false
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if sc.Text() == "done" {
			done = true
			continue
		}
		_, name, _ := strings.Cut(sc.Text(), " ")
		steps = append(steps, name)
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case killAt == 0 && (err != nil || !done):
		t.Fatalf("child without a kill: %v, stderr %s", err, stderr.String())
	case killAt > 0 && !(ws.Signaled() && ws.Signal() == syscall.SIGKILL):
		t.Fatalf("child to be killed after step %d: ended with %v (stderr %s), want SIGKILL", killAt, err, stderr.String())
	case killAt > 0 && len(steps) != killAt:
		t.Fatalf("child to be killed after step %d: printed %d steps", killAt, len(steps))
	}
	return steps
}

func indexOf(t *testing.T, steps []string, name string) int {
	for i, s := range steps {
		if s == name {
			return i + 1
		}
	}
	t.Fatalf("no step %q in %q", name, steps)
	return 0
}
