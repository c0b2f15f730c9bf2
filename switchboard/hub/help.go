package hub

import "github.com/carebooth/carebooth/signalling"

// help passes a booth's Help button on to its clinic's connected clinicians (and clinic-room
// appliances), then echoes it to the booth: the echo is the booth's proof that someone was
// told, so it never says "help is on its way" when nobody was. Must hold h.mu.
func (h *Hub) help(c *client, seq uint64, m *signalling.Help) error {
	d, err := h.store.Device(c.id)
	if err != nil {
		return err
	}
	alert := &signalling.Help{Requested: m.Requested, DeviceID: d.ID, DeviceName: d.Name}
	told := len(h.clinicians[c.clinic])
	if m.Requested && told == 0 {
		return refuse(signalling.CodeConflict, seq, "nobody at the clinic is connected to be told")
	}
	prev, standing := h.helpOn[c.id]
	if standing == m.Requested {
		// Pressed again (or cancelled again): the clinicians already know, and hear of it
		// once. The booth still gets its proof that they were told, and who is coming.
		if standing {
			alert = prev.msg
		}
		c.send(signalling.TypeHelp, alert)
		if ok, n := c.sampled.allow("help repeated"); ok {
			c.log.Info("help repeated, not passed on", "requested", m.Requested, "suppressed", n)
		}
		return nil
	}
	if m.Requested {
		h.helpOn[c.id] = helpAlert{clinic: c.clinic, msg: alert, since: h.clock.Now()}
	} else {
		delete(h.helpOn, c.id)
	}
	for cl := range h.clinicians[c.clinic] {
		cl.send(signalling.TypeHelp, alert)
	}
	c.send(signalling.TypeHelp, alert)
	h.pushDevices(c.clinic)
	c.log.Info("help", "requested", m.Requested, "told", told)
	return nil
}
