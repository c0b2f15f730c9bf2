package button

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// hang bounds every wait in these tests so a bug fails instead of hanging; no test asserts
// how fast anything happens.
const hang = 20 * time.Second

// harness runs a GPIO source on gpiotest pins with a fake clock. Every step is synchronous:
// edge returns once Run's loop has handled the edge, advance steps the clock through each
// deadline in order and waits for the loop each time, so what Run sends is in out by then.
type harness struct {
	t     *testing.T
	clock *clockwork.FakeClock
	t0    time.Time
	pins  map[Button]*gpiotest.Pin
	cfg   map[Button]GPIOPin
	g     *GPIO
	out   chan Event
	steps chan step
	last  step
	stop  context.CancelFunc
	done  chan error
}

type step struct {
	next  time.Time
	armed bool
}

func newHarness(t *testing.T, pins ...GPIOPin) *harness {
	t.Helper()
	return newHarnessEncoder(t, nil, pins...)
}

// Keys of the encoder's lines in harness.pins.
const (
	encA Button = "encoder_a"
	encB Button = "encoder_b"
)

// newHarnessEncoder is newHarness with a rotary encoder too (its A and B lines are made
// here, in h.pins as encA and encB) if enc is not nil.
func newHarnessEncoder(t *testing.T, enc *GPIOEncoder, pins ...GPIOPin) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		t0:    time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC),
		pins:  map[Button]*gpiotest.Pin{},
		cfg:   map[Button]GPIOPin{},
		out:   make(chan Event, 64),
		steps: make(chan step, 1),
		done:  make(chan error, 1),
	}
	h.clock = clockwork.NewFakeClockAt(h.t0)
	var cfg GPIOConfig
	for i, p := range pins {
		// The pins keep the real clock: WaitForEdge's timeout is EdgePoll of real time,
		// as on a device. The source's own timing runs on the fake clock.
		pin := &gpiotest.Pin{N: "GPIO" + string(rune('A'+i)), Num: 17 + i, EdgesChan: make(chan gpio.Level)}
		p.Pin = pin
		h.pins[p.Button] = pin
		h.cfg[p.Button] = p
		cfg.Pins = append(cfg.Pins, p)
	}
	if enc != nil {
		a := &gpiotest.Pin{N: "ENC_A", Num: 20, EdgesChan: make(chan gpio.Level)}
		b := &gpiotest.Pin{N: "ENC_B", Num: 21, EdgesChan: make(chan gpio.Level)}
		enc.A, enc.B = a, b
		h.pins[encA], h.pins[encB] = a, b
		cfg.Encoder = enc
	}
	cfg.EdgePoll = 20 * time.Millisecond
	g, err := NewGPIO(cfg, h.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.stepped = func(next time.Time, armed bool) { h.steps <- step{next, armed} }
	h.g = g
	return h
}

// start runs the source; the returned harness is stopped at the end of the test.
func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.done <- h.g.Run(ctx, h.out) }()
	h.t.Cleanup(func() {
		cancel()
		// The loop may be blocked handing the test a step.
		for {
			select {
			case <-h.steps:
				continue
			case err := <-h.done:
				if err != nil {
					h.t.Errorf("Run: got %v, want nil", err)
				}
				return
			case <-time.After(hang):
				h.t.Error("Run did not return after cancel")
				return
			}
		}
	})
	h.wait()
}

func (h *harness) wait() {
	h.t.Helper()
	select {
	case h.last = <-h.steps:
	case <-time.After(hang):
		h.t.Fatal("the source's loop did not come round")
	}
}

// set drives b's line to pressed or released (through its active level) with one edge.
func (h *harness) set(b Button, pressed bool) {
	h.t.Helper()
	level := gpio.Level(pressed)
	if h.cfg[b].ActiveLow {
		level = !level
	}
	h.raw(b, level)
}

// raw sends one edge leaving b's line at level.
func (h *harness) raw(b Button, level gpio.Level) {
	h.t.Helper()
	select {
	case h.pins[b].EdgesChan <- level:
	case <-time.After(hang):
		h.t.Fatalf("%s: nobody is waiting for an edge", b)
	}
	h.wait()
}

// advance moves the fake clock on by d, stopping at each deadline the loop armed.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	end := h.clock.Now().Add(d)
	for h.last.armed && !h.last.next.After(end) {
		h.clock.Advance(h.last.next.Sub(h.clock.Now()))
		h.wait()
	}
	h.clock.Advance(end.Sub(h.clock.Now()))
}

// events returns what Run has sent so far, as offsets from t0.
func (h *harness) events() []string {
	var got []string
	for {
		select {
		case ev := <-h.out:
			got = append(got, ev.String()+" at "+ev.At.Sub(h.t0).String())
		default:
			return got
		}
	}
}

func (h *harness) expect(want ...string) {
	h.t.Helper()
	if got := h.events(); !slices.Equal(got, want) {
		h.t.Errorf("got %q, want %q", got, want)
	}
}

