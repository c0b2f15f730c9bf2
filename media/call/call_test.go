package call

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/mediadevices"
	_ "github.com/pion/mediadevices/pkg/driver/audiotest"
	_ "github.com/pion/mediadevices/pkg/driver/videotest"
	"github.com/pion/webrtc/v4"

	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
)

// guard bounds every wait; it only fails a test that hangs, it measures nothing.
const guard = 60 * time.Second

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func testEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine(EngineConfig{
		Logger:                 testLogger(),
		Loopback:               true,
		NetworkTypes:           []webrtc.NetworkType{webrtc.NetworkTypeUDP4},
		DisableMDNS:            true,
		ICEDisconnectedTimeout: time.Second,
		ICEFailedTimeout:       2 * time.Second,
	})
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return e
}

// openStream opens the test sources at 640x480, 30 fps; both calls of a test share them,
// as each mediadevices driver opens once per process.
func openStream(t testing.TB) *capture.Stream {
	t.Helper()
	s, err := capture.Open(capture.Config{Video: capture.SourceTest, Audio: capture.SourceTest,
		Width: 640, Height: 480, FPS: 30, Shared: true}, testLogger())
	if err != nil {
		t.Fatalf("capture.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkGoroutines returns a function that fails t if goroutines started after this call are
// still running once they have had time to stop (pion's test.CheckRoutines, without a
// dependency).
func checkGoroutines(t testing.TB) func() {
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(guard)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("goroutines: got %d after the calls closed, want at most %d\n%s", n, before, buf)
		}
	}
}

// side is one end of a test call with its candidate channel and frame counts.
type side struct {
	call   *Call
	cands  chan signalling.Candidate
	frames atomic.Int64
	audio  atomic.Int64
}

func newSide(t testing.TB, e *Engine, role signalling.CallRole, tracks []mediadevices.Track) *side {
	t.Helper()
	s := &side{cands: make(chan signalling.Candidate, 64)}
	c, err := e.NewCall(Options{
		Role:         role,
		Tracks:       tracks,
		OnCandidate:  func(c signalling.Candidate) { s.cands <- c },
		OnVideoFrame: func(*image.YCbCr) { s.frames.Add(1) },
		OnAudio:      func([]int16) { s.audio.Add(1) },
	})
	if err != nil {
		t.Fatalf("NewCall(%s): %v", role, err)
	}
	s.call = c
	return s
}

// relay forwards candidates from one side to the other until stop closes; wait for it with wg.
func relay(t testing.TB, wg *sync.WaitGroup, stop <-chan struct{}, from, to *side) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case c := <-from.cands:
				if err := to.call.AddCandidate(c); err != nil && !errors.Is(err, ErrClosed) {
					t.Errorf("AddCandidate: %v", err)
				}
			}
		}
	}()
}

// connectPair makes an offerer and an answerer over loopback, both sending tracks.
func connectPair(t testing.TB, e *Engine, tracks, ansTracks []mediadevices.Track) (off, ans *side, stop func()) {
	t.Helper()
	off = newSide(t, e, signalling.CallOfferer, tracks)
	ans = newSide(t, e, signalling.CallAnswerer, ansTracks)
	return off, ans, handshake(t, off, ans)
}

// handshake relays candidates between off and ans and runs the offer/answer exchange; the
// returned func stops the relays.
func handshake(t testing.TB, off, ans *side) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	relay(t, &wg, done, off, ans)
	relay(t, &wg, done, ans, off)
	ctx := context.Background()
	offer, err := off.call.Offer(ctx)
	if err != nil {
		t.Fatalf("Offer: %v", err)
	}
	answer, err := ans.call.Answer(ctx, offer)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if err := off.call.SetAnswer(answer); err != nil {
		t.Fatalf("SetAnswer: %v", err)
	}
	return func() { close(done); wg.Wait() }
}

