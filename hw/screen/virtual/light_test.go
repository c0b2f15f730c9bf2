package virtual

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/hw/light"
)

// TestLightIsDrawnOnThePage: the page has the lamp, and GET /light follows the simulated
// light's colour and rhythm as time passes.
func TestLightIsDrawnOnThePage(t *testing.T) {
	clock := clockwork.NewFakeClock()
	s := start(t, Config{Clock: clock})
	resp := get(t, s.URL()+"light")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /light with no simulated light: %s, want 404", resp.Status)
	}

	sim := light.NewSim(clock, nil)
	s.ShowLight(sim)
	join := light.For(light.Status{State: light.JoinWindow}) // green, 0.5 s on, 0.5 s off
	sim.Show(join)
	r, g, b := join.Colour.RGB()
	for _, tc := range []struct {
		after time.Duration
		lit   bool
	}{{0, true}, {250 * time.Millisecond, true}, {500 * time.Millisecond, false}, {500 * time.Millisecond, true}} {
		clock.Advance(tc.after)
		got := lightAt(t, s)
		if got.Lit != tc.lit {
			t.Errorf("%v into the blink: lit %v, want %v", tc.after, got.Lit, tc.lit)
		}
		want := "#000000"
		if tc.lit {
			want = hexRGB(r, g, b)
		}
		if got.Colour != want || got.Pattern != join.String() || got.Meaning != join.Meaning {
			t.Errorf("GET /light: got %+v, want colour %s, pattern %q, meaning %q", got, want, join.String(), join.Meaning)
		}
	}

	page := get(t, s.URL())
	defer page.Body.Close()
	body, _ := io.ReadAll(page.Body)
	if !strings.Contains(string(body), `id="lamp"`) || !strings.Contains(string(body), `fetch("/light"`) {
		t.Error("the page has no lamp following /light")
	}
}

func lightAt(t *testing.T, s *Screen) lightState {
	t.Helper()
	resp := get(t, s.URL()+"light")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /light: %s, want 200", resp.Status)
	}
	var st lightState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func hexRGB(r, g, b uint8) string {
	const digits = "0123456789abcdef"
	out := []byte{'#'}
	for _, v := range []uint8{r, g, b} {
		out = append(out, digits[v>>4], digits[v&15])
	}
	return string(out)
}
