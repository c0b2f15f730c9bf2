package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/jonboulle/clockwork"
)

// vga is the benchmark's call: 640x480 at 30 fps both ways.
var vga = capture.Config{Width: 640, Height: 480, FPS: 30}

// admin returns an API client logged in as the demo admin.
func (e *env) admin(tb testing.TB) *apiclient.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	api, err := apiclient.New(e.URL, "", nil)
	if err != nil {
		tb.Fatal(err)
	}
	login, err := api.Login(ctx, e.Demo.AdminUser, e.Demo.AdminPassword)
	if err != nil {
		tb.Fatalf("admin login: %v", err)
	}
	return api.WithToken(login.Token)
}

// book books the demo booth for an appointment starting at start.
func (e *env) book(tb testing.TB, api *apiclient.Client, start time.Time) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	a, err := api.CreateAppointment(ctx, apiclient.NewAppointment{
		ClinicID: e.Demo.ClinicID, DeviceID: e.Demo.DeviceID, Patient: "Benchmark Patient",
		Start: start, End: start.Add(20 * time.Minute),
	})
	if err != nil {
		tb.Fatalf("book: %v", err)
	}
	return a.ID
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

// BenchmarkJoin measures, over 20 joins of a 640x480 30 fps loopback call, the time from
// the clinician's Admit to the first decoded remote frame on each side. Target: p50 at most
// 500 ms (what the clinician waits to see the patient).
func BenchmarkJoin(b *testing.B) {
	const joins = 20
	for range b.N {
		e := startSwitchboard(b)
		admin := e.admin(b)
		// The demo appointment is two minutes ahead; end it first so each join below has
		// exactly one open appointment.
		ctx := context.Background()
		if _, err := admin.CancelAppointment(ctx, e.Demo.AppointmentID); err != nil {
			b.Fatalf("cancel the demo appointment: %v", err)
		}
		clock := clockwork.NewRealClock()
		rb := e.startBooth(b, clock, device.JoinButton, vga)
		cl := e.dialClinician(b)
		var toClinician, toBooth []time.Duration
		for i := range joins {
			appt := e.book(b, admin, time.Now().Add(time.Minute))
			rb.waitFor(b, "the join window", func(s booth.Snapshot) bool {
				return s.State == booth.JoinWindow && s.AppointmentID == appt
			})
			rb.Buttons.Press(button.Join)
			cl.expect(signalling.TypeQueue, func(m any) bool {
				q := m.(*signalling.Queue)
				return len(q.Entries) == 1 && q.Entries[0].AppointmentID == appt
			})
			rb.resetFrames() // the last call's final frames have all landed by now
			admitted := time.Now()
			cc := cl.admit(appt, vga)
			cl.pump(cc)
			eventually(b, "first frames", func() bool { return cc.frames.Load() > 0 && rb.frames.Load() > 0 })
			first := cc.Call.Stats().FirstFrameAt
			toClinician = append(toClinician, first.Sub(admitted))
			boothFirst := rb.firstFrameAt()
			toBooth = append(toBooth, boothFirst.Sub(admitted))
			cc.close()
			cl.send(signalling.TypeEnd, &signalling.End{CallID: cc.ID, Reason: signalling.EndHangup})
			rb.waitFor(b, "idle", func(s booth.Snapshot) bool { return s.State == booth.Idle })
			b.Logf("join %d: clinician sees the booth after %v, the booth sees the clinician after %v", i+1, toClinician[i].Round(time.Millisecond), toBooth[i].Round(time.Millisecond))
		}
		slices.Sort(toClinician)
		slices.Sort(toBooth)
		p50, p95 := percentile(toClinician, 0.5), percentile(toClinician, 0.95)
		bp50, bp95 := percentile(toBooth, 0.5), percentile(toBooth, 0.95)
		b.ReportMetric(float64(p50.Milliseconds()), "join-p50-ms")
		b.ReportMetric(float64(p95.Milliseconds()), "join-p95-ms")
		fmt.Printf("join (admit -> first decoded frame), %d joins, 640x480 30 fps loopback:\n", joins)
		fmt.Printf("  clinician sees booth: p50 %v  p95 %v  (target p50 <= 500ms: %.2fx of target)\n", p50.Round(time.Millisecond), p95.Round(time.Millisecond), float64(p50)/float64(500*time.Millisecond))
		fmt.Printf("  booth sees clinician: p50 %v  p95 %v\n", bp50.Round(time.Millisecond), bp95.Round(time.Millisecond))
	}
}

