package config

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/carebooth/carebooth/device"
)

// Config is boothd's configuration. The toml tags are the keys of the file; see
// boothd.example.toml for a commented example.
type Config struct {
	Switchboard Switchboard `toml:"switchboard"`
	Device      Device      `toml:"device"`
	State       State       `toml:"state"`
	Media       Media       `toml:"media"`
	Metrics     Metrics     `toml:"metrics"`
	Buttons     Buttons     `toml:"buttons"`
	Light       Light       `toml:"light"`
	StaffCall   StaffCall   `toml:"staff_call"`
	Speaker     Speaker     `toml:"speaker"`
	Screen      Screen      `toml:"screen"`
	Log         Log         `toml:"log"`
	Firmware    Firmware    `toml:"firmware"`
	Discovery   Discovery   `toml:"discovery"`
	Site        Site        `toml:"site"`
}

// Discovery is mDNS on the site's LAN (provisioning/discovery).
type Discovery struct {
	// Enabled: advertise this device, and find the switchboard when switchboard.url is
	// empty. Default true.
	Enabled bool `toml:"enabled"`
	// Interfaces to advertise and browse on, by name ("eth0", "wlan0"); empty means every
	// interface that is up and does multicast.
	Interfaces []string `toml:"interfaces"`
}

// Site is the device's own listener for the other devices on its site: they authenticate
// each other by their enrolment certificates, and nothing else is let in.
type Site struct {
	// Listen is host:port; the port is the one advertised by mDNS (0: any free one).
	// Default ":8444"; empty turns it (and advertising) off.
	Listen string `toml:"listen"`
}

// Switchboard is where the booth connects.
type Switchboard struct {
	// URL is the switchboard's base URL (ws, wss, http or https); boothd dials
	// <URL>/api/v1/signal. Required.
	// Empty: found on the LAN by mDNS (discovery.enabled), pinning the device CA its
	// announcement names.
	URL string `toml:"url"`
	// TokenFile holds the device token sent as "Authorization: Bearer <token>". Without
	// one the booth enrols by activation code and then authenticates with its key's
	// certificate, which needs an https:// or wss:// URL.
	TokenFile string `toml:"token_file"`
	// CAFingerprint, when set, pins the switchboard's device CA before the first contact
	// ("SHA256:" and 43 characters of base64, as the switchboard logs it at start and
	// `boothctl devices pending` shows it): the booth shows no code to, and takes no
	// approval from, a switchboard with another CA. Without it the booth trusts the CA
	// of the first switchboard it reaches, and IT compares the fingerprint on the screen.
	CAFingerprint string `toml:"ca_fingerprint"`
}

// Device describes this booth.
type Device struct {
	// Name is a human name for logs and the start-up banner.
	Name string `toml:"name"`
	// JoinMode is device.JoinAuto or device.JoinButton. Default device.JoinAuto.
	JoinMode device.JoinMode `toml:"join_mode"`
	// JoinWindow is how long before an appointment's start it can be joined. Default 10m;
	// written as a Go duration string ("10m", "90s").
	JoinWindow time.Duration `toml:"join_window"`
	// Role is device.RoleBooth or device.RoleClinic (the device must have the same role
	// on the switchboard). Default device.RoleBooth.
	Role device.Role `toml:"role"`
}

// State is where boothd keeps its files.
type State struct {
	// Dir holds the appointment cache (booth.db). Default /var/lib/carebooth.
	Dir string `toml:"dir"`
}

// Media source values shared by Media.Video and Media.Audio.
const (
	SourceAuto = "auto" // the first real device
	SourceTest = "test" // generated test picture or tone
	SourceOff  = "off"  // send no video (or no audio)
)

// Media chooses the camera and microphone and how video is sent.
type Media struct {
	// Video is SourceAuto, SourceTest, SourceOff or a camera device path ("/dev/video0").
	// Default auto.
	Video string `toml:"video"`
	// Audio is SourceAuto, SourceTest, SourceOff or a microphone device name. Default auto.
	Audio string `toml:"audio"`
	// Width and Height of the captured picture in pixels. Default 1280x720.
	Width  int `toml:"width"`
	Height int `toml:"height"`
	// FPS is the capture frame rate. Default 30.
	FPS int `toml:"fps"`
	// VideoBitrateKbps is the target video bitrate in kbit/s. Default 1500.
	VideoBitrateKbps int `toml:"video_bitrate_kbps"`
}

// Metrics is the Prometheus endpoint.
type Metrics struct {
	// Listen is host:port for /metrics. Default 127.0.0.1:9101.
	Listen string `toml:"listen"`
	// TokenFile, if set, holds a bearer token scrapers must send. It is required when
	// Listen is not a loopback address: the metrics name the booth's state and calls.
	TokenFile string `toml:"token_file"`
}

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

