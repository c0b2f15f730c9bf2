package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/pion/mediadevices"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestMediaProblem(t *testing.T) {
	cam := mediadevices.MediaDeviceInfo{Kind: mediadevices.VideoInput, Label: "video0;usb-cam"}
	mic := mediadevices.MediaDeviceInfo{Kind: mediadevices.AudioInput, Label: "hw:1,0"}
	auto := config.Media{Video: config.SourceAuto, Audio: config.SourceAuto}
	tests := []struct {
		name                 string
		media                config.Media
		speakerWanted, spkOK bool
		devices              []mediadevices.MediaDeviceInfo
		want                 string
	}{
		{"all there", auto, true, true, []mediadevices.MediaDeviceInfo{cam, mic}, ""},
		{"no camera", auto, true, true, []mediadevices.MediaDeviceInfo{mic}, screen.ProblemCamera},
		{"no microphone", auto, true, true, []mediadevices.MediaDeviceInfo{cam}, screen.ProblemMicrophone},
		{"no speaker", auto, true, false, []mediadevices.MediaDeviceInfo{cam, mic}, screen.ProblemSpeaker},
		{"speaker off by choice", auto, false, false, []mediadevices.MediaDeviceInfo{cam, mic}, ""},
		{"test sources by choice", config.Media{Video: config.SourceTest, Audio: config.SourceOff}, false, false,
			[]mediadevices.MediaDeviceInfo{{Kind: mediadevices.VideoInput, Label: "VideoTest"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mediaProblem(tt.media, tt.speakerWanted, tt.spkOK, tt.devices); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunRefusesMissingGPIOChip(t *testing.T) {
	const chip = "gpiochip4095"
	if _, err := os.Stat(config.ChipPath(chip)); err == nil {
		t.Skipf("%s exists on this machine", config.ChipPath(chip))
	}
	tests := []struct {
		name, extra, key string
	}{
		{"buttons", "[buttons]\nbackend = \"gpio\"\nchip = \"" + chip + "\"\nend = 27\n", "buttons.chip"},
		{"light", "[light]\nbackend = \"gpio\"\nchip = \"" + chip + "\"\nred = 5\n", "light.chip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.extra)
			err := run(context.Background(), []string{"-config", path, "-keyboard=false"})
			if err == nil {
				t.Fatal("got nil, want an error for the missing chip")
			}
			for _, want := range []string{tt.key, "/dev/" + chip, "no such GPIO chip"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("got %q, want it to mention %q", err, want)
				}
			}
		})
	}
}

// TestStaffCallFollowsHelp: the staff call output is driven while Help is on, at the
// configured level, and released when Help ends and when boothd stops.
func TestStaffCallFollowsHelp(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		t.Run(fmt.Sprintf("active_low=%v", activeLow), func(t *testing.T) {
			calling, idle := gpio.High, gpio.Low
			if activeLow {
				calling, idle = gpio.Low, gpio.High
			}
			pin := &gpiotest.Pin{N: "GPIO16", L: idle}
			snaps := make(chan booth.Snapshot)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- followStaffCall(ctx, snaps, pin, activeLow, slog.New(slog.DiscardHandler))
			}()
			level := func() gpio.Level {
				pin.Lock()
				defer pin.Unlock()
				return pin.L
			}
			for _, step := range []struct {
				help bool
				want gpio.Level
			}{{false, idle}, {true, calling}, {true, calling}, {false, idle}, {true, calling}} {
				snaps <- booth.Snapshot{Help: step.help}
				snaps <- booth.Snapshot{Help: step.help} // the loop has dealt with the first
				if got := level(); got != step.want {
					t.Errorf("help %v: line %v, want %v", step.help, got, step.want)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("got %v, want nil after cancel", err)
			}
			if got := level(); got != idle {
				t.Errorf("after stopping while calling: line %v, want %v (not calling)", got, idle)
			}
		})
	}
}

func TestOpenStaffCallNone(t *testing.T) {
	out, desc, err := openStaffCall(config.StaffCall{Chip: "gpiochip0"}, &gpioChips{})
	if out != nil || err != nil || !strings.Contains(desc, "none") {
		t.Errorf("no line: got %v, %q, %v, want no output", out, desc, err)
	}
	_, _, err = openStaffCall(config.StaffCall{Chip: "gpiochip97", Line: "16"}, &gpioChips{})
	if err == nil || !strings.Contains(err.Error(), `staff_call.chip = "gpiochip97"`) {
		t.Errorf("missing chip: got %v, want an error naming staff_call.chip", err)
	}
}
