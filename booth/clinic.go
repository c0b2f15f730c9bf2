package booth

import (
	"context"

	"github.com/carebooth/carebooth/signalling"
)

// The clinic-room role: the appliance in a clinician's room watches its clinic's waiting
// room (Snapshot.Queue) and admits with its Join button; calls it takes offer (onCall).

// clinicInfo is what the switchboard last said about the booth's clinic.
type clinicInfo struct {
	help bool // the switchboard confirmed that staff were told of a Help press
	// helpFrom is the name of the member of staff who said they are coming to it, once
	// the switchboard says so; "" while help is not set.
	helpFrom string
	phone    string            // the clinic's phone number, from the last welcome
	id       string            // the clinic (site) the device belongs to, from the last welcome
	queue    *signalling.Queue // the clinic's waiting room (RoleClinic)
}

// admitNext (the clinic-room appliance's Next button) admits the patient who has waited
// longest and is not in a call. The switchboard decides: if someone else admitted them a
// moment earlier, it refuses with a conflict and the queue that follows shows it.
func (b *Booth) admitNext(ctx context.Context) bool {
	if b.call != nil || b.clinic.queue == nil {
		b.log.Info("next pressed with a call in progress or no waiting room yet; ignored")
		return false
	}
	for _, e := range b.clinic.queue.Entries {
		if e.InCall {
			continue
		}
		if err := b.link.send(ctx, signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.AppointmentID}); err != nil {
			b.log.Warn("send admit", "appointment", e.AppointmentID, "err", err)
			return false
		}
		b.log.Info("admitting the patient who has waited longest", "appointment", e.AppointmentID, "since", e.Since)
		return true
	}
	b.log.Info("next pressed with nobody waiting; ignored")
	return false
}