// Speaker device values besides a device name.
const (
	SpeakerAuto = "auto" // the default ALSA output
	SpeakerOff  = "off"  // no sound output
)

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

// Speaker is the sound output: the clinician's voice and the spoken prompts.
type Speaker struct {
	// Device is SpeakerAuto, SpeakerOff or part of an ALSA playback device's name, as
	// `aplay -L` lists them ("Headphones", "HDMI", "USB Audio"). Default auto.
	Device string `toml:"device"`
	// Volume is the starting volume, 1 to 10: each step is 4 dB, 10 is full. Default 8.
	Volume int `toml:"volume"`
	// Prompts speaks state changes aloud ("The call has ended.") through espeak-ng, for
	// patients who cannot read the screen. Default true.
	Prompts bool `toml:"prompts"`
	// Voice is the espeak-ng voice for the prompts (`espeak-ng --voices=en`). Default
	// "en-gb".
	Voice string `toml:"voice"`
}

// Screen backends.
const (
	ScreenAuto    = "auto"    // the framebuffer when screen.device exists, else the virtual screen
	ScreenFbdev   = "fbdev"   // the Linux framebuffer device
	ScreenVirtual = "virtual" // served on localhost for development (MJPEG, PNG, buttons)
	ScreenOff     = "off"     // no screen
)

// Screen is where boothd draws its screen (docs/screens.md).
type Screen struct {
	// Backend is ScreenAuto (default), ScreenFbdev, ScreenVirtual or ScreenOff.
	Backend string `toml:"backend"`
	// Device is the framebuffer device. Default /dev/fb0.
	Device string `toml:"device"`
	// Listen is the virtual screen's loopback host:port. Default 127.0.0.1:9102.
	Listen string `toml:"listen"`
}

// Log formats.
const (
	LogAuto = "auto" // JSON under systemd (JOURNAL_STREAM set), text otherwise
	LogJSON = "json"
	LogText = "text"
)

// Log configures logging.
type Log struct {
	// Format is LogAuto, LogJSON or LogText. Default auto.
	Format string `toml:"format"`
	// Level is debug, info, warn or error. Default info.
	Level string `toml:"level"`
}

// Firmware configures signed updates (docs/firmware.md). Without a trust file the booth
// takes no updates.
type Firmware struct {
	// TrustFile holds the public keys a release must be signed with (the .pub line of
	// boothctl firmware keygen); empty: updates are off.
	TrustFile string `toml:"trust_file"`
	// SlotsDir holds the development slots: SlotsDir/a, SlotsDir/b and the link
	// SlotsDir/current the service runs boothd from (firmware/slot.Dirs). Default
	// /var/lib/carebooth/slots.
	SlotsDir string `toml:"slots_dir"`
	// Board is this booth's board ("rpi4"), matched against a release's target with the
	// platform boothd was built for; empty for development targets.
	Board string `toml:"board"`
	// PollInterval is how often the switchboard is asked for a release. Default 10m.
	PollInterval time.Duration `toml:"poll_interval"`
}

// Defaults returns a Config with every default filled in and the required keys empty.
func Defaults() Config {
	return Config{
		Device:  Device{JoinMode: device.JoinAuto, JoinWindow: 10 * time.Minute, Role: device.RoleBooth},
		State:   State{Dir: "/var/lib/carebooth"},
		Media:   Media{Video: SourceAuto, Audio: SourceAuto, Width: 1280, Height: 720, FPS: 30, VideoBitrateKbps: 1500},
		Metrics: Metrics{Listen: "127.0.0.1:9101"},
		Buttons: Buttons{Backend: ButtonsSim, Chip: "gpiochip0", ActiveLow: true, Pull: PullAuto,
			Debounce: 30 * time.Millisecond, LongPress: 3 * time.Second, EncoderSteps: 4},
		Light:     Light{Backend: LightSim, Chip: "gpiochip0"},
		StaffCall: StaffCall{Chip: "gpiochip0"},
		Speaker:   Speaker{Device: SpeakerAuto, Volume: 8, Prompts: true, Voice: "en-gb"},
		Screen:    Screen{Backend: ScreenAuto, Device: "/dev/fb0", Listen: "127.0.0.1:9102"},
		Log:       Log{Format: LogAuto, Level: "info"},
		Firmware:  Firmware{SlotsDir: "/var/lib/carebooth/slots", PollInterval: 10 * time.Minute},
		Discovery: Discovery{Enabled: true},
		Site:      Site{Listen: ":8444"},
	}
}

// ErrInvalid matches every *Error with errors.Is.
var ErrInvalid = errors.New("invalid configuration")

