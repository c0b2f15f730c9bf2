package device

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, r := range Roles {
		if got, err := ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%q): got %q, %v, want %q", r, got, err, r)
		}
	}
	for _, m := range JoinModes {
		if got, err := ParseJoinMode(string(m)); err != nil || got != m {
			t.Errorf("ParseJoinMode(%q): got %q, %v, want %q", m, got, err, m)
		}
	}
	for _, bad := range []string{"", "Booth", "kiosk"} {
		if _, err := ParseRole(bad); err == nil || !strings.Contains(err.Error(), `"booth"`) {
			t.Errorf("ParseRole(%q): got %v, want an error naming the allowed values", bad, err)
		}
		if _, err := ParseJoinMode(bad); err == nil || !strings.Contains(err.Error(), `"button"`) {
			t.Errorf("ParseJoinMode(%q): got %v, want an error naming the allowed values", bad, err)
		}
	}
}
