package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/carebooth/carebooth/device"
)

// The GPIO keys: the buttons, the status light and the staff call, the lines they are wired
// to, and their checks.

// Button and light backends.
const (
	ButtonsSim  = "sim"  // simulated: keyboard or in-process
	ButtonsGPIO = "gpio" // GPIO lines through the Linux GPIO character device
	LightSim    = "sim"  // simulated: changes are logged and shown on the screen
	LightGPIO   = "gpio" // an RGB LED (or one LED per colour) on GPIO lines
)

// Pull (bias) values for Buttons.Pull.
const (
	PullAuto = "auto" // up when active_low, down otherwise
	PullUp   = "up"
	PullDown = "down"
	PullNone = "none" // an external resistor biases the line
)

// Line names one GPIO line of a chip: its offset ("17", written as the number 17 in the
// file) or its name as the kernel reports it ("GPIO17"). On a Raspberry Pi the offsets of
// gpiochip0 are the BCM GPIO numbers, not the header's physical pin numbers. Empty: not
// wired.
type Line string

// UnmarshalTOML accepts a non-negative integer or a string.
func (l *Line) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return fmt.Errorf("%d: must be 0 or more (a line offset) or a line name such as \"GPIO17\"", v)
		}
		*l = Line(strconv.FormatInt(v, 10))
	case string:
		*l = Line(v)
	default:
		return fmt.Errorf("%v: write a line number such as 17 or a line name such as \"GPIO17\"", v)
	}
	return nil
}

// Offset returns the line's offset when it is written as a number.
func (l Line) Offset() (int, bool) {
	n, err := strconv.Atoi(string(l))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// check returns what is wrong with a line, or "".
func (l Line) check() string {
	s := string(l)
	switch {
	case s == "":
		return ""
	case strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t\n\"'"):
		return "must be a line number such as 17 or a line name such as \"GPIO17\", without spaces or quotes"
	case len(s) > 31:
		return "a line name has at most 31 characters"
	case s[0] == '-' || s[0] == '+':
		if _, err := strconv.Atoi(s); err == nil {
			return "must be 0 or more (a line offset) or a line name such as \"GPIO17\""
		}
	}
	return ""
}

// Buttons chooses where button presses come from.
type Buttons struct {
	// Backend is ButtonsSim (default) or ButtonsGPIO.
	Backend string `toml:"backend"`
	// Chip is the GPIO chip the buttons are wired to, by name ("gpiochip0") or path
	// ("/dev/gpiochip0"). Default gpiochip0.
	Chip string `toml:"chip"`
	// ActiveLow: a pressed button pulls its line low (a switch to ground). Default true.
	ActiveLow bool `toml:"active_low"`
	// Pull is PullAuto (default), PullUp, PullDown or PullNone.
	Pull string `toml:"pull"`
	// Debounce is how long a line must be quiet before its level counts. Default 30ms.
	Debounce time.Duration `toml:"debounce"`
	// LongPress is how long End must be held to cancel. Default 3s.
	LongPress time.Duration `toml:"long_press"`
	// The line of each button; empty when the booth does not have that button. End is
	// required with the gpio backend, and Join too when device.join_mode is "button".
	Join       Line `toml:"join"`
	End        Line `toml:"end"`
	Help       Line `toml:"help"`
	Mute       Line `toml:"mute"`
	VolumeUp   Line `toml:"volume_up"`
	VolumeDown Line `toml:"volume_down"`
	// EncoderA and EncoderB are the lines of a rotary encoder turning the volume up
	// (clockwise) and down, instead of or as well as the volume buttons; both or neither.
	// It uses active_low and pull too. Swap them if it turns the wrong way.
	EncoderA Line `toml:"encoder_a"`
	EncoderB Line `toml:"encoder_b"`
	// EncoderSteps is the encoder's quadrature steps per click: 4 (default) or 2.
	EncoderSteps int `toml:"encoder_steps"`
}

// ButtonLines returns each button's config key (without "buttons.") and line, in
// front-panel order, including unwired ones (empty Line).
func (b Buttons) ButtonLines() []KeyLine {
	return []KeyLine{
		{"join", b.Join}, {"end", b.End}, {"help", b.Help},
		{"mute", b.Mute}, {"volume_up", b.VolumeUp}, {"volume_down", b.VolumeDown},
	}
}

// encoderLines returns the encoder's config keys and lines.
func (b Buttons) encoderLines() []KeyLine {
	return []KeyLine{{"encoder_a", b.EncoderA}, {"encoder_b", b.EncoderB}}
}

// KeyLine is a config key with its line.
type KeyLine struct {
	Key  string
	Line Line
}

// Light is the status light.
type Light struct {
	// Backend is LightSim (default) or LightGPIO.
	Backend string `toml:"backend"`
	// Chip is the GPIO chip the light is wired to. Default gpiochip0.
	Chip string `toml:"chip"`
	// ActiveLow: a line driven low lights its LED (a common-anode RGB LED). Default false.
	ActiveLow bool `toml:"active_low"`
	// The lines of the red, green and blue LEDs (or the RGB LED's legs). At least one is
	// required with the gpio backend; colours it lacks are shown with those it has.
	Red   Line `toml:"red"`
	Green Line `toml:"green"`
	Blue  Line `toml:"blue"`
}

