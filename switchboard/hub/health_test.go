package hub

import (
	"context"
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
)

// TestHeartbeatKeptAndOffline: the hub keeps a booth's latest heartbeat, and the booth
// counts offline once OfflineAfter passes without another.
func TestHeartbeatKeptAndOffline(t *testing.T) {
	b := newBench(t)
	_, c := b.dial()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	temp := 47.5
	for i, state := range []signalling.BoothState{signalling.StateIdle, signalling.StateInCall} {
		hb := &signalling.Heartbeat{Version: "1.2.3", UptimeSeconds: int64(i), State: state, Camera: true, TempCelsius: &temp}
		if err := c.Send(ctx, signalling.TypeHeartbeat, hb); err != nil {
			t.Fatal(err)
		}
		var got Health
		for deadline := time.Now().Add(5 * time.Second); ; {
			var ok bool
			if got, ok = b.hub.DeviceHealth(b.booth.ID); ok && got.Heartbeat.State == state {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("heartbeat %d: got %+v, want state %s", i, got, state)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !got.Online || got.Heartbeat.Version != "1.2.3" || !got.Heartbeat.Camera || *got.Heartbeat.TempCelsius != temp {
			t.Fatalf("got %+v, want online, version 1.2.3, camera, %v °C", got, temp)
		}
	}
	b.clock.Advance(OfflineAfter - time.Second)
	if got, _ := b.hub.DeviceHealth(b.booth.ID); !got.Online {
		t.Fatalf("after %v: got offline, want online", OfflineAfter-time.Second)
	}
	b.clock.Advance(time.Second)
	if got, _ := b.hub.DeviceHealth(b.booth.ID); got.Online {
		t.Fatalf("after %v: got online, want offline", OfflineAfter)
	}
	if fleet := b.hub.Fleet(); len(fleet) != 1 || fleet[b.booth.ID].Online {
		t.Fatalf("fleet: got %+v, want the booth, offline", fleet)
	}
}
