package button

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
)

// Defaults for GPIOConfig's zero fields.
const (
	DefaultDebounce  = 30 * time.Millisecond
	DefaultLongPress = 3 * time.Second
	// DefaultEdgePoll bounds how long one WaitForEdge blocks. periph's WaitForEdge cannot be
	// cancelled, so this is also how long Run may take to return after its context ends.
	DefaultEdgePoll = 100 * time.Millisecond
	// DefaultRepeatDelay and DefaultRepeatInterval: a held volume button presses again
	// after the delay, then at the interval, so holding + keeps turning it up.
	DefaultRepeatDelay    = 600 * time.Millisecond
	DefaultRepeatInterval = 300 * time.Millisecond
)

// GPIOPin wires one button to one GPIO line.
type GPIOPin struct {
	Button Button
	// Pin is the line, from gpioioctl on a device and gpiotest.Pin in tests. Run only
	// reads it: In is called once by NewGPIO, then Read and WaitForEdge.
	Pin gpio.PinIn
	// ActiveLow: the line reads low while the button is pressed (a switch to ground with
	// a pull-up, the usual wiring). Otherwise it reads high while pressed.
	ActiveLow bool
	// Pull is the line's bias. gpio.PullNoChange leaves the kernel's setting (an external
	// resistor); gpio.Float switches the bias off.
	Pull gpio.Pull
	// LongPress: the button has a long press (End: hold to cancel). See Run.
	LongPress bool
	// Repeat: the button presses again while held (the volume buttons). Not with
	// LongPress.
	Repeat bool
}

// GPIOEncoder wires a quadrature rotary encoder (a volume knob) to two GPIO lines. Each
// click turning it clockwise presses Clockwise, anticlockwise Anticlockwise. If it counts
// the wrong way round, swap A and B.
type GPIOEncoder struct {
	A, B gpio.PinIn
	// ActiveLow: a closed contact reads low (the common pin to ground, the usual wiring).
	ActiveLow bool
	Pull      gpio.Pull
	// StepsPerClick is 4 (most encoders; default) or 2 (half-step encoders).
	StepsPerClick int
	// Clockwise and Anticlockwise default to VolumeUp and VolumeDown.
	Clockwise, Anticlockwise Button
}

// GPIOConfig configures a GPIO source.
type GPIOConfig struct {
	Pins []GPIOPin
	// Encoder, if not nil, is a rotary encoder read along with the buttons.
	Encoder *GPIOEncoder
	// Debounce is how long a line must be quiet before its level counts. Default
	// DefaultDebounce; contacts of big arcade-style buttons bounce for up to ~10 ms.
	Debounce time.Duration
	// LongPress is how long a button with a long press must be held. Default
	// DefaultLongPress.
	LongPress time.Duration
	// EdgePoll bounds each WaitForEdge. Default DefaultEdgePoll.
	EdgePoll time.Duration
	// RepeatDelay and RepeatInterval time the presses of a held button with Repeat.
	// Defaults DefaultRepeatDelay and DefaultRepeatInterval.
	RepeatDelay, RepeatInterval time.Duration
}

// ErrConfig matches every configuration error from NewGPIO with errors.Is.
var ErrConfig = errors.New("button: bad GPIO configuration")

// GPIO is a Source reading buttons wired to GPIO lines, debounced with an injected clock.
type GPIO struct {
	cfg    GPIOConfig
	clock  clockwork.Clock
	log    *slog.Logger
	active []gpio.Level // the level that means pressed, per pin
	lines  []gpio.PinIn // the buttons' lines, then the encoder's A and B

	// stepped, when set (tests only), is called each time Run's loop is about to block,
	// with the deadline its timer is armed for (armed false: no timer).
	stepped func(next time.Time, armed bool)

	runOnce sync.Once
}

var _ Source = (*GPIO)(nil)

