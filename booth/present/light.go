package present

import (
	"context"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/hw/light"
)

// Light is what the status light shows of a booth snapshot; fault is a missing camera,
// microphone or speaker, shown in every state, as is a revoked device.
func Light(s booth.Snapshot, fault bool) light.Status {
	st := light.Status{Offline: s.Offline, Muted: s.Muted, Help: s.Help, Fault: fault || s.Revoked}
	switch s.State {
	case booth.JoinWindow:
		st.State = light.JoinWindow
	case booth.Waiting:
		st.State = light.Waiting
	case booth.InCall:
		st.State = light.InCall
	default:
		st.State = light.Idle
	}
	return st
}

// Shower is a light that can be shown a pattern: *light.GPIO or *light.Sim.
type Shower interface {
	Show(light.Pattern)
}

var (
	_ Shower = (*light.GPIO)(nil)
	_ Shower = (*light.Sim)(nil)
)

// Subscriber is the booth as the light and the voice follow it: *booth.Booth.
type Subscriber interface {
	Subscribe() (<-chan booth.Snapshot, func())
}

// FollowLight shows b's state on l until ctx is done.
func FollowLight(ctx context.Context, b Subscriber, l Shower, fault bool) error {
	snaps, stop := b.Subscribe()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-snaps:
			l.Show(light.For(Light(s, fault)))
		}
	}
}
