package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/carebooth/carebooth/signalling"
)

var (
	// ErrNotConnected is returned by Diagnose for a device with no signalling connection,
	// or one whose connection went before it answered.
	ErrNotConnected = errors.New("the device is not connected")
	// ErrBusy is returned by Diagnose when a device already has maxDiagnoses questions
	// in flight: a self-test opens the camera, and IT clicking twice must not queue more.
	ErrBusy = errors.New("the device is still answering an earlier request")
)

// maxDiagnoses is how many self-tests and log requests one device may have in flight.
const maxDiagnoses = 2

// diagnoses are IT's questions in flight to devices, by request number. Its own lock,
// not h.mu: a reply is delivered from a connection's reader, a wait ends in the API's
// goroutine. Lock order: h.mu before diagnoses.mu.
type diagnoses struct {
	mu      sync.Mutex
	next    uint64
	pending map[uint64]*question
}

type question struct {
	c     *client
	kind  signalling.DiagnoseKind
	reply chan *signalling.Diagnosis // cap 1: delivered at most once
}

func (d *diagnoses) add(c *client, kind signalling.DiagnoseKind) (uint64, *question, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, q := range d.pending {
		if q.c.id == c.id {
			n++
		}
	}
	if n >= maxDiagnoses {
		return 0, nil, ErrBusy
	}
	if d.pending == nil {
		d.pending = map[uint64]*question{}
	}
	d.next++
	q := &question{c: c, kind: kind, reply: make(chan *signalling.Diagnosis, 1)}
	d.pending[d.next] = q
	return d.next, q, nil
}

func (d *diagnoses) remove(req uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.pending, req)
}

// deliver hands m to the question it answers. It reports false for an answer nobody is
// waiting for (late, after the API gave up) and refuses one from another connection.
func (d *diagnoses) deliver(c *client, seq uint64, m *signalling.Diagnosis) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q, ok := d.pending[m.Request]
	if !ok {
		return false, nil
	}
	if q.c != c {
		return false, refuse(signalling.CodeForbidden, seq, "diagnosis %d was not asked of this connection", m.Request)
	}
	if q.kind != m.Kind {
		return false, refuse(signalling.CodeBadMessage, seq, "diagnosis %d was asked for %s, not %s", m.Request, q.kind, m.Kind)
	}
	delete(d.pending, m.Request)
	q.reply <- m
	return true, nil
}

// Diagnose asks a connected device for a self-test or its recent log (lines at most, 0
// for all it keeps) and waits for its answer, until ctx ends. A device with several
// connections is asked on one of them.
func (h *Hub) Diagnose(ctx context.Context, deviceID string, kind signalling.DiagnoseKind, lines int) (*signalling.Diagnosis, error) {
	switch {
	case !kind.Valid():
		return nil, fmt.Errorf("diagnose: kind %q is not %q or %q", kind, signalling.DiagnoseSelfTest, signalling.DiagnoseLogs)
	case lines < 0 || lines > signalling.MaxLogLines:
		return nil, fmt.Errorf("diagnose: lines %d is outside 0..%d", lines, signalling.MaxLogLines)
	}
	ask := &signalling.Diagnose{Kind: kind, Lines: lines}
	h.mu.Lock()
	var c *client
	for cc := range h.devices[deviceID] {
		c = cc
		break
	}
	if c == nil {
		h.mu.Unlock()
		return nil, ErrNotConnected
	}
	req, q, err := h.diag.add(c, kind)
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	ask.Request = req
	c.send(signalling.TypeDiagnose, ask)
	h.mu.Unlock()
	defer h.diag.remove(req)
	c.log.Info("asked the device", "kind", kind, "request", req)

	select {
	case m := <-q.reply:
		return m, nil
	case <-c.gone:
		return nil, ErrNotConnected
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// diagnosis delivers a device's answer. Must hold h.mu (handle does).
func (h *Hub) diagnosis(c *client, seq uint64, m *signalling.Diagnosis) error {
	ok, err := h.diag.deliver(c, seq, m)
	if err != nil {
		return err
	}
	if !ok {
		c.log.Debug("diagnosis nobody waits for any more", "request", m.Request)
	}
	return nil
}
