package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleLoads(t *testing.T) {
	cfg, err := Load("boothd.example.toml")
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	want := Defaults()
	want.Switchboard = Switchboard{URL: "wss://switchboard.example.nhs.uk", TokenFile: "/etc/carebooth/device-token"}
	want.Device.Name = "Booth 1"
	if cfg != want {
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
	if cfg.Device.JoinWindow != 10*time.Minute || cfg.Device.JoinMode != JoinAuto || cfg.Metrics.Listen != "127.0.0.1:9101" || cfg.Media.FPS != 30 {
		t.Errorf("got %+v, want the defaults", cfg)
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
		{"long join window", minimal + "[device]\njoin_window = \"5h\"\n", []string{"device.join_window", "between 0s and 2h"}},
		{"bad url scheme", "[switchboard]\nurl = \"ftp://sb\"\ntoken_file = \"t\"\n", []string{`switchboard.url = "ftp://sb"`, "wss://"}},
		{"missing url", "[switchboard]\ntoken_file = \"t\"\n", []string{"switchboard.url is required"}},
		{"missing token file", "[switchboard]\nurl = \"wss://sb\"\n", []string{"switchboard.token_file is required"}},
		{"bad video", minimal + "[media]\nvideo = \"webcam\"\n", []string{`media.video = "webcam"`, "/dev/video0"}},
		{"fps too high", minimal + "[media]\nfps = 240\n", []string{"media.fps = 240", "between 1 and 60"}},
		{"bad bitrate", minimal + "[media]\nvideo_bitrate_kbps = 5\n", []string{"media.video_bitrate_kbps = 5"}},
		{"bad metrics listen", minimal + "[metrics]\nlisten = \"9101\"\n", []string{`metrics.listen = "9101"`, "host:port"}},
		{"gpio not built", minimal + "[buttons]\nbackend = \"gpio\"\n", []string{`buttons.backend = "gpio"`, "not built yet"}},
		{"bad backend", minimal + "[buttons]\nbackend = \"usb\"\n", []string{`buttons.backend = "usb"`}},
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