// Error lists everything wrong with a configuration file. Each problem names the key (or
// line) and says what is allowed.
type Error struct {
	File     string   // the file, empty when validating a Config built in code
	Problems []string // one line each, in key order
}

func (e *Error) Error() string {
	prefix := "config"
	if e.File != "" {
		prefix = e.File
	}
	if len(e.Problems) == 1 {
		return prefix + ": " + e.Problems[0]
	}
	return fmt.Sprintf("%s: %d problems:\n  %s", prefix, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Load reads the file at path, fills in defaults and validates it. Unknown keys, bad values
// and syntax errors are refused with an *Error naming the file and the key or line.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load for a document already in memory; name is used in error messages.
func Parse(name string, data []byte) (Config, error) {
	cfg := Defaults()
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if strings.Contains(msg, "invalid duration") {
				msg += `: write a duration such as "10m" or "90s"`
			}
			if pe.LastKey != "" {
				msg = fmt.Sprintf("key %s: %s", pe.LastKey, msg)
			}
			return Config{}, &Error{File: name, Problems: []string{fmt.Sprintf("line %d: %s", pe.Position.Line, msg)}}
		}
		// Type mismatches come back as plain errors that already name line and key.
		return Config{}, &Error{File: name, Problems: []string{strings.TrimPrefix(err.Error(), "toml: ")}}
	}
	var problems []string
	for _, k := range md.Undecoded() {
		problems = append(problems, fmt.Sprintf("unknown key %s: remove it or check its spelling against boothd.example.toml", k))
	}
	var ve *Error
	if err := cfg.Validate(); errors.As(err, &ve) {
		problems = append(problems, ve.Problems...)
	}
	if len(problems) > 0 {
		return Config{}, &Error{File: name, Problems: problems}
	}
	return cfg, nil
}

