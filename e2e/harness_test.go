package e2e

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/booth/mediacall"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/media/synth"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/deviceca"
	"github.com/carebooth/carebooth/switchboard/store"
	"github.com/carebooth/carebooth/switchboard/webapp"
	"github.com/coder/websocket"
	"github.com/jonboulle/clockwork"
	_ "github.com/pion/mediadevices/pkg/driver/audiotest"
	_ "github.com/pion/mediadevices/pkg/driver/videotest"
	"github.com/pion/webrtc/v4"
	"golang.org/x/crypto/bcrypt"
)

// guard bounds every wait: a failure guard, not a performance assertion.
const guard = 60 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// loopbackEngine is a media engine for calls over 127.0.0.1, the only network here.
func loopbackEngine(t testing.TB) *call.Engine {
	t.Helper()
	e, err := call.NewEngine(call.EngineConfig{
		Logger:       testLogger(t),
		Loopback:     true,
		NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeUDP4},
	})
	if err != nil {
		t.Fatalf("call.NewEngine: %v", err)
	}
	return e
}

// env is a running switchboard with the demo clinic, clinician, booth device and an
// appointment two minutes ahead (by the real clock).
type env struct {
	URL   string
	Store store.Store
	Demo  switchboard.Demo
	Token string // the booth's device token
	// RelayOnly makes the booths and clinicians started here use relayed candidates only.
	RelayOnly bool
}

// engine is the media engine of a party started in e.
func (e *env) engine(t testing.TB) *call.Engine {
	t.Helper()
	if !e.RelayOnly {
		return loopbackEngine(t)
	}
	en, err := call.NewEngine(call.EngineConfig{Logger: testLogger(t), Loopback: true, RelayOnly: true,
		NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4}})
	if err != nil {
		t.Fatalf("call.NewEngine: %v", err)
	}
	return en
}

func startSwitchboard(t testing.TB) *env { return startSwitchboardWith(t, switchboard.Config{}) }

// startSwitchboardWith is startSwitchboard with cfg (BcryptCost is set here).
func startSwitchboardWith(t testing.TB, cfg switchboard.Config) *env {
	t.Helper()
	return startSwitchboardCA(t, cfg, false)
}

