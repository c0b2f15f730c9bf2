package config

import (
	"strings"
	"testing"
)

func TestScreen(t *testing.T) {
	cfg, err := Parse("boothd.toml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Screen{Backend: ScreenAuto, Device: "/dev/fb0", Listen: "127.0.0.1:9102"}); cfg.Screen != want {
		t.Errorf("defaults: got %+v, want %+v", cfg.Screen, want)
	}
	for _, tc := range []struct {
		name, doc string
		want      []string // substrings of the error; none for a valid document
	}{
		{"fbdev", "[screen]\nbackend = \"fbdev\"\ndevice = \"/dev/fb1\"\n", nil},
		{"virtual on ::1", "[screen]\nbackend = \"virtual\"\nlisten = \"[::1]:9200\"\n", nil},
		{"off", "[screen]\nbackend = \"off\"\n", nil},
		{"bad backend", "[screen]\nbackend = \"hdmi\"\n", []string{`screen.backend = "hdmi"`, `"fbdev"`}},
		{"device not in /dev", "[screen]\ndevice = \"fb0\"\n", []string{`screen.device = "fb0"`, "/dev/fb0"}},
		{"listen on every address", "[screen]\nlisten = \"0.0.0.0:9102\"\n", []string{`screen.listen = "0.0.0.0:9102"`, "loopback"}},
		{"listen without port", "[screen]\nlisten = \"127.0.0.1\"\n", []string{"screen.listen", "host:port"}},
		{"unknown key", "[screen]\nwidth = 1280\n", []string{"unknown key screen.width"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("boothd.toml", []byte(minimal+tc.doc))
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
