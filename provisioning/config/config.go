package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/switchboard/deviceca"
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

// Speaker device values besides a device name.
const (
	SpeakerAuto = "auto" // the default ALSA output
	SpeakerOff  = "off"  // no sound output
)

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
func ValidFingerprint(f string) bool { return deviceca.ValidFingerprint(f) }