func waitFor(t testing.TB, what string, ok func() bool, info func() string) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: gave up waiting; %s", what, info())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCallLoopback(t *testing.T) {
	stream := openStream(t)
	leaks := checkGoroutines(t)
	e := testEngine(t)
	off, ans, stop := connectPair(t, e, stream.Tracks(), stream.Tracks())

	enough := func(s *side) bool { return s.frames.Load() >= 60 && s.audio.Load() >= 100 }
	waitFor(t, "60 video frames and 100 audio packets each way",
		func() bool { return enough(off) && enough(ans) },
		func() string {
			return fmt.Sprintf("offerer %+v; answerer %+v", off.call.Stats(), ans.call.Stats())
		})

	waitFor(t, "an RTT from RTCP reports on both sides",
		func() bool { return off.call.Stats().RTT > 0 && ans.call.Stats().RTT > 0 },
		func() string {
			return fmt.Sprintf("offerer %v, answerer %v", off.call.Stats().RTT, ans.call.Stats().RTT)
		})

	for _, s := range []*side{off, ans} {
		st := s.call.Stats()
		name := s.call.opts.Role
		t.Logf("%s: join %v, %+v", name, st.JoinLatency(), st)
		if st.FramesDecoded < 60 || st.AudioPacketsDecoded < 100 {
			t.Errorf("%s: got %d frames, %d audio packets decoded, want >= 60, >= 100", name, st.FramesDecoded, st.AudioPacketsDecoded)
		}
		if st.FramesSent == 0 || st.BytesSent == 0 || st.BytesReceived == 0 || st.VideoPacketsReceived == 0 {
			t.Errorf("%s: got frames sent %d, bytes sent %d, received %d, video packets %d, want all > 0",
				name, st.FramesSent, st.BytesSent, st.BytesReceived, st.VideoPacketsReceived)
		}
		if st.ConnectedAt.IsZero() || st.FirstFrameAt.IsZero() || st.FirstFrameAt.Before(st.ConnectedAt) {
			t.Errorf("%s: got connected at %v, first frame at %v, want both set, in that order", name, st.ConnectedAt, st.FirstFrameAt)
		}
		select {
		case <-s.call.Connected():
		default:
			t.Errorf("%s: Connected not closed while media flows", name)
		}
	}

	for _, s := range []*side{off, ans} {
		if err := s.call.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := s.call.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		select {
		case <-s.call.Done():
		default:
			t.Errorf("Done not closed after Close")
		}
	}
	if err := off.call.Err(); err != nil {
		t.Errorf("offerer Err after Close: got %v, want nil", err)
	}
	stop()
	leaks()
}

