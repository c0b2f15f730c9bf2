package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/hw/light"
	"github.com/carebooth/carebooth/provisioning/config"
)

// statusLight is the light as boothd drives it: hw/light's GPIO driver or its simulation.
type statusLight interface {
	Show(light.Pattern)
	Run(ctx context.Context) error
}

var (
	_ statusLight = (*light.GPIO)(nil)
	_ statusLight = (*light.Sim)(nil)
)

// gpioChips opens GPIO chips through periph's gpioioctl driver (the Linux GPIO character
// device, which serves the Raspberry Pi 4 and 5) and remembers the lines it handed out so
// they can be released.
//
// Only gpioioctl's driver is loaded (importing it registers it), with driverreg.Init
// rather than host.Init: host.Init also loads bcm283x and sysfs, which register the same
// line names first and make gpioioctl rename its lines ("gpiochip0-GPIO17"), and which map
// the SoC's registers behind the kernel's back.
type gpioChips struct {
	lines []*gpioioctl.GPIOLine
}

// chip returns the chip a config key names, or an error naming the key and device path.
func (c *gpioChips) chip(key, name string) (*gpioioctl.GPIOChip, error) {
	path := config.ChipPath(name)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s = %q: %s: no such GPIO chip (gpioinfo lists the chips; set the backend to \"sim\" on a booth without one)", key, name, path)
	} else if err != nil {
		return nil, fmt.Errorf("%s = %q: %w", key, name, err)
	}
	state, err := driverreg.Init()
	if err != nil {
		return nil, fmt.Errorf("%s: load the GPIO driver: %w", key, err)
	}
	// On a Raspberry Pi 5 with older kernels /dev/gpiochip4 is a link to gpiochip0, and
	// gpioioctl keeps one of the two.
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = path
	}
	for _, ch := range gpioioctl.Chips {
		if ch.Path() == path || ch.Path() == real || "/dev/"+ch.Name() == real {
			return ch, nil
		}
	}
	why := "check that boothd's user may open it (the gpio group on Raspberry Pi OS)"
	for _, f := range state.Failed {
		if f.D.String() == "ioctl-gpio" {
			why = f.Err.Error()
		}
	}
	return nil, fmt.Errorf("%s = %q: %s cannot be opened as a GPIO chip: %s", key, name, path, why)
}

// line returns one line of chip, named by key = l in the config.
func (c *gpioChips) line(chip *gpioioctl.GPIOChip, key string, l config.Line) (*gpioioctl.GPIOLine, error) {
	var ln *gpioioctl.GPIOLine
	if n, ok := l.Offset(); ok {
		if n >= chip.LineCount() {
			return nil, fmt.Errorf("%s = %s: %s has lines 0 to %d", key, l, chip.Path(), chip.LineCount()-1)
		}
		ln = chip.ByNumber(n)
	} else {
		ln = chip.ByName(string(l))
		if ln == nil {
			// gpioioctl renames a line whose name another chip has to "<chip>-<name>".
			ln = chip.ByName(chip.Name() + "-" + string(l))
		}
		if ln == nil {
			return nil, fmt.Errorf("%s = %q: %s has no line of that name (gpioinfo %s lists them)", key, l, chip.Path(), chip.Name())
		}
	}
	c.lines = append(c.lines, ln)
	return ln, nil
}

// Close releases every line handed out.
func (c *gpioChips) Close() {
	for _, ln := range c.lines {
		ln.Close()
	}
	c.lines = nil
}