// ColourLines returns each colour's config key (without "light.") and line.
func (l Light) ColourLines() []KeyLine {
	return []KeyLine{{"red", l.Red}, {"green", l.Green}, {"blue", l.Blue}}
}

// ChipPath returns the device path of a chip as written in the config: "gpiochip0" is
// /dev/gpiochip0, a path is itself.
func ChipPath(chip string) string {
	if strings.HasPrefix(chip, "/") {
		return chip
	}
	return "/dev/" + chip
}

// StaffCall is an output that calls the staff on site while Help is requested: a relay
// for a buzzer or a lamp at the desk, a call light over the booth, a nurse-call input. It
// is on from the Help press until End, a connected call, or staff clearing it.
type StaffCall struct {
	// Chip is the GPIO chip the output is wired to. Default gpiochip0.
	Chip string `toml:"chip"`
	// Line is the output's line, as for the buttons; empty (the default) is none, and Help
	// then reaches the clinic's clinicians only.
	Line Line `toml:"line"`
	// ActiveLow: the line is driven low to call (a relay board that switches on low).
	ActiveLow bool `toml:"active_low"`
}

var chipName = regexp.MustCompile(`^(/dev/)?gpiochip[0-9]+$`)

// validateGPIO checks the buttons.* and light.* keys.
func (c *Config) validateGPIO() []string {
	var p []string
	bad := func(key string, val any, allowed string) {
		p = append(p, fmt.Sprintf("%s = %#v: %s", key, val, allowed))
	}
	b, l := &c.Buttons, &c.Light

	switch b.Backend {
	case ButtonsSim, ButtonsGPIO:
	default:
		bad("buttons.backend", b.Backend, `allowed values are "sim" and "gpio"`)
	}
	if !chipName.MatchString(b.Chip) {
		bad("buttons.chip", b.Chip, `must be a GPIO chip such as "gpiochip0" (or "/dev/gpiochip0"); gpioinfo lists them`)
	}
	switch b.Pull {
	case PullAuto, PullUp, PullDown, PullNone:
	default:
		bad("buttons.pull", b.Pull, `allowed values are "auto", "up", "down" and "none"`)
	}
	if b.Debounce < time.Millisecond || b.Debounce > 500*time.Millisecond {
		bad("buttons.debounce", b.Debounce.String(), "must be between 1ms and 500ms (30ms suits most buttons)")
	}
	if b.LongPress < time.Second || b.LongPress > 10*time.Second {
		bad("buttons.long_press", b.LongPress.String(), "must be between 1s and 10s")
	}
	if (b.EncoderA == "") != (b.EncoderB == "") {
		p = append(p, "buttons.encoder_a and buttons.encoder_b go together: set both lines of the rotary encoder, or neither")
	}
	if b.EncoderSteps != 2 && b.EncoderSteps != 4 {
		bad("buttons.encoder_steps", b.EncoderSteps, "must be 4 (most encoders) or 2 (half-step encoders)")
	}
	switch l.Backend {
	case LightSim, LightGPIO:
	default:
		bad("light.backend", l.Backend, `allowed values are "sim" and "gpio"`)
	}
	if !chipName.MatchString(l.Chip) {
		bad("light.chip", l.Chip, `must be a GPIO chip such as "gpiochip0" (or "/dev/gpiochip0"); gpioinfo lists them`)
	}

	// Every line is well formed; a line is used once per chip, by buttons and light
	// together (only what is in use: a sim backend's lines are checked but not wired).
	used := map[string]string{} // chip path + line -> key
	claim := func(inUse bool, chip, section string, kls []KeyLine) {
		for _, kl := range kls {
			key := section + "." + kl.Key
			if msg := kl.Line.check(); msg != "" {
				bad(key, string(kl.Line), msg)
				continue
			}
			if kl.Line == "" || !inUse {
				continue
			}
			id := ChipPath(chip) + " " + string(kl.Line)
			if other, ok := used[id]; ok {
				bad(key, string(kl.Line), fmt.Sprintf("line already used by %s; each button and LED needs its own line", other))
				continue
			}
			used[id] = key
		}
	}
	claim(b.Backend == ButtonsGPIO, b.Chip, "buttons", append(b.ButtonLines(), b.encoderLines()...))
	claim(l.Backend == LightGPIO, l.Chip, "light", l.ColourLines())
	sc := &c.StaffCall
	if !chipName.MatchString(sc.Chip) {
		bad("staff_call.chip", sc.Chip, `must be a GPIO chip such as "gpiochip0" (or "/dev/gpiochip0"); gpioinfo lists them`)
	}
	claim(true, sc.Chip, "staff_call", []KeyLine{{"line", sc.Line}})

	if b.Backend == ButtonsGPIO {
		if b.End == "" {
			p = append(p, `buttons.end is required with buttons.backend = "gpio": the line of the End button, e.g. end = 27`)
		}
		if b.Join == "" && c.Device.JoinMode == device.JoinButton {
			p = append(p, `buttons.join is required with buttons.backend = "gpio" and device.join_mode = "button": the line of the Join button, e.g. join = 17`)
		}
	}
	if l.Backend == LightGPIO && l.Red == "" && l.Green == "" && l.Blue == "" {
		p = append(p, `light.red, light.green or light.blue is required with light.backend = "gpio": the lines of the LED's colours, e.g. red = 5`)
	}
	return p
}