func TestGPIOBounceIsOnePress(t *testing.T) {
	h := newHarness(t, GPIOPin{Button: Join, ActiveLow: true, Pull: gpio.PullUp})
	h.start()
	for i, pressed := range []bool{true, false, true, false, true} {
		h.set(Join, pressed)
		if i < 4 {
			h.advance(2 * time.Millisecond)
		}
	}
	h.advance(29 * time.Millisecond)
	h.expect() // 29 ms after the last bounce: not yet
	h.advance(time.Millisecond)
	h.expect("join press at 38ms")
	// Release, bouncing.
	h.advance(500 * time.Millisecond)
	for _, pressed := range []bool{false, true, false} {
		h.set(Join, pressed)
		h.advance(time.Millisecond)
	}
	h.advance(time.Second)
	h.expect()
}

func TestGPIOGlitchIsNothing(t *testing.T) {
	h := newHarness(t, GPIOPin{Button: Help, ActiveLow: true, Pull: gpio.PullUp})
	h.start()
	h.set(Help, true)
	h.advance(10 * time.Millisecond)
	h.set(Help, false)
	h.advance(5 * time.Second)
	// An edge that leaves the line where it was (a spike the kernel saw but Read does not).
	h.set(Help, false)
	h.advance(5 * time.Second)
	h.expect()
	if h.last.armed {
		t.Errorf("got a timer armed for %v after the glitch settled, want none", h.last.next.Sub(h.t0))
	}
}

func TestGPIOLongPress(t *testing.T) {
	h := newHarness(t, GPIOPin{Button: End, ActiveLow: true, Pull: gpio.PullUp, LongPress: true})
	h.start()
	h.set(End, true)
	h.advance(2999 * time.Millisecond)
	h.expect() // held, not yet long: nothing, not even a Press
	h.advance(time.Millisecond)
	h.expect("end long_press at 3s")
	h.advance(10 * time.Second)
	h.set(End, false)
	h.advance(time.Second)
	h.expect() // letting go after a long press is not a press

	// A short press of the same button is a Press, sent on release.
	h.set(End, true)
	h.advance(500 * time.Millisecond)
	h.expect()
	h.set(End, false)
	h.advance(time.Second)
	h.expect("end press at 14.53s")
}

func TestGPIOActiveLevels(t *testing.T) {
	for _, activeLow := range []bool{true, false} {
		name := "active high"
		pull := gpio.PullDown
		if activeLow {
			name, pull = "active low", gpio.PullUp
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, GPIOPin{Button: Mute, ActiveLow: activeLow, Pull: pull})
			if got := h.pins[Mute].Pull(); got != pull {
				t.Errorf("pull: got %s, want %s", got, pull)
			}
			h.start()
			// The wrong level for pressed is nothing...
			h.raw(Mute, gpio.Level(activeLow))
			h.advance(time.Second)
			h.expect()
			// ...the right one is a press.
			h.raw(Mute, gpio.Level(!activeLow))
			h.advance(time.Second)
			h.expect("mute press at 1.03s")
		})
	}
}

func TestGPIOPressedAtStartIsIgnoredUntilReleased(t *testing.T) {
	// Active high with a pull-up: the line reads pressed from the start, as a jammed button
	// or a wrong active_low would.
	h := newHarness(t, GPIOPin{Button: End, Pull: gpio.PullUp, LongPress: true})
	h.start()
	h.advance(10 * time.Second)
	h.expect() // no LongPress however long it stays that way
	h.set(End, false)
	h.advance(time.Second)
	h.expect() // its release is not a press
	h.set(End, true)
	h.advance(100 * time.Millisecond)
	h.set(End, false)
	h.advance(time.Second)
	h.expect("end press at 11.13s")
}

func TestGPIOSeveralButtonsAtOnce(t *testing.T) {
	h := newHarness(t,
		GPIOPin{Button: Join, ActiveLow: true, Pull: gpio.PullUp},
		GPIOPin{Button: End, ActiveLow: true, Pull: gpio.PullUp, LongPress: true},
		GPIOPin{Button: VolumeUp, ActiveLow: true, Pull: gpio.PullUp},
		GPIOPin{Button: VolumeDown, ActiveLow: true, Pull: gpio.PullUp},
	)
	h.start()
	// End held for a long press while Join bounces and both volume buttons are pressed.
	h.set(End, true)
	h.advance(time.Millisecond)
	h.set(Join, true)
	h.set(VolumeUp, true)
	h.set(VolumeDown, true)
	h.advance(time.Millisecond)
	h.set(Join, false) // bounce
	h.advance(time.Millisecond)
	h.set(Join, true)
	h.advance(time.Second)
	h.set(Join, false)
	h.set(VolumeUp, false)
	h.set(VolumeDown, false)
	h.advance(3 * time.Second)
	h.set(End, false)
	h.advance(time.Second)
	h.expect(
		"volume_up press at 31ms",
		"volume_down press at 31ms",
		"join press at 33ms",
		"end long_press at 3s",
	)
}

