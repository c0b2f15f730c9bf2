package present

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/light"
)

func TestLightStatus(t *testing.T) {
	tests := []struct {
		snap booth.Snapshot
		want light.Status
	}{
		{booth.Snapshot{State: booth.Idle}, light.Status{State: light.Idle}},
		{booth.Snapshot{State: booth.JoinWindow}, light.Status{State: light.JoinWindow}},
		{booth.Snapshot{State: booth.Waiting}, light.Status{State: light.Waiting}},
		{booth.Snapshot{State: booth.InCall, Connected: true}, light.Status{State: light.InCall}},
		{booth.Snapshot{State: booth.InCall, Connected: true, Muted: true}, light.Status{State: light.InCall, Muted: true}},
		{booth.Snapshot{State: booth.Idle, Help: true}, light.Status{State: light.Idle, Help: true}},
		{booth.Snapshot{State: booth.Waiting, Offline: true}, light.Status{State: light.Waiting, Offline: true}},
	}
	for _, tt := range tests {
		if got := Light(tt.snap, false); got != tt.want {
			t.Errorf("%+v: got %+v, want %+v", tt.snap, got, tt.want)
		}
	}
}

func TestLightShowsAFault(t *testing.T) {
	if got := Light(booth.Snapshot{State: booth.Idle}, true); !got.Fault {
		t.Errorf("got %+v, want a fault", got)
	}
}

// recordingLight records what it is shown.
type recordingLight struct{ shown chan light.Pattern }

func (r recordingLight) Show(p light.Pattern)          { r.shown <- p }
func (r recordingLight) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func TestFollowLightShowsTheBooth(t *testing.T) {
	b, err := booth.New(booth.Config{
		SwitchboardURL: "http://127.0.0.1:1", // nobody there: the booth is offline
		Token:          "tok",
		JoinMode:       device.JoinAuto,
		JoinWindow:     10 * time.Minute,
		ReconnectMin:   time.Hour,
		ReconnectMax:   time.Hour,
	}, booth.Deps{Caller: idleCaller{}, Store: booth.NewMemStore(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx)
	l := recordingLight{make(chan light.Pattern, 16)}
	done := make(chan error, 1)
	go func() { done <- FollowLight(ctx, b, l, false) }()

	want := light.For(light.Status{State: light.Idle, Offline: true})
	deadline := time.After(20 * time.Second)
	for got := (light.Pattern{}); got != want; {
		select {
		case got = <-l.shown:
		case <-deadline:
			t.Fatalf("got %v last, want %v for an idle booth that cannot reach its switchboard", got, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("got %v, want nil after cancel", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("FollowLight did not return after cancel")
	}
}

type idleCaller struct{}

func (idleCaller) StartCall(context.Context, booth.CallParams) (booth.ActiveCall, error) {
	return nil, context.Canceled
}
