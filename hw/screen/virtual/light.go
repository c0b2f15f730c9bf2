package virtual

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/carebooth/carebooth/hw/light"
)

// LightSource is the booth's status light as the page draws it: hw/light's Sim.
type LightSource interface {
	// Current is the pattern the light plays and when it started.
	Current() (light.Pattern, time.Time)
}

var _ LightSource = (*light.Sim)(nil)

// ShowLight draws l beside the screen on the page (GET /light says what it shows now).
// Call it before Run.
func (s *Screen) ShowLight(l LightSource) {
	s.mu.Lock()
	s.light = l
	s.mu.Unlock()
}

// lightState is GET /light's answer: the light as it is at this moment.
type lightState struct {
	Lit     bool   `json:"lit"`
	Colour  string `json:"colour"`  // CSS colour while lit, scaled by the brightness: "#00ff00"
	Pattern string `json:"pattern"` // "green slow blink"
	Meaning string `json:"meaning"` // what it tells the person at the booth
}

// lightNow serves the light's state; the page asks ten times a second, which follows the
// fastest rhythm (2 Hz) closely enough to see.
func (s *Screen) lightNow(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	l := s.light
	s.mu.Unlock()
	if l == nil {
		http.Error(w, "this booth's light is not simulated", http.StatusNotFound)
		return
	}
	p, since := l.Current()
	st := lightState{Lit: p.LitAt(s.cfg.Clock.Since(since)), Pattern: p.String(), Meaning: p.Meaning, Colour: "#000000"}
	if st.Lit {
		rr, gg, bb := p.Colour.RGB()
		// Scaled by the brightness, but never so dim that the page shows it as off.
		pct := max(int(p.Brightness), 35)
		scale := func(v uint8) int { return int(v) * pct / 100 }
		st.Colour = fmt.Sprintf("#%02x%02x%02x", scale(rr), scale(gg), scale(bb))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(st)
}
