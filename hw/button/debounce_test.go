package button

import (
	"slices"
	"testing"
	"time"
)

// A script step for the debouncer: an edge (the line's new level) at a time after t0, or
// a call to due when next says so. The runner calls due at every deadline in order, as
// Run's loop does, so a script only lists the edges.
type rawEdge struct {
	at     time.Duration
	active bool // the level after the edge
}

type gotKind struct {
	at   time.Duration
	kind Kind
}

// runScript feeds edges to d and returns what it sent, calling due at each deadline up to
// until, with the level the edges left the line at.
func runScript(d *debouncer, edges []rawEdge, until time.Duration) []gotKind {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	level := d.pressed
	var got []gotKind
	dueUntil := func(limit time.Time) {
		for {
			at, ok := d.next()
			if !ok || at.After(limit) {
				return
			}
			kinds, _ := d.due(at, level)
			for _, k := range kinds {
				got = append(got, gotKind{at.Sub(t0), k})
			}
		}
	}
	for _, e := range edges {
		now := t0.Add(e.at)
		dueUntil(now)
		level = e.active
		d.edge(now)
	}
	dueUntil(t0.Add(until))
	return got
}

func TestDebouncer(t *testing.T) {
	ms := time.Millisecond
	const quiet = 30 * time.Millisecond
	const hold = 3 * time.Second
	tests := []struct {
		name     string
		longable bool // the button has a long press
		repeats  bool // the button repeats while held (500 ms, then every 250 ms)
		atStart  bool // pressed at start
		edges    []rawEdge
		want     []gotKind
	}{
		{
			name:  "clean press sends Press once pressed for the quiet interval",
			edges: []rawEdge{{100 * ms, true}, {400 * ms, false}},
			want:  []gotKind{{130 * ms, Press}},
		},
		{
			name: "bounce on press and release is one press",
			edges: []rawEdge{
				{100 * ms, true}, {101 * ms, false}, {102 * ms, true}, {104 * ms, false}, {107 * ms, true},
				{500 * ms, false}, {501 * ms, true}, {503 * ms, false},
			},
			want: []gotKind{{137 * ms, Press}},
		},
		{
			name:  "a glitch shorter than the quiet interval is nothing",
			edges: []rawEdge{{100 * ms, true}, {105 * ms, false}},
			want:  nil,
		},
		{
			name:  "a burst of glitches ending released is nothing",
			edges: []rawEdge{{100 * ms, true}, {110 * ms, false}, {125 * ms, true}, {140 * ms, false}, {160 * ms, true}, {170 * ms, false}},
			want:  nil,
		},
		{
			name:  "an edge that does not change the level is nothing",
			edges: []rawEdge{{100 * ms, false}},
			want:  nil,
		},
		{
			name:  "two presses are two presses",
			edges: []rawEdge{{100 * ms, true}, {200 * ms, false}, {300 * ms, true}, {400 * ms, false}},
			want:  []gotKind{{130 * ms, Press}, {330 * ms, Press}},
		},
		{
			name:     "long-press button: a short press is Press, on release",
			longable: true,
			edges:    []rawEdge{{100 * ms, true}, {900 * ms, false}},
			want:     []gotKind{{930 * ms, Press}},
		},
		{
			name:     "long-press button: held 3 s is LongPress at the threshold and no Press",
			longable: true,
			edges:    []rawEdge{{100 * ms, true}, {5 * time.Second, false}},
			want:     []gotKind{{3100 * ms, LongPress}},
		},
		{
			name:     "long-press button: the threshold counts from the first bounce",
			longable: true,
			edges:    []rawEdge{{100 * ms, true}, {102 * ms, false}, {105 * ms, true}, {4 * time.Second, false}},
			want:     []gotKind{{3100 * ms, LongPress}},
		},
		{
			name:     "long-press button: released just before the threshold is Press",
			longable: true,
			edges:    []rawEdge{{100 * ms, true}, {3099 * ms, false}},
			want:     []gotKind{{3129 * ms, Press}},
		},
		{
			name:     "long-press button: noise during the hold does not end it",
			longable: true,
			edges:    []rawEdge{{100 * ms, true}, {2000 * ms, false}, {2004 * ms, true}, {6 * time.Second, false}},
			want:     []gotKind{{3100 * ms, LongPress}},
		},
		{
			name:     "long-press button: a glitch at the threshold delays LongPress until the line settles",
			longable: true,
			edges:    []rawEdge{{100 * ms, true}, {3090 * ms, false}, {3095 * ms, true}, {6 * time.Second, false}},
			want:     []gotKind{{3125 * ms, LongPress}},
		},
		{
			name:     "long-press button: held twice is LongPress twice",
			longable: true,
			edges:    []rawEdge{{0, true}, {4 * time.Second, false}, {5 * time.Second, true}, {9 * time.Second, false}},
			want:     []gotKind{{3 * time.Second, LongPress}, {8 * time.Second, LongPress}},
		},
		{
			name:    "repeating button held: Press, then again after the delay and every interval",
			repeats: true,
			edges:   []rawEdge{{100 * ms, true}, {1200 * ms, false}},
			want:    []gotKind{{130 * ms, Press}, {630 * ms, Press}, {880 * ms, Press}, {1130 * ms, Press}},
		},
		{
			name:    "repeating button tapped does not repeat",
			repeats: true,
			edges:   []rawEdge{{100 * ms, true}, {400 * ms, false}, {500 * ms, true}, {700 * ms, false}},
			want:    []gotKind{{130 * ms, Press}, {530 * ms, Press}},
		},
		{
			name:    "repeating button: a glitch while held does not stop the repeat, and is not a press",
			repeats: true,
			edges:   []rawEdge{{100 * ms, true}, {700 * ms, false}, {705 * ms, true}, {1000 * ms, false}},
			want:    []gotKind{{130 * ms, Press}, {630 * ms, Press}, {880 * ms, Press}},
		},
		{
			name:    "repeating button held at start does not repeat",
			repeats: true,
			atStart: true,
			edges:   []rawEdge{{2 * time.Second, false}},
			want:    nil,
		},
		{
			name:    "pressed at start is ignored until released, then works",
			atStart: true,
			edges:   []rawEdge{{100 * ms, false}, {500 * ms, true}, {600 * ms, false}},
			want:    []gotKind{{530 * ms, Press}},
		},
		{
			name:     "long-press button held at start never long-presses",
			longable: true,
			atStart:  true,
			edges:    []rawEdge{{10 * time.Second, false}},
			want:     nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &debouncer{quiet: quiet}
			if tt.longable {
				d.hold = hold
			}
			if tt.repeats {
				d.repeatAfter, d.repeatEvery = 500*time.Millisecond, 250*time.Millisecond
			}
			d.start(tt.atStart)
			got := runScript(d, tt.edges, 20*time.Second)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if _, ok := d.next(); ok {
				t.Errorf("got a deadline pending after the script, want none")
			}
		})
	}
}
