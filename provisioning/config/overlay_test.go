package config

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/carebooth/carebooth/device"
)

func TestParseOverlayRefusals(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown key", "[media]\nfsp = 25\n", "key media.fsp cannot be set"},
		{"credential path", "[switchboard]\ntoken_file = \"/tmp/x\"\n", "key switchboard.token_file cannot be set"},
		{"state dir", "[state]\ndir = \"/tmp\"\n", "key state.dir cannot be set"},
		{"not a table", "log = 3\n", "key log: must be a table"},
		{"syntax", "[log\n", "doc: line 2"},
		{"wrong type", "[media]\nfps = \"fast\"\n", "fps"},
		{"out of range", "[speaker]\nvolume = 11\n", "speaker.volume = 11"},
		{"bad join mode", "[device]\njoin_mode = \"sometimes\"\n", "device.join_mode"},
		{"bad url", "[switchboard]\nurl = \"ftp://x\"\n", "switchboard.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOverlay("doc", tt.doc)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want an invalid configuration error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMergeMostSpecificWins(t *testing.T) {
	parse := func(s string) Overlay {
		t.Helper()
		o, err := ParseOverlay("doc", s)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	fleet := parse("[log]\nlevel = \"warn\"\n[speaker]\nvolume = 5\nvoice = \"en-us\"\n")
	site := parse("[speaker]\nvolume = 6\n")
	room := parse("[speaker]\nvolume = 7\n[media]\nfps = 15\n")
	dev := parse("[media]\nfps = 25\n")
	tests := []struct {
		name   string
		layers []Overlay
		want   string // speaker.volume, media.fps, log.level, speaker.voice
	}{
		{"fleet only", []Overlay{fleet}, "5 30 warn en-us"},
		{"site over fleet", []Overlay{fleet, site}, "6 30 warn en-us"},
		{"room over site", []Overlay{fleet, site, room}, "7 15 warn en-us"},
		{"device over room", []Overlay{fleet, site, room, dev}, "7 25 warn en-us"},
		{"device without room", []Overlay{fleet, site, {}, dev}, "6 25 warn en-us"},
		{"nothing", nil, "8 30 info en-gb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Merge(tt.layers...).Apply(placeholder())
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join([]string{itoa(cfg.Speaker.Volume), itoa(cfg.Media.FPS), cfg.Log.Level, cfg.Speaker.Voice}, " ")
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestOverlayTextRoundTrips(t *testing.T) {
	o, err := ParseOverlay("doc", "[speaker]\nvolume = 6\nprompts = false\n[device]\njoin_window = \"5m\"\n")
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseOverlay("text", o.Text())
	if err != nil {
		t.Fatalf("reparse %q: %v", o.Text(), err)
	}
	if again.Text() != o.Text() {
		t.Errorf("got %q, want %q", again.Text(), o.Text())
	}
	if got, want := strings.Join(o.Keys(), ","), "device.join_window,speaker.prompts,speaker.volume"; got != want {
		t.Errorf("got keys %s, want %s", got, want)
	}
}

func TestApplyRefusesConflictWithBase(t *testing.T) {
	base := placeholder()
	base.Buttons.Backend = ButtonsGPIO
	base.Buttons.End = "27"
	o, err := ParseOverlay("doc", "[device]\njoin_mode = \"button\"\n")
	if err != nil {
		t.Fatalf("the switchboard's check refused a document only the device can judge: %v", err)
	}
	got, err := o.Apply(base)
	if err == nil || !strings.Contains(err.Error(), "buttons.join is required") {
		t.Fatalf("got %v, want a refusal naming buttons.join", err)
	}
	if !reflect.DeepEqual(got, base) || got.Device.JoinMode != device.JoinAuto {
		t.Errorf("got %+v, want the base unchanged", got.Device)
	}
}
