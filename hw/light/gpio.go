package light

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// DefaultPWMFrequency is the PWM frequency for lines that can dim: far above what eyes or
// cameras see as flicker, low enough for any PWM block.
const DefaultPWMFrequency = 1 * physic.KiloHertz

// GPIOConfig wires an RGB LED, or one LED per colour, to GPIO lines.
type GPIOConfig struct {
	// The lines of the red, green and blue LEDs; nil for a colour the light lacks (at
	// least one is needed). A colour whose LEDs are all missing is shown with the LEDs the
	// light has, so a one-colour light still shows every rhythm.
	Red, Green, Blue gpio.PinOut
	// ActiveLow: a line driven low lights its LED (a common-anode RGB LED).
	ActiveLow bool
	// PWMFrequency for lines that support PWM. Default DefaultPWMFrequency.
	PWMFrequency physic.Frequency
}

// GPIO plays patterns on GPIO lines with an injected clock. A line that supports PWM
// (gpio.PinOut.PWM succeeds) is dimmed and mixes colours; one that does not (the Linux
// GPIO character device has no PWM) is switched on or off.
type GPIO struct {
	ch        [3]channel
	activeLow bool
	freq      physic.Frequency
	clock     clockwork.Clock
	log       *slog.Logger

	mu      sync.Mutex
	pending Pattern // the last Show; must hold mu
	wake    chan struct{}

	// stepped, when set (tests only), is called each time Run has set the lines and is
	// about to block, with the time of the next step (armed false: none).
	stepped func(next time.Time, armed bool)

	runOnce sync.Once
}

type channel struct {
	name string
	pin  gpio.PinOut
	pwm  bool
}

// NewGPIO checks cfg, finds out which lines can dim and turns the light off. clock
// defaults to the real clock and logger to slog.Default().
func NewGPIO(cfg GPIOConfig, clock clockwork.Clock, logger *slog.Logger) (*GPIO, error) {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.PWMFrequency == 0 {
		cfg.PWMFrequency = DefaultPWMFrequency
	}
	if cfg.Red == nil && cfg.Green == nil && cfg.Blue == nil {
		return nil, errors.New("light: no lines: wire at least one of red, green and blue")
	}
	g := &GPIO{
		ch:        [3]channel{{name: "red", pin: cfg.Red}, {name: "green", pin: cfg.Green}, {name: "blue", pin: cfg.Blue}},
		activeLow: cfg.ActiveLow,
		freq:      cfg.PWMFrequency,
		clock:     clock,
		log:       logger.With("component", "light"),
		wake:      make(chan struct{}, 1),
	}
	for i := range g.ch {
		c := &g.ch[i]
		if c.pin == nil {
			continue
		}
		// A dark light at full duty (active low) or zero duty is the probe.
		c.pwm = c.pin.PWM(g.duty(0), g.freq) == nil
		if err := g.set(c, 0); err != nil {
			return nil, fmt.Errorf("light: %s line %s: %w", c.name, c.pin.Name(), err)
		}
		mode := "on/off"
		if c.pwm {
			mode = "PWM"
		}
		g.log.Debug("light line", "colour", c.name, "line", c.pin.Name(), "mode", mode)
	}
	return g, nil
}

// Show makes the light play p from the start of its cycle, unless it already plays p
// (showing the same pattern again does not restart its rhythm). It does not block; the
// latest pattern wins.
func (g *GPIO) Show(p Pattern) {
	g.mu.Lock()
	g.pending = p
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// Run plays patterns until ctx is done, then turns the light off and returns nil, or
// returns the error of a line that cannot be set. It may be called once.
func (g *GPIO) Run(ctx context.Context) (err error) {
	first := false
	g.runOnce.Do(func() { first = true })
	if !first {
		return errors.New("light: GPIO light run twice")
	}
	defer func() {
		if oerr := g.apply(Pattern{}, false); err == nil && oerr != nil && ctx.Err() == nil {
			err = oerr
		}
	}()

	var (
		cur     Pattern
		steps   = Pattern{}.Rhythm.Steps()
		i       int
		changed = true
		timer   clockwork.Timer
		timerC  <-chan time.Time
		next    time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if changed {
			changed = false
			if err := g.apply(cur, steps[i].On); err != nil {
				return err
			}
			if timer != nil {
				timer.Stop()
				timer, timerC = nil, nil
			}
			if d := steps[i].For; d > 0 {
				// The next step is due d after this one was due, not after this loop got
				// round to it, so the rhythm does not drift.
				// After a stall (a suspended process) it starts afresh rather than
				// racing through the missed steps.
				if now := g.clock.Now(); next.IsZero() || now.Sub(next) > time.Second {
					next = now
				}
				next = next.Add(d)
				timer = g.clock.NewTimer(g.clock.Until(next))
				timerC = timer.Chan()
			} else {
				next = time.Time{}
			}
		}
		if g.stepped != nil {
			g.stepped(next, timer != nil)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timerC:
			i = (i + 1) % len(steps)
			changed = true
		case <-g.wake:
			g.mu.Lock()
			p := g.pending
			g.mu.Unlock()
			if p != cur {
				g.log.Debug("light", "pattern", p.String(), "meaning", p.Meaning)
				cur, steps, i, changed = p, p.Rhythm.Steps(), 0, true
				next = time.Time{}
			}
		}
	}
}

// apply sets every line for pattern p, lit or dark.
func (g *GPIO) apply(p Pattern, lit bool) error {
	var want [3]uint8
	if lit && p.Colour != Off {
		r, gr, b := p.Colour.RGB()
		want = [3]uint8{r, gr, b}
		shown := false
		for i, c := range g.ch {
			if c.pin != nil && want[i] > 0 {
				shown = true
			}
		}
		if !shown {
			// None of the colour's LEDs is fitted: light the ones that are, so the rhythm
			// still shows.
			want = [3]uint8{255, 255, 255}
		}
		for i := range want {
			want[i] = uint8(int(want[i]) * int(min(p.Brightness, 100)) / 100)
		}
	}
	for i := range g.ch {
		c := &g.ch[i]
		if c.pin == nil {
			continue
		}
		if err := g.set(c, want[i]); err != nil {
			return fmt.Errorf("light: set %s line %s: %w", c.name, c.pin.Name(), err)
		}
	}
	return nil
}

// set drives one line to intensity v (0 to 255): a duty cycle where the line can dim, on
// for any v above zero where it cannot.
func (g *GPIO) set(c *channel, v uint8) error {
	if c.pwm {
		return c.pin.PWM(g.duty(v), g.freq)
	}
	return c.pin.Out(gpio.Level((v > 0) != g.activeLow))
}

// duty is the duty cycle that lights an LED at intensity v (0 to 255).
func (g *GPIO) duty(v uint8) gpio.Duty {
	d := gpio.Duty(int64(gpio.DutyMax) * int64(v) / 255)
	if g.activeLow {
		d = gpio.DutyMax - d
	}
	return d
}
