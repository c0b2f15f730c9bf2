package booth

import (
	"context"
	"errors"
	"log/slog"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
)

// outboxWindow bounds the outbox events sent and not yet acknowledged, so a long replay
// never has more acknowledgements in flight than the switchboard queues for one
// connection (64).
const outboxWindow = 32

// outbox sends the events the booth recorded (in its Store, before anything else knew of
// them) to the switchboard in order, at most outboxWindow unacknowledged at a time, and
// forgets each once it is acknowledged. The Store keeps them across restarts; outbox
// keeps what this connection has sent. Owned by the booth's loop goroutine.
type outbox struct {
	store Store
	link  *link
	log   *slog.Logger

	pending  int               // recorded and not yet acknowledged, for the Snapshot
	sentSeq  uint64            // highest seq sent on this connection
	inflight map[string]string // key -> appointment of events sent on this connection, not yet acknowledged
}

func newOutbox(store Store, l *link, log *slog.Logger) *outbox {
	o := &outbox{store: store, link: l, log: log, inflight: map[string]string{}}
	if evs, err := store.Outbox(0, 0); err == nil {
		o.pending = len(evs)
	}
	return o
}

// added counts an event just recorded in the store, and sends what it can.
func (o *outbox) added(ctx context.Context, e OutboxEvent, online bool) {
	o.pending++
	o.log.Info("event recorded", "appointment", e.AppointmentID, "event", e.Event, "key", e.Key)
	o.flush(ctx, online)
}

// linkChanged starts the connection's count afresh: what was in flight is sent again on
// the next connection (the switchboard applies each key once).
func (o *outbox) linkChanged() {
	o.sentSeq = 0
	clear(o.inflight)
}

// flush sends recorded events in order while online, keeping at most outboxWindow of
// them unacknowledged.
func (o *outbox) flush(ctx context.Context, online bool) {
	if !online || len(o.inflight) >= outboxWindow {
		return
	}
	evs, err := o.store.Outbox(o.sentSeq, outboxWindow-len(o.inflight))
	if err != nil {
		o.log.Error("read outbox", "err", err)
		return
	}
	for _, e := range evs {
		err := o.link.send(ctx, signalling.TypeEvent, &signalling.Event{Key: e.Key, AppointmentID: e.AppointmentID, Event: e.Event, At: e.At})
		if err != nil {
			if !errors.Is(err, errOffline) {
				o.link.warn("send outbox event; resending when the link is back", "key", e.Key, "err", err)
			}
			return
		}
		o.sentSeq = e.Seq
		o.inflight[e.Key] = e.AppointmentID
	}
}

// acked forgets acknowledged events in one transaction, keeping the status each ack
// reports for its appointment, and sends what can follow.
func (o *outbox) acked(ctx context.Context, acks []*signalling.EventAck, online bool) {
	keys := make([]string, 0, len(acks))
	status := map[string]appointment.Status{}
	for _, a := range acks {
		keys = append(keys, a.Key)
		if a.Refused != "" {
			o.log.Warn("switchboard refused a recorded event", "key", a.Key, "status", a.Status, "why", a.Refused)
		}
	}
	n := 0
	for _, a := range acks {
		if id, ok := o.inflight[a.Key]; ok {
			n++
			delete(o.inflight, a.Key)
			if a.Status != "" {
				status[id] = a.Status
			}
		}
	}
	if err := o.store.Ack(status, keys...); err != nil {
		o.log.Error("forget acknowledged events", "err", err)
	} else {
		o.pending = max(0, o.pending-n)
	}
	o.flush(ctx, online)
}
