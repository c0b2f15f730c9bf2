package signalling

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/coder/websocket"
)

// Conn is one side of a signalling WebSocket. Send may be called from several goroutines;
// Recv from one at a time.
type Conn struct {
	ws *websocket.Conn

	mu      sync.Mutex // guards sendSeq and serialises writes
	sendSeq uint64

	recvSeq uint64 // only touched by the single reader
}

// socketReadLimit is where the WebSocket itself gives up. A message between
// MaxMessageBytes and this is read and refused as too_large, leaving the connection
// usable; a larger one closes the connection with status 1009 (message too big), so a
// misbehaving peer cannot make us buffer more than this.
const socketReadLimit = 2 * MaxMessageBytes

// NewConn wraps an established WebSocket and bounds the size of incoming messages.
func NewConn(ws *websocket.Conn) *Conn {
	ws.SetReadLimit(socketReadLimit)
	return &Conn{ws: ws}
}

// Send encodes body as a message of type t with the next seq and writes it.
func (c *Conn) Send(ctx context.Context, t Type, body any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, err := Encode(t, c.sendSeq+1, body)
	if err != nil {
		return err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("send %s: %w", t, err)
	}
	c.sendSeq++
	return nil
}

// SendRaw writes pre-encoded bytes as they are. It exists for tests that need to send
// malformed messages; it does not advance seq.
func (c *Conn) SendRaw(ctx context.Context, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.Write(ctx, websocket.MessageText, data)
}

// Recv reads the next message. A message that breaks the protocol returns a
// *ProtocolError and leaves the connection usable, so the caller can answer with an Error
// message and carry on; any other error means the connection is gone.
func (c *Conn) Recv(ctx context.Context) (Envelope, any, error) {
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("receive: %w", err)
	}
	if typ != websocket.MessageText {
		return Envelope{}, nil, protoErr(CodeBadMessage, 0, "binary frames are not part of the protocol")
	}
	env, body, err := Parse(data)
	if err != nil {
		return env, nil, err
	}
	if env.Seq <= c.recvSeq {
		return env, nil, protoErr(CodeOutOfOrder, env.Seq, "seq %d after seq %d: messages must be numbered in increasing order", env.Seq, c.recvSeq)
	}
	c.recvSeq = env.Seq
	return env, body, nil
}

// ReplyError sends an Error message describing err, which should be a *ProtocolError.
func (c *Conn) ReplyError(ctx context.Context, err error) error {
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		pe = &ProtocolError{Code: CodeInternal, Msg: "internal error"}
	}
	return c.Send(ctx, TypeError, &Error{Code: pe.Code, Message: pe.Msg, Ref: pe.Seq})
}

// Close closes the connection with a normal closure and reason.
func (c *Conn) Close(reason string) error {
	return c.ws.Close(websocket.StatusNormalClosure, reason)
}

// CloseNow closes the underlying connection without the closing handshake.
func (c *Conn) CloseNow() error { return c.ws.CloseNow() }