// startSwitchboardCA is startSwitchboardWith, with a device CA when withCA (so devices
// can enrol by activation code).
func startSwitchboardCA(t testing.TB, cfg switchboard.Config, withCA bool) *env {
	t.Helper()
	dir := t.TempDir()
	var ca *deviceca.CA
	if withCA {
		var err error
		if ca, _, err = deviceca.Open(t.TempDir(), "test devices", nil); err != nil {
			t.Fatalf("device CA: %v", err)
		}
	}
	st, err := store.OpenBolt(filepath.Join(dir, "switchboard.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	demo, err := switchboard.SeedDemo(ctx, st, clockwork.NewRealClock(), dir, bcrypt.MinCost)
	if err != nil {
		t.Fatalf("seed demo: %v", err)
	}
	tok, err := os.ReadFile(demo.DeviceTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BcryptCost = bcrypt.MinCost
	srv, err := switchboard.New(cfg, switchboard.Deps{
		Store: st, Log: testLogger(t), WebApp: webapp.Handler(), CA: ca,
	})
	if err != nil {
		t.Fatalf("switchboard.New: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return &env{URL: hs.URL, Store: st, Demo: demo, Token: strings.TrimSpace(string(tok))}
}

// runningBooth is a booth.Booth running in its own goroutine, with simulated buttons.
type runningBooth struct {
	*booth.Booth
	Buttons *button.Sim
	Clock   clockwork.Clock
	frames  atomic.Int64 // decoded remote video frames, from the call's frame sink
	audio   atomic.Int64 // decoded remote audio blocks
	first   atomic.Int64 // unix nanoseconds of the first decoded frame since resetFrames
	stop    func()
}

// startBooth runs a booth for the demo device in join mode mode, its schedule on clock,
// sending capture's test sources (mediadevices' videotest and audiotest drivers).
func (e *env) startBooth(t testing.TB, clock clockwork.Clock, mode device.JoinMode, cc capture.Config) *runningBooth {
	t.Helper()
	return e.startBoothWithStore(t, clock, mode, cc, booth.NewMemStore())
}

// startBoothWithStore is startBooth with the booth's appointment store given, so a test can
// restart a booth on the state it had (a power cut).
func (e *env) startBoothWithStore(t testing.TB, clock clockwork.Clock, mode device.JoinMode, cc capture.Config, st booth.Store) *runningBooth {
	t.Helper()
	rb := &runningBooth{Buttons: button.NewSim(clock), Clock: clock}
	cc.Video, cc.Audio = capture.SourceTest, capture.SourceTest
	caller, err := mediacall.New(e.engine(t), mediacall.Config{
		Capture: cc,
		OnVideoFrame: func(*image.YCbCr) {
			rb.first.CompareAndSwap(0, time.Now().UnixNano())
			rb.frames.Add(1)
		},
		OnAudio: func([]int16) { rb.audio.Add(1) },
	}, nil, testLogger(t))
	if err != nil {
		t.Fatalf("mediacall.New: %v", err)
	}
	b, err := booth.New(booth.Config{
		SwitchboardURL: e.URL,
		Token:          e.Token,
		DeviceName:     e.Demo.DeviceName,
		JoinMode:       mode,
		JoinWindow:     10 * time.Minute,
		ReconnectMin:   50 * time.Millisecond,
		ReconnectMax:   time.Second,
	}, booth.Deps{
		Caller:  caller,
		Buttons: rb.Buttons,
		Store:   st,
		Clock:   clock,
		Logger:  testLogger(t),
	})
	if err != nil {
		t.Fatalf("booth.New: %v", err)
	}
	rb.run(t, b)
	return rb
}

// firstFrameAt is when the booth decoded its first remote frame since resetFrames.
func (rb *runningBooth) firstFrameAt() time.Time { return time.Unix(0, rb.first.Load()) }

// resetFrames zeroes the frame counters, between calls.
func (rb *runningBooth) resetFrames() {
	rb.frames.Store(0)
	rb.audio.Store(0)
	rb.first.Store(0)
}

func (rb *runningBooth) waitFor(t testing.TB, what string, cond func(booth.Snapshot) bool) booth.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	s, err := rb.WaitFor(ctx, cond)
	if err != nil {
		t.Fatalf("booth: waiting for %s: %v (last snapshot %+v)", what, err, rb.Snapshot())
	}
	return s
}

// clinician is a headless clinician: the JSON API for login, a signalling connection, and
// a pion call with synthetic media when it admits someone.
type clinician struct {
	t      testing.TB
	api    *apiclient.Client
	conn   *signalling.Conn
	in     chan message
	engine *call.Engine

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type message struct {
	env  signalling.Envelope
	body any
}

// dialClinician logs in as the demo clinician and opens the signalling channel.
func (e *env) dialClinician(t testing.TB) *clinician {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	api, err := apiclient.New(e.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	login, err := api.Login(ctx, e.Demo.ClinicianUser, e.Demo.ClinicianPassword)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	c := &clinician{t: t, api: api.WithToken(login.Token), in: make(chan message, 256), engine: e.engine(t)}
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.URL, "http")+"/api/v1/signal", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + login.Token}},
	})
	if err != nil {
		t.Fatalf("dial signalling: %v", err)
	}
	c.conn = signalling.NewConn(ws)
	rctx, rcancel := context.WithCancel(context.Background())
	c.cancel = rcancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(c.in)
		for {
			env, body, err := c.conn.Recv(rctx)
			if err != nil {
				if errors.Is(err, signalling.ErrProtocol) {
					t.Errorf("clinician: switchboard sent a bad message: %v", err)
					continue
				}
				return
			}
			select {
			case c.in <- message{env, body}:
			case <-rctx.Done():
				return
			}
		}
	}()
	if err := c.conn.Send(ctx, signalling.TypeHello, &signalling.Hello{Role: signalling.RoleClinician, Agent: "e2e clinician"}); err != nil {
		t.Fatal(err)
	}
	c.expect(signalling.TypeWelcome, nil)
	t.Cleanup(c.close)
	return c
}

func (c *clinician) close() {
	c.cancel()
	c.conn.CloseNow()
	c.wg.Wait()
}

// expect returns the next message of type typ for which match (if any) holds, skipping
// others of that type (and queue updates, which arrive whenever the room changes).
func (c *clinician) expect(typ signalling.Type, match func(any) bool) any {
	c.t.Helper()
	timer := time.NewTimer(guard)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				c.t.Fatalf("clinician: connection closed while waiting for %s", typ)
			}
			if m.env.Type == signalling.TypeError && typ != signalling.TypeError {
				c.t.Fatalf("clinician: got error %+v while waiting for %s", m.body, typ)
			}
			if m.env.Type == typ && (match == nil || match(m.body)) {
				return m.body
			}
		case <-timer.C:
			c.t.Fatalf("clinician: no %s within %s", typ, guard)
		}
	}
}

// send sends a message, failing the test on error.
func (c *clinician) send(typ signalling.Type, body any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := c.conn.Send(ctx, typ, body); err != nil {
		c.t.Fatalf("clinician: send %s: %v", typ, err)
	}
}

// clinicianCall is the clinician's side of an admitted call.
type clinicianCall struct {
	ID     string
	Call   *call.Call
	media  *synth.Stream
	frames atomic.Int64
	audio  atomic.Int64
	wg     sync.WaitGroup
	stop   chan struct{}

	// pion gathers (and reports) candidates while Offer runs, before the offer is sent;
	// the switchboard rightly refuses a candidate before the offer, so they wait here.
	mu      sync.Mutex
	offered bool
	pending []signalling.Candidate
}

