package slot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/carebooth/carebooth/atomicfile"
)

// stateSchema is the version of the state file this build writes; older ones migrate
// forward in loadState, newer ones are refused.
const stateSchema = 1

// Name names a slot.
type Name string

// The two slots.
const (
	A Name = "a"
	B Name = "b"
)

// Other returns the slot that is not n.
func (n Name) Other() Name {
	if n == A {
		return B
	}
	return A
}

func (n Name) valid() bool { return n == A || n == B }

// State is what the device records of its slots, in the state file. Only Manager writes
// it, each change one atomicfile.Write, so a kill leaves the old record or the new one.
type State struct {
	Schema int `json:"schema"`
	// Active is the committed slot: the one that passed its health checks.
	Active Name `json:"active"`
	// Trying is the slot being tried, if any, and Tries how many starts it has had
	// without being committed.
	Trying Name `json:"trying,omitempty"`
	Tries  int  `json:"tries"`
	// Slots says what each slot holds. An entry that is not Complete may hold anything
	// and is never started.
	Slots map[Name]Contents `json:"slots"`
	// LastError is the latest rollback, kept until a release is committed, for the
	// device to report.
	LastError *Failure `json:"last_error,omitempty"`
}

// Contents is what a slot holds.
type Contents struct {
	Version   string    `json:"version,omitempty"`
	Complete  bool      `json:"complete"`
	Installed time.Time `json:"installed,omitzero"`
}

// Failure is why a release was rolled back.
type Failure struct {
	Version string    `json:"version"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

func (f *Failure) String() string {
	return fmt.Sprintf("%s rolled back at %s: %s", f.Version, f.At.Format(time.RFC3339), f.Reason)
}

func (s State) clone() State {
	c := s
	c.Slots = make(map[Name]Contents, 2)
	for k, v := range s.Slots {
		c.Slots[k] = v
	}
	if s.LastError != nil {
		e := *s.LastError
		c.LastError = &e
	}
	return c
}

// loadState reads the state file; ok is false when there is none yet.
func loadState(path string) (st State, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("read slot state: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, false, fmt.Errorf("read slot state %s: %w; the file is damaged: restore it or remove it to start again from the linked slot", path, err)
	}
	if st.Schema > stateSchema {
		return State{}, false, fmt.Errorf("read slot state %s: schema %d is newer than this build's %d; it was written by newer firmware", path, st.Schema, stateSchema)
	}
	if st.Schema < 1 || !st.Active.valid() || (st.Trying != "" && (!st.Trying.valid() || st.Trying == st.Active)) {
		return State{}, false, fmt.Errorf("read slot state %s: active %q, trying %q, schema %d: not a state this build wrote; restore it or remove it", path, st.Active, st.Trying, st.Schema)
	}
	if st.Slots == nil {
		st.Slots = map[Name]Contents{}
	}
	return st, true, nil
}

func saveState(path string, st State) error {
	st.Schema = stateSchema
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("write slot state: %w", err)
	}
	return atomicfile.Write(path, append(data, '\n'), 0o644)
}
