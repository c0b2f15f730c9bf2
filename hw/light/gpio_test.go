package light

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/physic"
)

const hang = 20 * time.Second // bounds waits so a bug fails instead of hanging

// onOffPin is a line without PWM, as the Linux GPIO character device gives.
type onOffPin struct{ *gpiotest.Pin }

func (p onOffPin) PWM(gpio.Duty, physic.Frequency) error {
	return errors.New("PWM() not implemented")
}

// lightHarness plays patterns on gpiotest pins with a fake clock, one loop step at a time.
type lightHarness struct {
	t        *testing.T
	clock    *clockwork.FakeClock
	g        *GPIO
	r, gr, b *gpiotest.Pin
	steps    chan step
	last     step
	done     chan error
	cancel   context.CancelFunc
}

type step struct {
	next  time.Time
	armed bool
}

func newLightHarness(t *testing.T, pwm, activeLow bool, colours string) *lightHarness {
	t.Helper()
	h := &lightHarness{
		t:     t,
		clock: clockwork.NewFakeClockAt(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)),
		steps: make(chan step, 1),
		done:  make(chan error, 1),
	}
	cfg := GPIOConfig{ActiveLow: activeLow}
	wrap := func(p *gpiotest.Pin) gpio.PinOut {
		if pwm {
			return p
		}
		return onOffPin{p}
	}
	for _, c := range colours {
		switch c {
		case 'r':
			h.r = &gpiotest.Pin{N: "GPIO5", Num: 5}
			cfg.Red = wrap(h.r)
		case 'g':
			h.gr = &gpiotest.Pin{N: "GPIO6", Num: 6}
			cfg.Green = wrap(h.gr)
		case 'b':
			h.b = &gpiotest.Pin{N: "GPIO13", Num: 13}
			cfg.Blue = wrap(h.b)
		}
	}
	g, err := NewGPIO(cfg, h.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.stepped = func(next time.Time, armed bool) { h.steps <- step{next, armed} }
	h.g = g
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- g.Run(ctx) }()
	t.Cleanup(func() { h.stop() })
	h.wait()
	return h
}

func (h *lightHarness) stop() {
	h.cancel()
	for {
		select {
		case <-h.steps:
		case err := <-h.done:
			if err != nil {
				h.t.Errorf("Run: got %v, want nil", err)
			}
			h.done <- nil // stop is idempotent
			return
		case <-time.After(hang):
			h.t.Error("Run did not return after cancel")
			return
		}
	}
}

func (h *lightHarness) wait() {
	h.t.Helper()
	select {
	case h.last = <-h.steps:
	case <-time.After(hang):
		h.t.Fatal("the light's loop did not come round")
	}
}

func (h *lightHarness) show(p Pattern) {
	h.t.Helper()
	h.g.Show(p)
	h.wait()
}

// advance moves the fake clock by d, stopping at each step the light armed.
func (h *lightHarness) advance(d time.Duration) {
	h.t.Helper()
	end := h.clock.Now().Add(d)
	for h.last.armed && !h.last.next.After(end) {
		h.clock.Advance(h.last.next.Sub(h.clock.Now()))
		h.wait()
	}
	h.clock.Advance(end.Sub(h.clock.Now()))
}

// lines describes the pins: levels as 0/1, or duties in percent with PWM.
func (h *lightHarness) lines(pwm bool) string {
	s := ""
	for _, p := range []*gpiotest.Pin{h.r, h.gr, h.b} {
		if p == nil {
			s += "- "
			continue
		}
		p.Lock()
		if pwm {
			s += fmt.Sprintf("%d%%", (int64(p.D)*100+int64(gpio.DutyMax)/2)/int64(gpio.DutyMax))
		} else if p.L {
			s += "1"
		} else {
			s += "0"
		}
		p.Unlock()
		s += " "
	}
	return s
}

func (h *lightHarness) expect(pwm bool, want string) {
	h.t.Helper()
	if got := h.lines(pwm); got != want {
		h.t.Errorf("at %s: got lines %q, want %q", h.clock.Now().Format("15:04:05.000"), got, want)
	}
}