// sendCandidate sends cand now if the offer is out, or queues it. Must not hold cl.mu.
func (c *clinician) sendCandidate(cl *clinicianCall, cand signalling.Candidate) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if !cl.offered {
		cl.pending = append(cl.pending, cand)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := c.conn.Send(ctx, signalling.TypeCandidate, &cand); err != nil {
		c.t.Logf("clinician: send candidate: %v", err)
	}
}

// admit admits appointmentID and runs the offer/answer and candidate exchange. The call's
// messages are handled in a goroutine until hangup or end; the returned call is connected
// or about to be.
func (c *clinician) admit(appointmentID string, cc capture.Config) *clinicianCall {
	c.t.Helper()
	c.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: appointmentID})
	started := c.expect(signalling.TypeCall, func(b any) bool { return b.(*signalling.Call).AppointmentID == appointmentID }).(*signalling.Call)
	if started.Role != signalling.CallOfferer {
		c.t.Fatalf("clinician: got call role %s, want %s", started.Role, signalling.CallOfferer)
	}
	media, err := synth.Open(synth.Config{Capture: cc})
	if err != nil {
		c.t.Fatalf("synth.Open: %v", err)
	}
	cl := &clinicianCall{ID: started.CallID, media: media, stop: make(chan struct{})}
	pc, err := c.engine.NewCall(call.Options{
		Role:       signalling.CallOfferer,
		ICEServers: started.ICEServers,
		Tracks:     media.Tracks(),
		OnCandidate: func(cand signalling.Candidate) {
			cand.CallID = started.CallID
			c.sendCandidate(cl, cand)
		},
		OnVideoFrame: func(*image.YCbCr) { cl.frames.Add(1) },
		OnAudio:      func([]int16) { cl.audio.Add(1) },
	})
	if err != nil {
		media.Close()
		c.t.Fatalf("clinician: NewCall: %v", err)
	}
	cl.Call = pc
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	offer, err := pc.Offer(ctx)
	if err != nil {
		c.t.Fatalf("clinician: offer: %v", err)
	}
	cl.mu.Lock()
	c.send(signalling.TypeOffer, &signalling.SDP{CallID: cl.ID, SDP: offer})
	cl.offered = true
	pending := cl.pending
	cl.pending = nil
	cl.mu.Unlock()
	for _, cand := range pending {
		c.sendCandidate(cl, cand)
	}
	ans := c.expect(signalling.TypeAnswer, func(b any) bool { return b.(*signalling.SDP).CallID == cl.ID }).(*signalling.SDP)
	if err := pc.SetAnswer(ans.SDP); err != nil {
		c.t.Fatalf("clinician: set answer: %v", err)
	}
	return cl
}

// pump applies the booth's candidates until the call ends (returns the end message) or
// the clinician hangs up (returns nil). It must run while the call is up.
func (c *clinician) pump(cl *clinicianCall) <-chan *signalling.End {
	ended := make(chan *signalling.End, 1)
	cl.wg.Add(1)
	go func() {
		defer cl.wg.Done()
		for {
			select {
			case <-cl.stop:
				ended <- nil
				return
			case m, ok := <-c.in:
				if !ok {
					ended <- nil
					return
				}
				switch b := m.body.(type) {
				case *signalling.Candidate:
					if b.CallID == cl.ID {
						if err := cl.Call.AddCandidate(*b); err != nil {
							c.t.Errorf("clinician: add candidate: %v", err)
						}
					}
				case *signalling.End:
					if b.CallID == cl.ID {
						ended <- b
						return
					}
				case *signalling.Error:
					c.t.Errorf("clinician: switchboard refused a message: %+v", b)
				}
			}
		}
	}()
	return ended
}

// hangUp stops the pump and tears the clinician's side down.
func (cl *clinicianCall) close() {
	select {
	case <-cl.stop:
	default:
		close(cl.stop)
	}
	cl.wg.Wait()
	cl.Call.Close()
	cl.media.Close()
}

// eventually polls cond until it holds or the guard runs out.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, guard)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// queueLen returns the clinic's waiting-room length through the API.
func (c *clinician) queueLen(t testing.TB) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	q, err := c.api.WaitingRoom(ctx)
	if err != nil {
		t.Fatalf("waiting room: %v", err)
	}
	return len(q.Entries)
}

func describe(s booth.Snapshot) string {
	return fmt.Sprintf("%+v", s)
}

// run starts b as rb's booth until the test ends (or rb.stop).
func (rb *runningBooth) run(t testing.TB, b *booth.Booth) {
	rb.Booth = b
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	rb.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("booth.Run: %v", err)
			}
			b.Close()
		})
	}
	t.Cleanup(rb.stop)
}
