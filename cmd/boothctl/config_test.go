package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestConfigPushAndShow(t *testing.T) {
	_, boothctl := withSwitchboard(t, nil)
	if _, err := boothctl("admin password 1\n", "login"); err != nil {
		t.Fatal(err)
	}
	out, err := boothctl("", "clinics", "add", "--name", "Riverside")
	if err != nil {
		t.Fatal(err)
	}
	clinic := regexp.MustCompile(`created: (\S+)`).FindStringSubmatch(out)[1]
	out, err = boothctl("", "devices", "add", "--name", "booth-1", "--clinic", clinic)
	if err != nil {
		t.Fatal(err)
	}
	device := regexp.MustCompile(`created: (\S+)`).FindStringSubmatch(out)[1]
	file := filepath.Join(t.TempDir(), "site.toml")
	if err := os.WriteFile(file, []byte("[speaker]\nvolume = 6\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string // in the output, or the error
		usage bool   // a command-line mistake (exit 2)
	}{
		{"site", "", []string{"config", "push", "--site", clinic, file}, "site/" + clinic + ": version 1 stored; 1 devices changed, 0 sent now", false},
		{"site again", "", []string{"config", "push", "--site", clinic, file}, "version 2 stored", false},
		{"device from stdin", "[log]\nlevel = \"debug\"\n", []string{"config", "push", "--device", device, "-"}, "device/" + device + ": version 1", false},
		{"fleet", "", []string{"config", "push", "--fleet", file}, "fleet: version 1", false},
		{"room", "", []string{"config", "push", "--room", clinic + "/Room 2", file}, "0 devices changed", false},
		{"show", "", []string{"config", "show", "site/" + clinic}, "volume = 6", false},
		{"bad key", "[speaker]\nloud = true\n", []string{"config", "push", "--fleet", "-"}, "speaker.loud cannot be set", false},
		{"two scopes", "", []string{"config", "push", "--fleet", "--site", clinic, file}, "exactly one of", true},
		{"no scope", "", []string{"config", "push", file}, "exactly one of", true},
		{"bad room", "", []string{"config", "push", "--room", "Room 2", file}, "SITE_ID/ROOM", true},
		{"devices list", "", []string{"devices", "list"}, "CONFIG", false},
		{"show nothing", "", []string{"config", "show", "room/" + clinic + "/Nowhere"}, "no config document", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := boothctl(tt.stdin, tt.args...)
			got := out
			if err != nil {
				got += err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
			var ue *usageError
			if errors.As(err, &ue) != tt.usage {
				t.Errorf("got error %v, want a usage error: %v", err, tt.usage)
			}
		})
	}
}
