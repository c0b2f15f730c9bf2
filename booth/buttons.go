package booth

import (
	"context"
	"errors"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/signalling"
)

// onButton acts on a press of Join, End, Help or Mute, by what the booth is doing: the
// buttons mean different things in the window, the waiting room, a call and the clinic
// room. A press that means nothing now is counted in Snapshot.Ignored.
func (b *Booth) onButton(ctx context.Context, ev button.Event) {
	handled := false
	switch ev.Button {
	case button.Join:
		switch {
		case b.cfg.Role == device.RoleClinic:
			handled = b.admitNext(ctx)
		case b.call == nil && b.sched.waiting == "" && b.sched.current != "":
			b.arrive(ctx, b.sched.current)
			handled = true
		case b.call == nil && b.sched.waiting == "" && b.sched.nextAppt != "":
			b.sched.tooEarly = true
			b.log.Info("join pressed before the window; showing when it opens", "appointment", b.sched.nextAppt, "opens", b.sched.nextAt)
		default:
			b.log.Info("join pressed outside an appointment window; ignored", "state", b.sched.state.String())
		}
	case button.Help:
		// Without a staff call on site only the switchboard's echo sets b.clinic.help: the booth
		// must not say help is coming until someone has been told.
		if b.cfg.StaffCall && !b.clinic.help {
			b.clinic.help = true
			b.log.Info("help requested: staff on site called")
			handled = true
		}
		if err := b.link.send(ctx, signalling.TypeHelp, &signalling.Help{Requested: true}); err != nil {
			if !b.cfg.StaffCall || !errors.Is(err, errOffline) {
				b.log.Warn("help not sent to the clinic", "err", err, "staff_on_site_called", b.cfg.StaffCall)
			}
		} else {
			b.log.Info("help requested")
			handled = true
		}
	case button.End:
		switch {
		case b.clinic.help && b.call == nil:
			b.clinic.help, b.clinic.helpFrom = false, ""
			if err := b.link.send(ctx, signalling.TypeHelp, &signalling.Help{Requested: false}); err != nil && !errors.Is(err, errOffline) {
				b.log.Warn("send help over", "err", err)
			}
			handled = true
		case b.call != nil:
			id, appt := b.call.id, b.call.apptID
			if err := b.link.send(ctx, signalling.TypeEnd, &signalling.End{CallID: id, Reason: signalling.EndHangup}); err != nil {
				b.log.Warn("send end", "call", id, "err", err)
			}
			b.closeCall("hangup")
			b.markDone(appt)
			handled = true
		case b.sched.waiting != "":
			// Recorded, so the switchboard learns of it even if the link is down now. If
			// the booth's record does not allow it, say it live (offline there is nothing
			// to tell: the switchboard took us out of the room when the link dropped).
			// The End press is kept with it: a restart must not put the booth back.
			if !b.decide(ctx, b.sched.waiting, EndLeft, appointment.Leave) {
				if err := b.link.send(ctx, signalling.TypeLeave, &signalling.Leave{AppointmentID: b.sched.waiting}); err != nil && !errors.Is(err, errOffline) {
					b.log.Warn("send leave", "appointment", b.sched.waiting, "err", err)
				}
			}
			b.log.Info("left the waiting room", "appointment", b.sched.waiting)
			b.sched.waiting = ""
			handled = true
		case ev.Kind == button.LongPress && b.sched.current != "" && !b.sched.left[b.sched.current]:
			// Holding End in a join window cancels the automatic join: staff whose
			// resident is not ready stop the booth going into the waiting room by itself.
			// Join still joins. A short press here means nothing, so a knock does not
			// cancel anything. Kept in the store, so a restart does not undo it.
			b.decide(ctx, b.sched.current, EndHeld, "")
			b.sched.tooEarly = false
			b.log.Info("automatic join cancelled (End held)", "appointment", b.sched.current)
			handled = true
		case ev.Kind == button.LongPress && b.sched.tooEarly:
			b.sched.tooEarly = false
			handled = true
		default:
			b.log.Info("end pressed with no call; ignored", "kind", ev.Kind.String())
		}
	case button.Mute:
		if b.call != nil {
			if m, ok := b.call.ac.(Muter); ok {
				if err := m.SetMuted(!b.call.muted); err != nil {
					b.log.Warn("mute", "err", err)
				} else {
					b.call.muted = !b.call.muted
					handled = true
				}
			}
		}
	default:
		b.log.Info("button not handled yet", "button", string(ev.Button))
	}
	result := "handled"
	if !handled {
		result = "ignored"
		b.tally.ignored++
	}
	b.metrics.presses.WithLabelValues(string(ev.Button), result).Inc()
}
