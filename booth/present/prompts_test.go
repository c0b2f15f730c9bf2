package present

import (
	"context"
	"slices"
	"testing"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/media/prompt"
)

func TestPromptsFor(t *testing.T) {
	idle := booth.Snapshot{State: booth.Idle}
	window := booth.Snapshot{State: booth.JoinWindow}
	waiting := booth.Snapshot{State: booth.Waiting}
	ringing := booth.Snapshot{State: booth.InCall}
	connected := booth.Snapshot{State: booth.InCall, Connected: true}
	offline := func(s booth.Snapshot) booth.Snapshot { s.Offline = true; return s }
	for _, tt := range []struct {
		name      string
		prev, cur booth.Snapshot
		want      []prompt.Message
	}{
		{"window opens", idle, window, []prompt.Message{prompt.AppointmentReady}},
		{"arrived", window, waiting, []prompt.Message{prompt.ClinicianSoon}},
		{"admitted, media not yet flowing", waiting, ringing, nil},
		{"media flows", ringing, connected, []prompt.Message{prompt.Connected}},
		{"admitted and flowing at once", waiting, connected, []prompt.Message{prompt.Connected}},
		{"call ends", connected, window, []prompt.Message{prompt.CallEnded}},
		{"call ends, appointment over", connected, idle, []prompt.Message{prompt.CallEnded}},
		{"clinician lost: back to waiting", connected, waiting, []prompt.Message{prompt.CallEnded, prompt.ClinicianSoon}},
		{"link lost in a call", connected, offline(window), []prompt.Message{prompt.Reconnecting}},
		{"link lost while waiting", waiting, offline(waiting), []prompt.Message{prompt.Reconnecting}},
		{"link back, waiting again", offline(waiting), waiting, []prompt.Message{prompt.ClinicianSoon}},
		{"link lost while idle", idle, offline(idle), nil},
		{"nothing changed", connected, connected, nil},
		{"staff told of a Help press", idle, booth.Snapshot{State: booth.Idle, Help: true}, []prompt.Message{prompt.HelpComing}},
		{"help still coming", booth.Snapshot{State: booth.Idle, Help: true}, booth.Snapshot{State: booth.Idle, Help: true}, nil},
		{"staff said they are coming", booth.Snapshot{State: booth.Idle, Help: true},
			booth.Snapshot{State: booth.Idle, Help: true, HelpComingFrom: "Sam"}, []prompt.Message{prompt.StaffComing}},
		{"told and answered at once", idle, booth.Snapshot{State: booth.Idle, Help: true, HelpComingFrom: "Sam"}, []prompt.Message{prompt.StaffComing}},
		{"staff still coming", booth.Snapshot{State: booth.Idle, Help: true, HelpComingFrom: "Sam"},
			booth.Snapshot{State: booth.Idle, Help: true, HelpComingFrom: "Sam"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Prompts(tt.prev, tt.cur); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnnounce(t *testing.T) {
	snaps := make(chan booth.Snapshot, 4)
	snaps <- booth.Snapshot{State: booth.Waiting} // the state at subscription: not announced
	snaps <- booth.Snapshot{State: booth.InCall, Connected: true}
	snaps <- booth.Snapshot{State: booth.Idle}
	close(snaps)
	var said []prompt.Message
	if err := Announce(context.Background(), snaps, func(m prompt.Message) { said = append(said, m) }); err != nil {
		t.Fatal(err)
	}
	if want := []prompt.Message{prompt.Connected, prompt.CallEnded}; !slices.Equal(said, want) {
		t.Errorf("said %v, want %v", said, want)
	}
}
