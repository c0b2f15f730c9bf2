package booth

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
)

// crashChildEnv names the state directory when the test binary runs as crashChild.
const crashChildEnv = "CAREBOOTH_OUTBOX_CRASH_CHILD"

// TestMain lets the test binary be the child of TestOutboxSurvivesSIGKILL,
// TestEndPressIsAtomicAcrossSIGKILL and TestEndPressSurvivesSIGKILL.
func TestMain(m *testing.M) {
	for env, child := range map[string]func(string) error{crashChildEnv: crashChild, decideChildEnv: decideChild, endChildEnv: endChild} {
		if arg := os.Getenv(env); arg != "" {
			if err := child(arg); err != nil {
				fmt.Fprintln(os.Stderr, "crash child:", err)
				os.Exit(2)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

// crashChild records events for one appointment as fast as it can, as boothd would while
// offline, and prints each one once Record has returned (it is durable then). Every ten
// events it acknowledges the five oldest, printing the keys before it starts.
func crashChild(dir string) error {
	s, err := OpenBoltStore(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Get("a1"); err != nil {
		a := signalling.Appointment{ID: "a1", Start: t0, End: t0.Add(time.Hour), Status: "scheduled"}
		if err := s.ReplaceSchedule([]signalling.Appointment{a}); err != nil {
			return err
		}
	}
	w := bufio.NewWriter(os.Stdout)
	next := map[appointment.Status]appointment.Event{
		appointment.Scheduled: appointment.OpenWindow, appointment.WindowOpen: appointment.Arrive, appointment.Waiting: appointment.Leave,
	}
	for n := 1; ; n++ {
		a, err := s.Get("a1")
		if err != nil {
			return err
		}
		e, err := s.Record("a1", next[localOf(a)], time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "ok %d %s\n", e.Seq, e.Key)
		w.Flush()
		if n%10 == 0 {
			evs, err := s.Outbox(0, 5)
			if err != nil {
				return err
			}
			var keys []string
			for _, e := range evs {
				keys = append(keys, e.Key)
			}
			fmt.Fprintf(w, "acking %s\n", strings.Join(keys, " "))
			w.Flush()
			if err := s.Ack(nil, keys...); err != nil {
				return err
			}
		}
	}
}

// TestOutboxSurvivesSIGKILL kills a process appending to the outbox with SIGKILL at
// random moments, 50 times. After each kill the file must open cleanly, every append the
// child reported must be there (unless it was being acknowledged), the sequence must
// have no holes and no key may appear twice.
func TestOutboxSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 50 processes; not in -short")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	acked := map[string]bool{}    // keys the child started to acknowledge
	okKeys := map[uint64]string{} // seq -> key the child reported durable
	appended := 0
	for round := 0; round < 50; round++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Let it get going (its first line), then kill it somewhere in the next 0-40 ms.
		first := true
		kill := time.After(time.Hour)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				if first {
					first = false
					kill = time.After(time.Duration(rand.IntN(40)) * time.Millisecond)
				}
				parse(t, l, okKeys, acked)
			case <-kill:
				cmd.Process.Signal(syscall.SIGKILL)
				kill = time.After(time.Hour)
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("round %d: the child printed nothing for 60 s (stderr: %s)", round, stderr.String())
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v (stderr: %s), want killed by SIGKILL", round, err, stderr.String())
		}

		s, err := OpenBoltStore(dir)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		evs, err := s.Outbox(0, 0)
		if err != nil {
			t.Fatalf("round %d: read outbox: %v", round, err)
		}
		s.Close()
		inDB := map[uint64]string{}
		keys := map[string]bool{}
		var maxSeq uint64
		for i, e := range evs {
			if i > 0 && e.Seq <= evs[i-1].Seq {
				t.Fatalf("round %d: outbox out of order: seq %d after %d", round, e.Seq, evs[i-1].Seq)
			}
			if keys[e.Key] {
				t.Fatalf("round %d: key %s twice", round, e.Key)
			}
			keys[e.Key], inDB[e.Seq] = true, e.Key
			maxSeq = max(maxSeq, e.Seq)
		}
		for seq, key := range okKeys {
			maxSeq = max(maxSeq, seq)
			if acked[key] {
				continue
			}
			if got, ok := inDB[seq]; !ok || got != key {
				t.Fatalf("round %d: event %d (%s) was reported durable but is gone (got %q)", round, seq, key, got)
			}
		}
		ackedSeq := map[uint64]bool{}
		for k := range acked {
			if i := strings.LastIndexByte(k, '-'); i > 0 {
				n, _ := strconv.ParseUint(k[i+1:], 10, 64)
				ackedSeq[n] = true
			}
		}
		for seq := uint64(1); seq <= maxSeq; seq++ {
			if _, ok := inDB[seq]; !ok && !ackedSeq[seq] {
				t.Fatalf("round %d: seq %d is missing and was never acknowledged: a hole", round, seq)
			}
		}
		appended = len(okKeys)
	}
	t.Logf("50 SIGKILLs: %d appends reported durable, %d acknowledged, none lost or doubled", appended, len(acked))
	if appended < 50 {
		t.Errorf("got %d appends in 50 rounds, want the child to have done real work", appended)
	}
}

func parse(t *testing.T, l string, okKeys map[uint64]string, acked map[string]bool) {
	f := strings.Fields(l)
	switch {
	case len(f) == 3 && f[0] == "ok":
		seq, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			t.Fatalf("child line %q", l)
		}
		if prev, ok := okKeys[seq]; ok && prev != f[2] {
			t.Fatalf("seq %d reused: %s then %s", seq, prev, f[2])
		}
		okKeys[seq] = f[2]
	case len(f) >= 1 && f[0] == "acking":
		for _, k := range f[1:] {
			acked[k] = true
		}
	default:
		t.Fatalf("child line %q", l)
	}
}