// Candidates that arrive before the remote description are applied once it is set: here
// every offerer candidate reaches the answerer before the offer does.
func TestCandidatesBeforeOffer(t *testing.T) {
	stream := openStream(t)
	leaks := checkGoroutines(t)
	e := testEngine(t)
	off := newSide(t, e, signalling.CallOfferer, stream.Tracks())
	ans := newSide(t, e, signalling.CallAnswerer, nil)
	ctx := context.Background()

	offer, err := off.call.Offer(ctx)
	if err != nil {
		t.Fatalf("Offer: %v", err)
	}
	n := 0
	timeout := time.After(guard)
	for gathering := true; gathering; {
		select {
		case c := <-off.cands:
			if c.Candidate == "" {
				gathering = false
				break
			}
			if err := ans.call.AddCandidate(c); err != nil {
				t.Fatalf("AddCandidate before the offer: %v", err)
			}
			n++
		case <-timeout:
			t.Fatalf("offerer did not finish gathering")
		}
	}
	if n == 0 {
		t.Fatalf("offerer gathered no candidates")
	}
	ans.call.mu.Lock()
	queued := len(ans.call.queued)
	ans.call.mu.Unlock()
	if queued != n {
		t.Errorf("queued candidates: got %d, want %d", queued, n)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	relay(t, &wg, stop, ans, off)
	answer, err := ans.call.Answer(ctx, offer)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if err := off.call.SetAnswer(answer); err != nil {
		t.Fatalf("SetAnswer: %v", err)
	}
	select {
	case <-ans.call.Connected():
	case <-ans.call.Done():
		t.Fatalf("call ended before connecting: %v", ans.call.Err())
	case <-time.After(guard):
		t.Fatalf("not connected with the queued candidates")
	}
	waitFor(t, "a decoded frame at the receive-only answerer", func() bool { return ans.frames.Load() > 0 },
		func() string { return fmt.Sprintf("%+v", ans.call.Stats()) })
	off.call.Close()
	ans.call.Close()
	close(stop)
	wg.Wait()
	leaks()
}

func TestBadInput(t *testing.T) {
	e := testEngine(t)
	if _, err := e.NewCall(Options{Role: "host"}); !errors.Is(err, ErrBadRole) {
		t.Errorf("NewCall with role host: got %v, want %v", err, ErrBadRole)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		role signalling.CallRole
		do   func(c *Call) error
		want error
	}{
		{"garbage offer", signalling.CallAnswerer, func(c *Call) error { _, err := c.Answer(ctx, "hello"); return err }, ErrBadSDP},
		{"offer without media", signalling.CallAnswerer, func(c *Call) error {
			_, err := c.Answer(ctx, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
			return err
		}, ErrBadSDP},
		{"garbage answer", signalling.CallOfferer, func(c *Call) error {
			if _, err := c.Offer(ctx); err != nil {
				return err
			}
			return c.SetAnswer("v=0\r\nnonsense")
		}, ErrBadSDP},
		{"answerer offers", signalling.CallAnswerer, func(c *Call) error { _, err := c.Offer(ctx); return err }, ErrWrongRole},
		{"offerer answers", signalling.CallOfferer, func(c *Call) error { _, err := c.Answer(ctx, "v=0"); return err }, ErrWrongRole},
		{"bad candidate after offer", signalling.CallOfferer, func(c *Call) error {
			offer, err := c.Offer(ctx)
			if err != nil {
				return err
			}
			other, err := e.NewCall(Options{Role: signalling.CallAnswerer})
			if err != nil {
				return err
			}
			defer other.Close()
			answer, err := other.Answer(ctx, offer)
			if err != nil {
				return err
			}
			if err := c.SetAnswer(answer); err != nil {
				return err
			}
			return c.AddCandidate(signalling.Candidate{Candidate: "candidate:nonsense"})
		}, ErrBadCandidate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaks := checkGoroutines(t)
			c, err := e.NewCall(Options{Role: tt.role})
			if err != nil {
				t.Fatalf("NewCall: %v", err)
			}
			err = tt.do(c)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			c.Close()
			if _, err := c.Offer(ctx); tt.role == signalling.CallOfferer && !errors.Is(err, ErrClosed) {
				t.Errorf("Offer after Close: got %v, want %v", err, ErrClosed)
			}
			leaks()
		})
	}
}

// When the other side goes away, Done closes and Err says why.
func TestRemoteGone(t *testing.T) {
	stream := openStream(t)
	leaks := checkGoroutines(t)
	e := testEngine(t)
	off, ans, stop := connectPair(t, e, stream.Tracks(), nil)
	select {
	case <-off.call.Connected():
	case <-time.After(guard):
		t.Fatalf("not connected")
	}
	ans.call.Close()
	select {
	case <-off.call.Done():
	case <-time.After(guard):
		t.Fatalf("offerer's Done not closed after the answerer went away")
	}
	if err := off.call.Err(); !errors.Is(err, ErrRemoteClosed) && !errors.Is(err, ErrFailed) {
		t.Errorf("Err: got %v, want %v or %v", err, ErrRemoteClosed, ErrFailed)
	}
	off.call.Close()
	stop()
	leaks()
}

// BenchmarkJoin measures the time from creating the calls to the first decoded frame on
// the answerer (the booth's side), over loopback, and reports p50 and p95.
func BenchmarkJoin(b *testing.B) {
	stream := openStream(b)
	e := testEngine(b)
	var joins []time.Duration
	for i := 0; i < b.N; i++ {
		off, ans, stop := connectPair(b, e, stream.Tracks(), stream.Tracks())
		waitFor(b, "first frame", func() bool { return ans.frames.Load() > 0 }, func() string { return "" })
		joins = append(joins, ans.call.Stats().JoinLatency())
		off.call.Close()
		ans.call.Close()
		stop()
	}
	sort.Slice(joins, func(i, j int) bool { return joins[i] < joins[j] })
	p := func(q float64) float64 { return joins[int(q*float64(len(joins)-1))].Seconds() * 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.95), "p95-ms")
}