// gpioButtons returns the GPIO button source the config asks for and a description for the
// start-up log, or nil when buttons.backend is not "gpio".
func gpioButtons(cfg config.Buttons, chips *gpioChips, logger *slog.Logger) (button.Source, string, error) {
	if cfg.Backend != config.ButtonsGPIO {
		return nil, "", nil
	}
	chip, err := chips.chip("buttons.chip", cfg.Chip)
	if err != nil {
		return nil, "", err
	}
	pull := gpio.Float
	switch cfg.Pull {
	case config.PullUp:
		pull = gpio.PullUp
	case config.PullDown:
		pull = gpio.PullDown
	case config.PullAuto:
		pull = gpio.PullDown
		if cfg.ActiveLow {
			pull = gpio.PullUp
		}
	}
	gcfg := button.GPIOConfig{Debounce: cfg.Debounce, LongPress: cfg.LongPress}
	var wired []string
	for _, kl := range cfg.ButtonLines() {
		if kl.Line == "" {
			continue
		}
		ln, err := chips.line(chip, "buttons."+kl.Key, kl.Line)
		if err != nil {
			return nil, "", err
		}
		b := button.Button(kl.Key) // the keys are the buttons' names
		gcfg.Pins = append(gcfg.Pins, button.GPIOPin{
			Button: b, Pin: ln, ActiveLow: cfg.ActiveLow, Pull: pull,
			LongPress: b == button.End, // hold End to cancel
			Repeat:    b == button.VolumeUp || b == button.VolumeDown,
		})
		wired = append(wired, fmt.Sprintf("%s=%s", kl.Key, kl.Line))
	}
	if cfg.EncoderA != "" {
		a, err := chips.line(chip, "buttons.encoder_a", cfg.EncoderA)
		if err != nil {
			return nil, "", err
		}
		b, err := chips.line(chip, "buttons.encoder_b", cfg.EncoderB)
		if err != nil {
			return nil, "", err
		}
		gcfg.Encoder = &button.GPIOEncoder{A: a, B: b, ActiveLow: cfg.ActiveLow, Pull: pull, StepsPerClick: cfg.EncoderSteps}
		wired = append(wired, fmt.Sprintf("volume encoder=%s,%s", cfg.EncoderA, cfg.EncoderB))
	}
	src, err := button.NewGPIO(gcfg, nil, logger)
	if err != nil {
		return nil, "", fmt.Errorf("buttons: %w", err)
	}
	return src, fmt.Sprintf("GPIO on %s (%s)", chip.Path(), strings.Join(wired, " ")), nil
}

// openLight returns the status light the config asks for and a description for the
// start-up log.
func openLight(cfg config.Light, chips *gpioChips, logger *slog.Logger) (statusLight, string, error) {
	if cfg.Backend != config.LightGPIO {
		return light.NewSim(nil, logger), "simulated (changes are logged)", nil
	}
	chip, err := chips.chip("light.chip", cfg.Chip)
	if err != nil {
		return nil, "", err
	}
	var lcfg light.GPIOConfig
	lcfg.ActiveLow = cfg.ActiveLow
	var wired []string
	for _, kl := range cfg.ColourLines() {
		if kl.Line == "" {
			continue
		}
		ln, err := chips.line(chip, "light."+kl.Key, kl.Line)
		if err != nil {
			return nil, "", err
		}
		switch kl.Key {
		case "red":
			lcfg.Red = ln
		case "green":
			lcfg.Green = ln
		case "blue":
			lcfg.Blue = ln
		}
		wired = append(wired, fmt.Sprintf("%s=%s", kl.Key, kl.Line))
	}
	l, err := light.NewGPIO(lcfg, nil, logger)
	if err != nil {
		return nil, "", fmt.Errorf("light: %w", err)
	}
	return l, fmt.Sprintf("GPIO on %s (%s)", chip.Path(), strings.Join(wired, " ")), nil
}

// openStaffCall returns the staff call output the config wires (nil when none) and a
// description for the start-up log.
func openStaffCall(cfg config.StaffCall, chips *gpioChips) (gpio.PinOut, string, error) {
	if cfg.Line == "" {
		return nil, "none (Help reaches the clinic's clinicians)", nil
	}
	chip, err := chips.chip("staff_call.chip", cfg.Chip)
	if err != nil {
		return nil, "", err
	}
	ln, err := chips.line(chip, "staff_call.line", cfg.Line)
	if err != nil {
		return nil, "", err
	}
	if err := ln.Out(staffCallLevel(false, cfg.ActiveLow)); err != nil {
		return nil, "", fmt.Errorf("staff_call.line = %s: %w", cfg.Line, err)
	}
	return ln, fmt.Sprintf("GPIO on %s (line=%s)", chip.Path(), cfg.Line), nil
}

// staffCallLevel is the level that calls the staff (help) or stops calling them.
func staffCallLevel(help, activeLow bool) gpio.Level {
	return gpio.Level(help != activeLow)
}

// followStaffCall drives out from the booth's Help until ctx is done, then stops calling.
// snaps is the booth's Subscribe channel. A failed write is logged (once per change) and
// retried with the next snapshot: the booth goes on either way.
func followStaffCall(ctx context.Context, snaps <-chan booth.Snapshot, out gpio.PinOut, activeLow bool, logger *slog.Logger) error {
	calling := false
	set := func(help bool) {
		if err := out.Out(staffCallLevel(help, activeLow)); err != nil {
			logger.Error("staff call output", "calling", help, "err", err)
			return
		}
		if help != calling {
			logger.Info("staff call", "calling", help)
		}
		calling = help
	}
	for {
		select {
		case <-ctx.Done():
			if calling {
				set(false)
			}
			return nil
		case s := <-snaps:
			if s.Help != calling {
				set(s.Help)
			}
		}
	}
}
