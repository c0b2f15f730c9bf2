package button

import (
	"context"
	"fmt"
	"time"
)

// Button names one of the booth's buttons.
type Button string

// The booth's buttons.
const (
	Join       Button = "join"
	End        Button = "end"
	Help       Button = "help"
	Mute       Button = "mute"
	VolumeUp   Button = "volume_up"
	VolumeDown Button = "volume_down"
)

// All lists every button, in front-panel order.
var All = [...]Button{Join, End, Help, Mute, VolumeUp, VolumeDown}

// Kind says how a button was pressed.
type Kind int

// Kinds of press.
const (
	Press     Kind = iota // pressed and released
	LongPress             // held down past the long-press threshold
)

func (k Kind) String() string {
	switch k {
	case Press:
		return "press"
	case LongPress:
		return "long_press"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Event is one button press.
type Event struct {
	Button Button
	Kind   Kind
	At     time.Time
}

func (e Event) String() string { return string(e.Button) + " " + e.Kind.String() }

// Source delivers button events. Run sends events on out until ctx is cancelled, then
// returns nil; any other return is a failure of the source. Run is called once.
type Source interface {
	Run(ctx context.Context, out chan<- Event) error
}