func TestGPIOOnOffBlinks(t *testing.T) {
	h := newLightHarness(t, false, false, "rgb")
	h.expect(false, "0 0 0 ") // dark until told
	h.show(For(Status{State: JoinWindow}))
	h.expect(false, "0 1 0 ") // green, on at once
	h.advance(499 * time.Millisecond)
	h.expect(false, "0 1 0 ")
	h.advance(time.Millisecond)
	h.expect(false, "0 0 0 ")
	h.advance(500 * time.Millisecond)
	h.expect(false, "0 1 0 ")
	// The same pattern again does not restart the cycle.
	h.advance(200 * time.Millisecond)
	h.show(For(Status{State: JoinWindow}))
	h.advance(300 * time.Millisecond)
	h.expect(false, "0 0 0 ")

	// Offline: amber (red and green without PWM) double flash.
	h.show(For(Status{State: JoinWindow, Offline: true}))
	want := []struct {
		at    time.Duration
		lines string
	}{{0, "1 1 0 "}, {150, "0 0 0 "}, {300, "1 1 0 "}, {450, "0 0 0 "}, {2000, "1 1 0 "}, {2149, "1 1 0 "}, {2150, "0 0 0 "}}
	var at time.Duration
	for _, w := range want {
		h.advance(w.at*time.Millisecond - at)
		at = w.at * time.Millisecond
		h.expect(false, w.lines)
	}
	// A steady pattern arms no timer.
	h.show(For(Status{State: InCall}))
	h.expect(false, "0 0 1 ")
	if h.last.armed {
		t.Error("got a timer armed for a steady pattern, want none")
	}
	h.advance(time.Hour)
	h.expect(false, "0 0 1 ")
}

func TestGPIOPWMDuty(t *testing.T) {
	h := newLightHarness(t, true, false, "rgb")
	h.expect(true, "0% 0% 0% ")
	h.show(For(Status{State: Idle}))
	h.expect(true, "20% 20% 20% ") // dim white
	h.show(For(Status{State: InCall, Muted: true}))
	h.expect(true, "100% 31% 0% ") // amber mixed: red with a little green
	h.advance(1800 * time.Millisecond)
	h.expect(true, "0% 0% 0% ") // the wink
	h.advance(200 * time.Millisecond)
	h.expect(true, "100% 31% 0% ")
	for _, p := range []*gpiotest.Pin{h.r, h.gr, h.b} {
		p.Lock()
		f := p.F
		p.Unlock()
		if f != DefaultPWMFrequency {
			t.Errorf("%s: got PWM at %s, want %s", p, f, DefaultPWMFrequency)
		}
	}
}

func TestGPIOActiveLow(t *testing.T) {
	t.Run("on/off", func(t *testing.T) {
		h := newLightHarness(t, false, true, "rgb")
		h.expect(false, "1 1 1 ") // dark: every line high
		h.show(For(Status{State: InCall}))
		h.expect(false, "1 1 0 ") // blue lit by driving its line low
	})
	t.Run("PWM", func(t *testing.T) {
		h := newLightHarness(t, true, true, "rgb")
		h.expect(true, "100% 100% 100% ")
		h.show(For(Status{State: Idle}))
		h.expect(true, "80% 80% 80% ")
	})
}

func TestGPIOMissingColours(t *testing.T) {
	// A light with only a green LED still shows the rhythm of a blue pattern.
	h := newLightHarness(t, false, false, "g")
	h.show(For(Status{State: Waiting}))
	h.expect(false, "- 1 - ")
	h.advance(300 * time.Millisecond)
	h.expect(false, "- 0 - ")
	// Red and green without blue: green shows on green alone.
	h2 := newLightHarness(t, false, false, "rg")
	h2.show(For(Status{State: JoinWindow}))
	h2.expect(false, "0 1 - ")
}

func TestGPIORunTurnsOffAndStops(t *testing.T) {
	before := runtime.NumGoroutine()
	h := newLightHarness(t, false, false, "rgb")
	h.show(For(Status{Help: true}))
	h.expect(false, "1 1 1 ")
	h.stop()
	h.expect(false, "0 0 0 ")
	if err := h.g.Run(context.Background()); err == nil {
		t.Error("second Run: got nil, want an error")
	}
	deadline := time.Now().Add(hang)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("got %d goroutines after Run returned, want at most %d", n, before)
	}
}

func TestNewGPIONeedsALine(t *testing.T) {
	if _, err := NewGPIO(GPIOConfig{}, nil, nil); err == nil {
		t.Error("got nil, want an error for a light with no lines")
	}
}
