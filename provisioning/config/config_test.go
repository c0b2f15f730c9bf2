package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/device"
)

func TestExampleLoads(t *testing.T) {
	cfg, err := Load("boothd.example.toml")
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	want := Defaults()
	want.Switchboard = Switchboard{URL: "wss://switchboard.example.nhs.uk", TokenFile: "/etc/carebooth/device-token"}
	want.Device.Name = "Booth 1"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v, want %+v", cfg, want)
	}
}

const minimal = `
[switchboard]
url = "https://sb.example"
token_file = "/tmp/token"
`

func TestDefaults(t *testing.T) {
	cfg, err := Parse("boothd.toml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Device.JoinWindow != 10*time.Minute || cfg.Device.JoinMode != device.JoinAuto || cfg.Metrics.Listen != "127.0.0.1:9101" || cfg.Media.FPS != 30 {
		t.Errorf("got %+v, want the defaults", cfg)
	}
}

// TestParseDiscovered: with no switchboard.url the booth finds the switchboard by mDNS and
// enrols by activation code; it needs no other key.
func TestParseDiscovered(t *testing.T) {
	cfg, err := Parse("boothd.toml", []byte("[device]\nname = \"Booth 2\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Discovery.Enabled || cfg.Switchboard.URL != "" || cfg.Site.Listen != ":8444" {
		t.Errorf("got discovery %+v, url %q, site %+v; want discovery on, no URL, site :8444", cfg.Discovery, cfg.Switchboard.URL, cfg.Site)
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{"unknown key", minimal + "[device]\njoin_mdoe = \"auto\"\n", []string{"boothd.toml", "unknown key device.join_mdoe"}},
		{"unknown table", minimal + "[camera]\nx = 1\n", []string{"unknown key camera.x"}},
		{"syntax error", minimal + "[device]\nname = \"unterminated\n", []string{"boothd.toml", "line 6"}},
		{"wrong type", minimal + "[media]\nwidth = \"wide\"\n", []string{"line 6", "media.width"}},
		{"bad duration", minimal + "[device]\njoin_window = \"ten minutes\"\n", []string{"line 6", "device.join_window"}},
		{"bad join mode", minimal + "[device]\njoin_mode = \"always\"\n", []string{`device.join_mode = "always"`, `"auto" and "button"`}},
		{"bad role", minimal + "[device]\nrole = \"kiosk\"\n", []string{`device.role = "kiosk"`, `"booth"`, `"clinic"`}},
		{"long join window", minimal + "[device]\njoin_window = \"5h\"\n", []string{"device.join_window", "between 0s and 2h"}},
		{"bad url scheme", "[switchboard]\nurl = \"ftp://sb\"\ntoken_file = \"t\"\n", []string{`switchboard.url = "ftp://sb"`, "wss://"}},
		{"missing url", "[switchboard]\ntoken_file = \"t\"\n", []string{"switchboard.url is required with switchboard.token_file"}},
		{"missing url, no discovery", "[discovery]\nenabled = false\n", []string{"switchboard.url is required when discovery.enabled is false"}},
		{"bad interface", "[discovery]\ninterfaces = [\"eth0\", \"a b\"]\n", []string{`discovery.interfaces = "a b"`}},
		{"site no port", "[site]\nlisten = \"eth0\"\n", []string{`site.listen = "eth0"`}},
		{"pin beside a token", minimal + "ca_fingerprint = \"SHA256:" + strings.Repeat("A", 43) + "\"\n", []string{"switchboard.ca_fingerprint", "token_file", "remove one"}},
		{"pin not a fingerprint", "[switchboard]\nurl = \"https://sb\"\nca_fingerprint = \"AB:CD:EF\"\n", []string{`switchboard.ca_fingerprint = "AB:CD:EF"`, `"SHA256:"`}},
		{"pin too short", "[switchboard]\nurl = \"https://sb\"\nca_fingerprint = \"SHA256:" + strings.Repeat("A", 42) + "\"\n", []string{"switchboard.ca_fingerprint", "43 characters"}},
		{"missing token file over plain ws", "[switchboard]\nurl = \"ws://sb\"\n", []string{"switchboard.token_file is required unless switchboard.url is https://", "activation code"}},
		{"bad video", minimal + "[media]\nvideo = \"webcam\"\n", []string{`media.video = "webcam"`, "/dev/video0"}},
		{"fps too high", minimal + "[media]\nfps = 240\n", []string{"media.fps = 240", "between 1 and 60"}},
		{"bad bitrate", minimal + "[media]\nvideo_bitrate_kbps = 5\n", []string{"media.video_bitrate_kbps = 5"}},
		{"speaker volume 0", minimal + "[speaker]\nvolume = 0\n", []string{"speaker.volume = 0", "between 1 and 10"}},
		{"speaker volume 11", minimal + "[speaker]\nvolume = 11\n", []string{"speaker.volume = 11"}},
		{"empty speaker device", minimal + "[speaker]\ndevice = \"\"\n", []string{`speaker.device = ""`, "Headphones"}},
		{"bad voice", minimal + "[speaker]\nvoice = \"-w /tmp/x\"\n", []string{"speaker.voice", "espeak-ng"}},
		{"prompts not a bool", minimal + "[speaker]\nprompts = \"yes\"\n", []string{"speaker.prompts"}},
		{"bad metrics listen", minimal + "[metrics]\nlisten = \"9101\"\n", []string{`metrics.listen = "9101"`, "host:port"}},
		{"metrics on all interfaces without a token", minimal + "[metrics]\nlisten = \":9101\"\n", []string{`metrics.listen = ":9101"`, "metrics.token_file is required"}},
		{"metrics on the LAN without a token", minimal + "[metrics]\nlisten = \"192.0.2.5:9101\"\n", []string{`metrics.listen = "192.0.2.5:9101"`, "metrics.token_file is required"}},
		{"metrics by host name without a token", minimal + "[metrics]\nlisten = \"booth-1.lan:9101\"\n", []string{"metrics.token_file is required"}},
		{"gpio without end", minimal + "[buttons]\nbackend = \"gpio\"\n", []string{"buttons.end is required"}},
		{"gpio button mode without join", minimal + "[device]\njoin_mode = \"button\"\n[buttons]\nbackend = \"gpio\"\nend = 27\n", []string{"buttons.join is required"}},
		{"bad backend", minimal + "[buttons]\nbackend = \"usb\"\n", []string{`buttons.backend = "usb"`, `"sim" and "gpio"`}},
		{"negative pin", minimal + "[buttons]\nend = -3\n", []string{"line 6", "buttons.end", "-3: must be 0 or more"}},
		{"negative pin as text", minimal + "[buttons]\nend = \"-3\"\n", []string{`buttons.end = "-3"`, "must be 0 or more"}},
		{"pin with a space", minimal + "[buttons]\njoin = \"GPIO 17\"\n", []string{`buttons.join = "GPIO 17"`, "without spaces"}},
		{"pin of the wrong type", minimal + "[buttons]\nhelp = 1.5\n", []string{"buttons.help", "line number such as 17"}},
		{"duplicate pin", minimal + "[buttons]\nbackend = \"gpio\"\njoin = 17\nend = 17\n", []string{`buttons.end = "17"`, "already used by buttons.join"}},
		{"duplicate pin by name", minimal + "[buttons]\nbackend = \"gpio\"\njoin = \"GPIO17\"\nend = \"GPIO17\"\n", []string{`buttons.end = "GPIO17"`, "already used by buttons.join"}},
		{"light on a button's pin", minimal + "[buttons]\nbackend = \"gpio\"\nend = 27\n[light]\nbackend = \"gpio\"\ngreen = 27\n", []string{`light.green = "27"`, "already used by buttons.end"}},
		{"bad chip", minimal + "[buttons]\nchip = \"gpio0\"\n", []string{`buttons.chip = "gpio0"`, "gpiochip0"}},
		{"bad pull", minimal + "[buttons]\npull = \"sideways\"\n", []string{`buttons.pull = "sideways"`, `"up"`}},
		{"debounce too long", minimal + "[buttons]\ndebounce = \"2s\"\n", []string{`buttons.debounce = "2s"`, "between 1ms and 500ms"}},
		{"long press too short", minimal + "[buttons]\nlong_press = \"200ms\"\n", []string{`buttons.long_press = "200ms"`, "between 1s and 10s"}},
		{"unknown button", minimal + "[buttons]\nstop = 4\n", []string{"unknown key buttons.stop"}},
		{"encoder with one line", minimal + "[buttons]\nencoder_a = 20\n", []string{"buttons.encoder_a and buttons.encoder_b go together"}},
		{"encoder steps", minimal + "[buttons]\nencoder_steps = 3\n", []string{"buttons.encoder_steps = 3", "4 (most encoders) or 2"}},
		{"encoder on a button's line", minimal + "[buttons]\nbackend = \"gpio\"\nend = 20\nencoder_a = 20\nencoder_b = 21\n", []string{`buttons.encoder_a = "20"`, "already used by buttons.end"}},
		{"bad light backend", minimal + "[light]\nbackend = \"dmx\"\n", []string{`light.backend = "dmx"`}},
		{"gpio light without lines", minimal + "[light]\nbackend = \"gpio\"\n", []string{"light.red, light.green or light.blue is required"}},
		{"bad light chip", minimal + "[light]\nchip = \"\"\n", []string{`light.chip = ""`}},
		{"staff call on the light's line", minimal + "[light]\nbackend = \"gpio\"\nred = 5\n[staff_call]\nline = 5\n", []string{`staff_call.line = "5"`, "already used by light.red"}},
		{"staff call on a button's line", minimal + "[buttons]\nbackend = \"gpio\"\nend = 27\n[staff_call]\nline = \"27\"\n", []string{`staff_call.line = "27"`, "already used by buttons.end"}},
		{"bad staff call line", minimal + "[staff_call]\nline = -1\n", []string{"staff_call.line", "must be 0 or more"}},
		{"bad staff call chip", minimal + "[staff_call]\nchip = \"chip\"\nline = 16\n", []string{`staff_call.chip = "chip"`}},
		{"bad log format", minimal + "[log]\nformat = \"xml\"\n", []string{`log.format = "xml"`}},
		{"bad log level", minimal + "[log]\nlevel = \"loud\"\n", []string{`log.level = "loud"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("boothd.toml", []byte(tt.doc))
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v, want an error matching ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestParseDevice: the device's role and join mode are read into package device's types.
func TestParsePin(t *testing.T) {
	pin := "SHA256:" + strings.Repeat("x", 42) + "w" // 43 characters, a valid unpadded encoding of 32 bytes
	cfg, err := Parse("boothd.toml", []byte("[switchboard]\nurl = \"wss://sb.example\"\nca_fingerprint = \""+pin+"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Switchboard.CAFingerprint != pin {
		t.Errorf("got ca_fingerprint %q, want %q", cfg.Switchboard.CAFingerprint, pin)
	}
}

func TestParseDevice(t *testing.T) {
	cfg, err := Parse("boothd.toml", []byte(minimal+"[device]\nrole = \"clinic\"\njoin_mode = \"button\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Device.Role != device.RoleClinic || cfg.Device.JoinMode != device.JoinButton {
		t.Errorf("got role %q, join mode %q, want %q, %q", cfg.Device.Role, cfg.Device.JoinMode, device.RoleClinic, device.JoinButton)
	}
}

func TestParseGPIO(t *testing.T) {
	doc := minimal + `
[device]
join_mode = "button"
[buttons]
backend = "gpio"
chip = "/dev/gpiochip4"
active_low = false
pull = "down"
debounce = "20ms"
long_press = "2s"
join = 17
end = "GPIO27"
volume_up = 0
encoder_a = "GPIO20"
encoder_b = 21
encoder_steps = 2
[light]
backend = "gpio"
active_low = true
red = 5
blue = 17
`
	// Light and buttons on different chips may use the same offset.
	cfg, err := Parse("boothd.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Buttons
	if b.Backend != ButtonsGPIO || b.Chip != "/dev/gpiochip4" || b.ActiveLow || b.Pull != PullDown ||
		b.Debounce != 20*time.Millisecond || b.LongPress != 2*time.Second {
		t.Errorf("got %+v, want the values in the file", b)
	}
	wantLines := []KeyLine{{"join", "17"}, {"end", "GPIO27"}, {"help", ""}, {"mute", ""}, {"volume_up", "0"}, {"volume_down", ""}}
	if got := b.ButtonLines(); !slices.Equal(got, wantLines) {
		t.Errorf("got %v, want %v", got, wantLines)
	}
	if b.EncoderA != "GPIO20" || b.EncoderB != "21" || b.EncoderSteps != 2 {
		t.Errorf("encoder: got %q %q %d, want GPIO20 21 2", b.EncoderA, b.EncoderB, b.EncoderSteps)
	}
	if n, ok := b.Join.Offset(); !ok || n != 17 {
		t.Errorf("join offset: got %d %v, want 17 true", n, ok)
	}
	if _, ok := b.End.Offset(); ok {
		t.Errorf("end offset: got one for a line name, want none")
	}
	if l := cfg.Light; l.Backend != LightGPIO || !l.ActiveLow || l.Red != "5" || l.Green != "" || l.Blue != "17" || l.Chip != "gpiochip0" {
		t.Errorf("got %+v, want the values in the file", l)
	}
	if got := ChipPath(b.Chip); got != "/dev/gpiochip4" {
		t.Errorf("ChipPath: got %q, want /dev/gpiochip4", got)
	}
	if got := ChipPath(cfg.Light.Chip); got != "/dev/gpiochip0" {
		t.Errorf("ChipPath: got %q, want /dev/gpiochip0", got)
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	doc := `
[switchboard]
url = "sb.example"
[device]
join_mode = "sometimes"
colour = "blue"
[media]
fps = 0
`
	_, err := Parse("boothd.toml", []byte(doc))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want *Error", err)
	}
	want := []string{"unknown key device.colour", "switchboard.url", "switchboard.token_file", "device.join_mode", "media.fps"}
	if len(ce.Problems) != len(want) {
		t.Fatalf("got %d problems %q, want %d", len(ce.Problems), ce.Problems, len(want))
	}
	for i, w := range want {
		if !strings.Contains(ce.Problems[i], w) {
			t.Errorf("problem %d: got %q, want it to mention %q", i, ce.Problems[i], w)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want os.ErrNotExist", err)
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(good, []byte("  s3cret\n"), 0o600)
	os.WriteFile(empty, []byte("\n"), 0o600)
	if got, err := ReadSecret("switchboard.token_file", good); err != nil || got != "s3cret" {
		t.Errorf("got %q, %v, want \"s3cret\", nil", got, err)
	}
	if _, err := ReadSecret("switchboard.token_file", empty); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("got %v, want an error saying the file is empty", err)
	}
}

func TestParseSpeaker(t *testing.T) {
	cfg, err := Parse("boothd.toml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Speaker{Device: SpeakerAuto, Volume: 8, Prompts: true, Voice: "en-gb"}); cfg.Speaker != want {
		t.Errorf("default speaker: got %+v, want %+v", cfg.Speaker, want)
	}
	cfg, err = Parse("boothd.toml", []byte(minimal+"[speaker]\ndevice = \"USB Audio\"\nvolume = 10\nprompts = false\nvoice = \"en-gb-x-rp\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Speaker{Device: "USB Audio", Volume: 10, Prompts: false, Voice: "en-gb-x-rp"}); cfg.Speaker != want {
		t.Errorf("speaker: got %+v, want %+v", cfg.Speaker, want)
	}
}

// TestStaffCall: the staff call output is off unless a line is given; then it is taken
// with its chip and level.
func TestStaffCall(t *testing.T) {
	c, err := Parse("boothd.toml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.StaffCall.Line != "" || c.StaffCall.Chip != "gpiochip0" {
		t.Errorf("default: got %+v, want no line on gpiochip0", c.StaffCall)
	}
	c, err = Parse("boothd.toml", []byte(minimal+"[staff_call]\nline = 16\nactive_low = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.StaffCall.Line != "16" || !c.StaffCall.ActiveLow {
		t.Errorf("got %+v, want line 16, active low", c.StaffCall)
	}
}

// Metrics may listen beyond loopback only with a token; loopback needs none.
func TestMetricsListen(t *testing.T) {
	for _, tt := range []struct{ listen, token string }{
		{"127.0.0.1:9101", ""},
		{"[::1]:9101", ""},
		{"localhost:9101", ""},
		{":9101", "/etc/carebooth/metrics-token"},
		{"192.0.2.5:9101", "/etc/carebooth/metrics-token"},
	} {
		doc := minimal + "[metrics]\nlisten = \"" + tt.listen + "\"\ntoken_file = \"" + tt.token + "\"\n"
		if _, err := Parse("boothd.toml", []byte(doc)); err != nil {
			t.Errorf("listen %q, token_file %q: got %v, want it accepted", tt.listen, tt.token, err)
		}
	}
}

// A booth with a TLS switchboard and no token file enrols by activation code.
func TestNoTokenFileOverTLS(t *testing.T) {
	for _, u := range []string{"https://sb.example", "wss://sb.example"} {
		c, err := Parse("boothd.toml", []byte("[switchboard]\nurl = \""+u+"\"\n"))
		if err != nil || c.Switchboard.TokenFile != "" {
			t.Errorf("%s with no token_file: got %v, want accepted (enrolment by activation code)", u, err)
		}
	}
}