// Validate checks every value and returns an *Error listing all problems, or nil.
func (c *Config) Validate() error {
	var p []string
	bad := func(key string, val any, allowed string) {
		p = append(p, fmt.Sprintf("%s = %#v: %s", key, val, allowed))
	}

	discovered := c.Switchboard.URL == "" && c.Discovery.Enabled
	if c.Switchboard.URL == "" && !c.Discovery.Enabled {
		p = append(p, "switchboard.url is required when discovery.enabled is false: the switchboard's base URL, e.g. \"wss://switchboard.example.nhs.uk\" (or turn discovery on to find it on the LAN)")
	} else if c.Switchboard.URL == "" && c.Switchboard.TokenFile != "" {
		p = append(p, "switchboard.url is required with switchboard.token_file: a booth found by mDNS enrols by activation code instead (remove token_file), or set the URL")
	} else if discovered {
		// found on the LAN
	} else if u, err := url.Parse(c.Switchboard.URL); err != nil || u.Host == "" ||
		(u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "http" && u.Scheme != "https") {
		bad("switchboard.url", c.Switchboard.URL, "must be a ws://, wss://, http:// or https:// URL with a host")
	} else if u.RawQuery != "" || u.Fragment != "" {
		bad("switchboard.url", c.Switchboard.URL, "must be a base URL without query or fragment")
	}
	if u, err := url.Parse(c.Switchboard.URL); !discovered && c.Switchboard.TokenFile == "" && (err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "wss")) {
		p = append(p, "switchboard.token_file is required unless switchboard.url is https:// or wss://: the file holding this booth's device token (without it the booth enrols by activation code, which needs TLS)")
	}

	if f := c.Switchboard.CAFingerprint; f != "" {
		if c.Switchboard.TokenFile != "" {
			bad("switchboard.ca_fingerprint", f, "pins the switchboard at enrolment by activation code, which a booth with switchboard.token_file does not do: remove one of the two")
		} else if !ValidFingerprint(f) {
			bad("switchboard.ca_fingerprint", f, `must be "SHA256:" and 43 characters of base64, as the switchboard logs it (device_ca=...) and boothctl devices pending shows it`)
		}
	}
	if c.Firmware.TrustFile != "" && c.Firmware.SlotsDir == "" {
		p = append(p, "firmware.slots_dir is required with firmware.trust_file: the directory of slots a and b and the link current that boothd runs from")
	}
	if c.Firmware.PollInterval < time.Minute {
		bad("firmware.poll_interval", c.Firmware.PollInterval.String(), "must be at least 1m")
	}

	if !c.Device.JoinMode.Valid() {
		bad("device.join_mode", c.Device.JoinMode, `allowed values are "auto" and "button"`)
	}
	if !c.Device.Role.Valid() {
		bad("device.role", c.Device.Role, `allowed values are "booth" (a patient's booth) and "clinic" (the clinic-room appliance)`)
	}
	if c.Device.JoinWindow < 0 || c.Device.JoinWindow > 2*time.Hour {
		bad("device.join_window", c.Device.JoinWindow.String(), "must be between 0s and 2h")
	}
	if c.State.Dir == "" {
		p = append(p, "state.dir must not be empty")
	}

	switch v := c.Media.Video; {
	case v == SourceAuto, v == SourceTest, v == SourceOff, strings.HasPrefix(v, "/dev/"):
	default:
		bad("media.video", v, `allowed values are "auto", "test", "off" or a device path such as "/dev/video0"`)
	}
	if strings.TrimSpace(c.Media.Audio) == "" {
		bad("media.audio", c.Media.Audio, `allowed values are "auto", "test", "off" or a microphone device name`)
	}
	intRange := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(key, v, fmt.Sprintf("must be between %d and %d", lo, hi))
		}
	}
	intRange("media.width", c.Media.Width, 160, 3840)
	intRange("media.height", c.Media.Height, 120, 2160)
	intRange("media.fps", c.Media.FPS, 1, 60)
	intRange("media.video_bitrate_kbps", c.Media.VideoBitrateKbps, 100, 8000)

	if host, port, err := net.SplitHostPort(c.Metrics.Listen); err != nil || port == "" {
		bad("metrics.listen", c.Metrics.Listen, `must be host:port, e.g. "127.0.0.1:9101"`)
	} else if c.Metrics.TokenFile == "" && !loopbackHost(host) {
		bad("metrics.listen", c.Metrics.Listen, "listens beyond loopback, so metrics.token_file is required "+
			"(a file holding the bearer token scrapers must send); or listen on 127.0.0.1")
	}

	for _, name := range c.Discovery.Interfaces {
		if name == "" || len(name) > 15 || strings.ContainsAny(name, " /:") {
			bad("discovery.interfaces", name, `must be network interface names such as "eth0" or "wlan0"`)
		}
	}
	if c.Site.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Site.Listen); err != nil || port == "" {
			bad("site.listen", c.Site.Listen, `must be host:port, e.g. ":8444" (port 0: any free one, which mDNS announces), or "" to turn it off`)
		}
	}

	p = append(p, c.validateGPIO()...)

	if strings.TrimSpace(c.Speaker.Device) == "" {
		bad("speaker.device", c.Speaker.Device, `allowed values are "auto", "off" or part of an ALSA device name such as "Headphones"`)
	}
	if c.Speaker.Volume < 1 || c.Speaker.Volume > 10 {
		bad("speaker.volume", c.Speaker.Volume, "must be between 1 and 10 (a booth never starts silent; the patient can mute it)")
	}
	if v := c.Speaker.Voice; v == "" || strings.ContainsAny(v, " \t\n") || strings.HasPrefix(v, "-") {
		bad("speaker.voice", v, `must be an espeak-ng voice name such as "en-gb" (espeak-ng --voices=en lists them)`)
	}

	switch c.Screen.Backend {
	case ScreenAuto, ScreenFbdev, ScreenVirtual, ScreenOff:
	default:
		bad("screen.backend", c.Screen.Backend, `allowed values are "auto", "fbdev", "virtual" and "off"`)
	}
	if !strings.HasPrefix(c.Screen.Device, "/dev/") {
		bad("screen.device", c.Screen.Device, `must be a framebuffer device path such as "/dev/fb0"`)
	}
	if host, port, err := net.SplitHostPort(c.Screen.Listen); err != nil || port == "" || !loopbackHost(host) {
		bad("screen.listen", c.Screen.Listen, `must be a loopback host:port such as "127.0.0.1:9102": the virtual screen shows the call, so it stays on this machine`)
	}

	if c.Log.Format != LogAuto && c.Log.Format != LogJSON && c.Log.Format != LogText {
		bad("log.format", c.Log.Format, `allowed values are "auto", "json" and "text"`)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", c.Log.Level, `allowed values are "debug", "info", "warn" and "error"`)
	}

	if len(p) == 0 {
		return nil
	}
	return &Error{Problems: p}
}

// ReadSecret reads a token file, trimming surrounding white space. An empty file is an
// error: a blank bearer token would only be refused by the server later.
func ReadSecret(key, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty: put the token on one line", key, path)
	}
	return s, nil
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

// loopbackHost reports whether host names this machine only.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ValidFingerprint reports whether f is a certificate fingerprint as the switchboard
// writes one: "SHA256:" and the unpadded standard base64 of a SHA-256.
func ValidFingerprint(f string) bool {
	rest, ok := strings.CutPrefix(f, "SHA256:")
	if !ok {
		return false
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(rest)
	return err == nil && len(b) == sha256.Size
}