// BenchmarkBoothdCall runs boothd as its own process (the real binary, test sources) in a
// 640x480 30 fps loopback call for 30 s and reads its CPU time and peak RSS from /proc.
// Target: peak RSS at most 80 MB.
func BenchmarkBoothdCall(b *testing.B) {
	callFor := 30 * time.Second
	if s := os.Getenv("BENCH_CALL_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("BENCH_CALL_SECONDS=%q: %v", s, err)
		}
		callFor = time.Duration(n) * time.Second
	}
	bin := buildBoothd(b)
	for range b.N {
		e := startSwitchboard(b)
		admin := e.admin(b)
		if _, err := admin.CancelAppointment(context.Background(), e.Demo.AppointmentID); err != nil {
			b.Fatalf("cancel the demo appointment: %v", err)
		}
		appt := e.book(b, admin, time.Now().Add(3*time.Second))
		dir := b.TempDir()
		cfg := filepath.Join(dir, "boothd.toml")
		conf := fmt.Sprintf(`[switchboard]
url = %q
token_file = %q
[device]
name = "bench-booth"
join_mode = "auto"
[state]
dir = %q
[media]
video = "test"
audio = "test"
width = 640
height = 480
fps = 30
video_bitrate_kbps = 1000
[metrics]
listen = "127.0.0.1:0"
[log]
format = "text"
level = "warn"
`, e.URL, e.Demo.DeviceTokenFile, dir)
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(bin, "-config", cfg, "-keyboard=false")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		})
		cl := e.dialClinician(b)
		cl.expect(signalling.TypeQueue, func(m any) bool {
			q := m.(*signalling.Queue)
			return len(q.Entries) == 1 && q.Entries[0].AppointmentID == appt
		})
		cc := cl.admit(appt, vga)
		cl.pump(cc)
		eventually(b, "the booth's first frame", func() bool { return cc.frames.Load() > 0 })
		cpu0, err := procCPU(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		time.Sleep(callFor)
		cpu1, err := procCPU(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)
		hwm, err := procStatusKB(cmd.Process.Pid, "VmHWM")
		if err != nil {
			b.Fatal(err)
		}
		frames := cc.frames.Load()
		cc.close()
		cpuPct := 100 * float64(cpu1-cpu0) / float64(wall)
		b.ReportMetric(cpuPct, "boothd-cpu-%")
		b.ReportMetric(float64(hwm)/1024, "boothd-peak-rss-MB")
		fmt.Printf("boothd in a %v 640x480 30 fps loopback call (%d frames reached the clinician, %.1f fps):\n", callFor, frames, float64(frames)/wall.Seconds())
		fmt.Printf("  CPU %.1f%% of one core (this machine: %d cores)\n", cpuPct, runtime.NumCPU())
		fmt.Printf("  peak RSS %.1f MB (target <= 80 MB: %.2fx of target)\n", float64(hwm)/1024, float64(hwm)/1024/80)
	}
}

// buildBoothd builds cmd/boothd into a temporary directory with the go that runs the test.
func buildBoothd(tb testing.TB) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "boothd")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/carebooth/carebooth/cmd/boothd")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build boothd: %v\n%s", err, msg)
	}
	return out
}

// procCPU returns the process's user+system CPU time from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are fields 14 and 15.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: %v %v", pid, err1, err2)
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck, nil
}

// procStatusKB returns a kB field (VmHWM, VmRSS) of /proc/PID/status.
func procStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == field {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
