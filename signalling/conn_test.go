package signalling

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// pair returns the two ends of a real WebSocket over loopback.
func pair(t *testing.T) (client, server *Conn) {
	t.Helper()
	accepted := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		accepted <- NewConn(ws)
		<-r.Context().Done()
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	client = NewConn(ws)
	server = <-accepted
	t.Cleanup(func() {
		client.CloseNow()
		server.CloseNow()
		srv.Close()
	})
	return client, server
}

func TestConnNumbersAndRefusesReplays(t *testing.T) {
	client, server := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := client.Send(ctx, TypeArrive, &Arrive{AppointmentID: "a1"}); err != nil {
		t.Fatal(err)
	}
	env, body, err := server.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if env.Seq != 1 || body.(*Arrive).AppointmentID != "a1" {
		t.Fatalf("got seq %d body %#v, want seq 1 arrive a1", env.Seq, body)
	}

	// A replayed seq is out of order, and the connection stays usable afterwards.
	replay, _ := Encode(TypeArrive, 1, &Arrive{AppointmentID: "a1"})
	if err := client.SendRaw(ctx, replay); err != nil {
		t.Fatal(err)
	}
	_, _, err = server.Recv(ctx)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != CodeOutOfOrder {
		t.Fatalf("got %v, want out_of_order", err)
	}
	if err := server.ReplyError(ctx, err); err != nil {
		t.Fatal(err)
	}
	env, body, err = client.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if env.Type != TypeError || body.(*Error).Code != CodeOutOfOrder || body.(*Error).Ref != 1 {
		t.Fatalf("got %s %#v, want error out_of_order ref 1", env.Type, body)
	}

	if err := client.Send(ctx, TypeLeave, &Leave{AppointmentID: "a1"}); err != nil {
		t.Fatal(err)
	}
	env, _, err = server.Recv(ctx)
	if err != nil || env.Seq != 2 {
		t.Fatalf("got seq %d err %v, want seq 2", env.Seq, err)
	}
}

func TestConnOversizedIsReportedNotFatal(t *testing.T) {
	client, server := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	big := `{"v":1,"type":"offer","seq":1,"body":{"call_id":"c","sdp":"v=0` + strings.Repeat("x", MaxMessageBytes) + `"}}`
	if len(big) <= MaxMessageBytes {
		t.Fatalf("test message is %d bytes, want more than %d", len(big), MaxMessageBytes)
	}
	if err := client.SendRaw(ctx, []byte(big)); err != nil {
		t.Fatal(err)
	}
	_, _, err := server.Recv(ctx)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != CodeTooLarge {
		t.Fatalf("got %v, want too_large", err)
	}
	// The connection survives a refused message.
	if err := client.Send(ctx, TypeLeave, &Leave{AppointmentID: "a1"}); err != nil {
		t.Fatal(err)
	}
	if env, _, err := server.Recv(ctx); err != nil || env.Type != TypeLeave {
		t.Fatalf("got %s %v, want leave", env.Type, err)
	}
}

func TestConnHugeMessageClosesConnection(t *testing.T) {
	client, server := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	huge := make([]byte, 4*MaxMessageBytes)
	for i := range huge {
		huge[i] = 'x'
	}
	if err := client.SendRaw(ctx, huge); err != nil {
		t.Fatal(err)
	}
	if _, _, err := server.Recv(ctx); err == nil || errors.Is(err, ErrProtocol) {
		t.Fatalf("got %v, want the connection to fail", err)
	}
	_, _, err := client.Recv(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("got close status %v (%v), want %v", got, err, websocket.StatusMessageTooBig)
	}
}