// NewGPIO checks cfg and configures each line as an input with its pull and edge detection
// on both edges. clock defaults to the real clock and logger to slog.Default().
func NewGPIO(cfg GPIOConfig, clock clockwork.Clock, logger *slog.Logger) (*GPIO, error) {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.LongPress == 0 {
		cfg.LongPress = DefaultLongPress
	}
	if cfg.EdgePoll == 0 {
		cfg.EdgePoll = DefaultEdgePoll
	}
	if cfg.RepeatDelay == 0 {
		cfg.RepeatDelay = DefaultRepeatDelay
	}
	if cfg.RepeatInterval == 0 {
		cfg.RepeatInterval = DefaultRepeatInterval
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case len(cfg.Pins) == 0 && cfg.Encoder == nil:
		return nil, bad("no buttons")
	case cfg.Debounce < 0 || cfg.Debounce > time.Second:
		return nil, bad("debounce %s: must be between 0s and 1s", cfg.Debounce)
	case cfg.LongPress <= cfg.Debounce:
		return nil, bad("long press %s: must be longer than the debounce interval %s", cfg.LongPress, cfg.Debounce)
	case cfg.EdgePoll < 0:
		return nil, bad("edge poll %s: must be positive", cfg.EdgePoll)
	case cfg.RepeatDelay < 0 || cfg.RepeatInterval < 100*time.Millisecond:
		return nil, bad("repeat every %s after %s: the interval must be 100ms or more", cfg.RepeatInterval, cfg.RepeatDelay)
	}
	buttons := map[Button]bool{}
	pins := map[string]Button{}
	for _, p := range cfg.Pins {
		if p.Pin == nil {
			return nil, bad("button %s: no pin", p.Button)
		}
		if buttons[p.Button] {
			return nil, bad("button %s: wired twice", p.Button)
		}
		if p.Repeat && p.LongPress {
			return nil, bad("button %s: cannot both repeat and have a long press", p.Button)
		}
		buttons[p.Button] = true
		if other, ok := pins[lineID(p.Pin)]; ok {
			return nil, bad("buttons %s and %s: both on %s", other, p.Button, p.Pin.Name())
		}
		pins[lineID(p.Pin)] = p.Button
	}
	if e := cfg.Encoder; e != nil {
		enc := *e
		if enc.StepsPerClick == 0 {
			enc.StepsPerClick = 4
		}
		if enc.Clockwise == "" {
			enc.Clockwise = VolumeUp
		}
		if enc.Anticlockwise == "" {
			enc.Anticlockwise = VolumeDown
		}
		if enc.A == nil || enc.B == nil {
			return nil, bad("encoder: needs both lines, A and B")
		}
		if enc.StepsPerClick != 2 && enc.StepsPerClick != 4 {
			return nil, bad("encoder: %d steps per click: must be 2 or 4", enc.StepsPerClick)
		}
		for _, l := range []struct {
			name string
			pin  gpio.PinIn
		}{{"encoder A", enc.A}, {"encoder B", enc.B}} {
			if other, ok := pins[lineID(l.pin)]; ok {
				return nil, bad("%s and %s: both on %s", other, l.name, l.pin.Name())
			}
			pins[lineID(l.pin)] = Button(l.name)
		}
		cfg.Encoder = &enc
	}
	g := &GPIO{cfg: cfg, clock: clock, log: logger.With("component", "button")}
	configure := func(what string, pin gpio.PinIn, pull gpio.Pull, activeLow bool) error {
		if err := pin.In(pull, gpio.BothEdges); err != nil {
			return fmt.Errorf("%s: configure line %s as an input: %w", what, pin.Name(), err)
		}
		level := gpio.High
		if activeLow {
			level = gpio.Low
		}
		g.active = append(g.active, level)
		g.lines = append(g.lines, pin)
		return nil
	}
	for _, p := range cfg.Pins {
		if err := configure("button "+string(p.Button), p.Pin, p.Pull, p.ActiveLow); err != nil {
			return nil, err
		}
	}
	if e := cfg.Encoder; e != nil {
		if err := configure("encoder A", e.A, e.Pull, e.ActiveLow); err != nil {
			return nil, err
		}
		if err := configure("encoder B", e.B, e.Pull, e.ActiveLow); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Run sends debounced presses on out until ctx is done, then returns nil. It may be called
// once; a second call returns an error.
//
// Each line is watched by its own goroutine, blocked in WaitForEdge for at most EdgePoll at
// a time and checking ctx in between; an edge only wakes the loop, which owns all the
// state and the one timer. A button without a long press sends Press once it has been
// pressed for the debounce interval; a button with one sends Press when released before
// the threshold and LongPress when held past it. A button with Repeat presses again
// while held, after RepeatDelay and then every RepeatInterval. A button that reads
// pressed when Run starts is ignored (and logged) until it is released: it is jammed,
// held, or its active level is configured wrongly.
func (g *GPIO) Run(ctx context.Context, out chan<- Event) error {
	first := false
	g.runOnce.Do(func() { first = true })
	if !first {
		return errors.New("button: GPIO source run twice")
	}

	ctx, cancel := context.WithCancel(ctx)
	edges := make(chan int)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()

	deb := make([]debouncer, len(g.cfg.Pins))
	for i, p := range g.cfg.Pins {
		deb[i] = debouncer{quiet: g.cfg.Debounce}
		if p.LongPress {
			deb[i].hold = g.cfg.LongPress
		}
		if p.Repeat {
			deb[i].repeatAfter, deb[i].repeatEvery = g.cfg.RepeatDelay, g.cfg.RepeatInterval
		}
		if g.pressed(i) {
			deb[i].start(true)
			g.log.Warn("button reads pressed at start; ignoring it until it is released (check buttons.active_low and the wiring)",
				"button", string(p.Button), "line", p.Pin.Name())
		}
	}
	var enc *quadrature
	if e := g.cfg.Encoder; e != nil {
		enc = &quadrature{steps: e.StepsPerClick}
		enc.sample(g.pressed(len(deb)), g.pressed(len(deb)+1))
	}
	for i := range g.lines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.watch(ctx, i, edges)
		}()
	}

	var timer clockwork.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		// Arm the timer for the earliest deadline. Every deadline is after now: due has
		// handled all that had passed.
		if timer != nil {
			timer.Stop()
			timer = nil
		}
		var timerC <-chan time.Time
		next, armed := earliest(deb)
		if armed {
			timer = g.clock.NewTimer(g.clock.Until(next))
			timerC = timer.Chan()
		}
		if g.stepped != nil {
			g.stepped(next, armed)
		}

		edged := -1
		select {
		case <-ctx.Done():
			return nil
		case edged = <-edges:
		case <-timerC:
		}
		now := g.clock.Now()
		// Deadlines that have passed are handled before a new edge moves them.
		var events []Event
		for i := range deb {
			if at, ok := deb[i].next(); ok && !now.Before(at) {
				kinds, ch := deb[i].due(now, g.pressed(i))
				g.logChange(i, ch)
				for _, k := range kinds {
					events = append(events, Event{Button: g.cfg.Pins[i].Button, Kind: k, At: now})
				}
			}
		}
		switch {
		case edged >= len(deb):
			// The encoder needs no quiet interval (see quadrature): sample at once.
			switch enc.sample(g.pressed(len(deb)), g.pressed(len(deb)+1)) {
			case 1:
				events = append(events, Event{Button: g.cfg.Encoder.Clockwise, Kind: Press, At: now})
			case -1:
				events = append(events, Event{Button: g.cfg.Encoder.Anticlockwise, Kind: Press, At: now})
			}
		case edged >= 0:
			deb[edged].edge(now)
		}
		for _, ev := range events {
			select {
			case out <- ev:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// pressed reports whether line i (a button's, or the encoder's A or B) is active.
func (g *GPIO) pressed(i int) bool {
	return g.lines[i].Read() == g.active[i]
}

func (g *GPIO) logChange(i int, ch change) {
	p := g.cfg.Pins[i]
	switch ch {
	case pressedDown:
		g.log.Debug("button down", "button", string(p.Button))
	case released:
		g.log.Debug("button up", "button", string(p.Button))
	case unstuck:
		g.log.Info("button released; it works from now on", "button", string(p.Button), "line", p.Pin.Name())
	}
}

// watch turns one line's edges into wake-ups for Run's loop until ctx is done.
func (g *GPIO) watch(ctx context.Context, i int, edges chan<- int) {
	pin := g.lines[i]
	for ctx.Err() == nil {
		if !pin.WaitForEdge(g.cfg.EdgePoll) {
			continue
		}
		select {
		case edges <- i:
		case <-ctx.Done():
			return
		}
	}
}

// lineID tells lines apart: periph's String of a gpioioctl line is a JSON document.
func lineID(p gpio.PinIn) string {
	return p.Name() + "#" + strconv.Itoa(p.Number())
}

func earliest(deb []debouncer) (time.Time, bool) {
	var first time.Time
	found := false
	for i := range deb {
		if at, ok := deb[i].next(); ok && (!found || at.Before(first)) {
			first, found = at, true
		}
	}
	return first, found
}
