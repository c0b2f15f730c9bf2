package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/signalling"
)

// thermalZone is the Pi's SoC temperature in millidegrees Celsius.
const thermalZone = "/sys/class/thermal/thermal_zone0/temp"

// readFile reads a small file; os.ReadFile in boothd, a map in tests.
type readFile func(name string) ([]byte, error)

// boothHealth is what boothd puts in its heartbeat: what it actually opened at start,
// the free space in its state directory and the Pi's temperature when there is one.
type boothHealth struct {
	clock    clockwork.Clock
	started  time.Time
	camera   bool
	mic      bool
	speaker  bool
	problem  string // the fault the screen shows, "" when none
	stateDir string
	read     readFile
	diskFree func(dir string) (int64, error)
}

var _ booth.HealthSource = (*boothHealth)(nil)

func (h *boothHealth) Health() signalling.Heartbeat {
	hb := signalling.Heartbeat{
		Version:       version.String(),
		UptimeSeconds: int64(h.clock.Since(h.started) / time.Second),
		Camera:        h.camera,
		Microphone:    h.mic,
		Speaker:       h.speaker,
	}
	if h.problem != "" {
		hb.State, hb.LastError = signalling.StateFault, truncate(h.problem, 500)
	}
	if n, err := h.diskFree(h.stateDir); err == nil {
		hb.DiskFreeBytes = &n
	}
	if t, ok := h.temperature(); ok {
		hb.TempCelsius = &t
	}
	return hb
}

// temperature reads thermal_zone0, ok false off a Pi or when it reads nonsense.
func (h *boothHealth) temperature() (float64, bool) {
	b, err := h.read(filepath.FromSlash(thermalZone))
	if err != nil {
		return 0, false
	}
	milli, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false
	}
	c := float64(milli) / 1000
	if c < -60 || c > 150 {
		return 0, false
	}
	return c, true
}

// truncate cuts s to at most n bytes at a character boundary: the switchboard refuses
// text that is not UTF-8.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// osReadFile is readFile on the real file system.
func osReadFile(name string) ([]byte, error) { return os.ReadFile(name) }