func TestGPIORepeat(t *testing.T) {
	h := newHarness(t, GPIOPin{Button: VolumeUp, ActiveLow: true, Pull: gpio.PullUp, Repeat: true})
	h.start()
	h.set(VolumeUp, true)
	h.advance(1500 * time.Millisecond)
	h.set(VolumeUp, false)
	h.advance(5 * time.Second)
	h.expect("volume_up press at 30ms", "volume_up press at 630ms", "volume_up press at 930ms", "volume_up press at 1.23s")
}

func TestGPIOEncoder(t *testing.T) {
	h := newHarnessEncoder(t, &GPIOEncoder{ActiveLow: true, Pull: gpio.PullUp},
		GPIOPin{Button: Mute, ActiveLow: true, Pull: gpio.PullUp})
	h.start()
	// Active low: a closed contact is low. Clockwise the state ab goes 00 -> 01 -> 11 ->
	// 10 -> 00: B closes first.
	turn := func(clockwise bool, bounce bool) {
		first, second := encB, encA
		if !clockwise {
			first, second = encA, encB
		}
		closed, open := gpio.Low, gpio.High
		h.raw(first, closed)
		if bounce {
			h.raw(first, open)
			h.raw(first, closed)
		}
		h.raw(second, closed)
		h.raw(first, open)
		h.raw(second, open)
		h.advance(10 * time.Millisecond)
	}
	turn(true, false)
	turn(true, true)
	turn(false, false)
	// A button pressed while the knob turns is still a press.
	h.set(Mute, true)
	turn(false, true)
	h.advance(time.Second)
	h.set(Mute, false)
	h.advance(time.Second)
	h.expect(
		"volume_up press at 0s",
		"volume_up press at 10ms",
		"volume_down press at 20ms",
		"volume_down press at 30ms",
		"mute press at 60ms",
	)
}

func TestGPIORunStopsOnCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	var pins []GPIOPin
	for _, b := range All {
		pins = append(pins, GPIOPin{Button: b, Pin: &gpiotest.Pin{N: string(b), EdgesChan: make(chan gpio.Level)}, ActiveLow: true, Pull: gpio.PullUp})
	}
	// A long EdgePoll would make Run slow to stop but still correct; the default is used.
	g, err := NewGPIO(GPIOConfig{Pins: pins}, clockwork.NewFakeClock(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, make(chan Event)) }()
	// One edge shows Run is up; then every watcher is blocked in WaitForEdge with no edge
	// coming, and the fake clock never moves.
	pins[0].Pin.(*gpiotest.Pin).EdgesChan <- gpio.Low
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: got %v, want nil", err)
		}
	case <-time.After(hang):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if err := g.Run(context.Background(), nil); err == nil {
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

func TestNewGPIORefuses(t *testing.T) {
	pin := func(n string) *gpiotest.Pin { return &gpiotest.Pin{N: n, EdgesChan: make(chan gpio.Level)} }
	shared := pin("GPIO17")
	tests := []struct {
		name string
		cfg  GPIOConfig
		want string
	}{
		{"no buttons", GPIOConfig{}, "no buttons"},
		{"no pin", GPIOConfig{Pins: []GPIOPin{{Button: Join}}}, "button join: no pin"},
		{"button twice", GPIOConfig{Pins: []GPIOPin{{Button: Join, Pin: pin("GPIO5")}, {Button: Join, Pin: pin("GPIO6")}}}, "button join: wired twice"},
		{"pin twice", GPIOConfig{Pins: []GPIOPin{{Button: Join, Pin: shared}, {Button: End, Pin: shared}}}, "buttons join and end: both on GPIO17"},
		{"long press too short", GPIOConfig{Pins: []GPIOPin{{Button: Join, Pin: pin("GPIO5")}}, Debounce: 50 * time.Millisecond, LongPress: 40 * time.Millisecond}, "long press 40ms"},
		{"debounce too long", GPIOConfig{Pins: []GPIOPin{{Button: Join, Pin: pin("GPIO5")}}, Debounce: 2 * time.Second, LongPress: 5 * time.Second}, "debounce 2s"},
		{"repeat and long press", GPIOConfig{Pins: []GPIOPin{{Button: End, Pin: pin("GPIO5"), LongPress: true, Repeat: true}}}, "button end: cannot both repeat and have a long press"},
		{"encoder without B", GPIOConfig{Encoder: &GPIOEncoder{A: pin("GPIO20")}}, "encoder: needs both lines"},
		{"encoder steps", GPIOConfig{Encoder: &GPIOEncoder{A: pin("GPIO20"), B: pin("GPIO21"), StepsPerClick: 3}}, "3 steps per click"},
		{"encoder on a button's pin", GPIOConfig{Pins: []GPIOPin{{Button: Mute, Pin: shared}}, Encoder: &GPIOEncoder{A: pin("GPIO20"), B: shared}}, "mute and encoder B: both on GPIO17"},
		{"no edges", GPIOConfig{Pins: []GPIOPin{{Button: Join, Pin: &gpiotest.Pin{N: "GPIO9"}}}}, "button join: configure line GPIO9 as an input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGPIO(tt.cfg, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if tt.name != "no edges" && !errors.Is(err, ErrConfig) {
				t.Errorf("got %v, want it to match ErrConfig", err)
			}
		})
	}
}
