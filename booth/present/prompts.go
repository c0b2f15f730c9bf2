package present

import (
	"context"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/media/prompt"
)

// Announce speaks the booth's state changes, from its snapshots, until ctx is done or
// snaps is closed. The first snapshot (the state at subscription) is not spoken.
func Announce(ctx context.Context, snaps <-chan booth.Snapshot, say func(prompt.Message)) error {
	var prev booth.Snapshot
	first := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case cur, ok := <-snaps:
			if !ok {
				return nil
			}
			if !first {
				for _, m := range Prompts(prev, cur) {
					say(m)
				}
			}
			prev, first = cur, false
		}
	}
}

// Prompts is what to say when the booth goes from prev to cur. Help is spoken only once
// the switchboard confirmed staff were told (Snapshot.Help): the booth must not promise
// help that is not coming.
func Prompts(prev, cur booth.Snapshot) []prompt.Message {
	active := func(s booth.Snapshot) bool { return s.State == booth.Waiting || s.State == booth.InCall }
	if cur.Offline && !prev.Offline && active(prev) {
		return []prompt.Message{prompt.Reconnecting}
	}
	var out []prompt.Message
	switch {
	case cur.HelpComingFrom != "" && prev.HelpComingFrom == "":
		out = append(out, prompt.StaffComing) // someone said they are coming
	case cur.Help && !prev.Help:
		out = append(out, prompt.HelpComing) // only once staff were told
	}
	if prev.State == booth.InCall && cur.State != booth.InCall {
		out = append(out, prompt.CallEnded)
	}
	switch {
	case cur.State == booth.JoinWindow && prev.State == booth.Idle:
		out = append(out, prompt.AppointmentReady)
	case cur.State == booth.Waiting && prev.State != booth.Waiting:
		out = append(out, prompt.ClinicianSoon)
	case cur.State == booth.Waiting && prev.Offline && !cur.Offline:
		out = append(out, prompt.ClinicianSoon) // back after "Reconnecting"
	case cur.State == booth.InCall && cur.Connected && !(prev.State == booth.InCall && prev.Connected):
		out = append(out, prompt.Connected)
	}
	return out
}
