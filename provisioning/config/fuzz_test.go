package config

import (
	"os"
	"testing"
)

// FuzzParse checks that no document makes Parse panic, and that whatever it accepts
// passes Validate.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("boothd.example.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(minimal))
	f.Add([]byte("[device]\njoin_window = \"-5m\"\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		cfg, err := Parse("fuzz.toml", doc)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("Parse accepted a config that Validate refuses: %v", err)
		}
	})
}
