//go:build linux

// The render benchmark reads per-thread CPU clocks (clock_gettime(2) on another thread's
// clock), which is Linux's; elsewhere it is not built.

package e2e

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"golang.org/x/sys/unix"

	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/hw/screen/fbdev"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/media/playout"
	"github.com/carebooth/carebooth/media/synth"
	"github.com/carebooth/carebooth/media/vp8"
	"github.com/carebooth/carebooth/signalling"
)

// hd is the render benchmark's call: the clinician's 1280x720 camera at 30 fps, VP8 at
// 2 Mbit/s (what browsers settle at for 720p on a good link), Opus at capture's default.
var hd = capture.Config{Width: 1280, Height: 720, FPS: 30, VideoBitrate: 2_000_000}

// hdGrain is the synthetic camera's noise: enough for VP8 to spend the 2 Mbit/s, as it
// does on a real camera's picture, so the decoder works as hard as in a real call.
const hdGrain = 2

const (
	renderLatencyTarget = 120 * time.Millisecond // capture to screen, p50
	renderCPUTarget     = 15.0                   // render and playout, % of one core
	renderWarmUp        = 3 * time.Second        // after the first frame on the panel
	speakerPeriod       = 10 * time.Millisecond  // hw/speaker's default ALSA period
)

// BenchmarkCaptureToRender runs a 1280x720 30 fps loopback call into the booth's real
// receive path and measures capture-to-render latency and the CPU of decoding, drawing and
// playing out. Targets: latency p50 at most 120 ms; render and playout together at most 15%
// of one core.
//
// The clinician's side sends synth's stamped picture (each frame carries its capture time
// as a code of black and white cells) and a tone through media/call. The booth's side is
// wired as cmd/boothd wires it: OnVideoFrame is hw/screen's Display.SetRemoteFrame, the
// display draws the in-call screen at 30 fps onto a panel that packs each frame into
// RGB565 framebuffer memory with fbdev.Pack (a Pi's /dev/fb0), and the engine's
// OnAudioPacket is media/playout's Push, pulled by a speaker goroutine in 10 ms periods.
// The latency of a frame is the time the panel's Show has packed it minus the capture time
// read back from the framebuffer memory itself, so only pictures that really reached the
// panel count, each once (a redraw of the same frame is not a new sample). The capture
// time is when the source hands the frame to the encoder, in whole milliseconds (so a
// figure is up to 1 ms high); a real camera's exposure and buffering before that, and the
// panel's scan-out after, are not in it.
//
// CPU is read from per-thread CPU clocks, each figure naming what it holds: decode is
// media/call's video receive goroutine (locked to its thread from its first frame
// callback) less the callback's own work; draw is the display's Run goroutine (render and
// pack) plus SetRemoteFrame's copy; playout is Push plus the speaker's Read. The
// benchmark's own stamp reading is timed and left out. A separate pass encodes and decodes
// the same picture outside the call, for the encoder's time and the decoder's own CPU.
//
// The call lasts BENCH_CALL_SECONDS (default 15) after a 3 s warm-up. Only the booth
// receives: its own camera and encoder are not running.
func BenchmarkCaptureToRender(b *testing.B) {
	callFor := 15 * time.Second
	if s := os.Getenv("BENCH_CALL_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_CALL_SECONDS=%q: want a positive number of seconds", s)
		}
		callFor = time.Duration(n) * time.Second
	}
	for range b.N {
		encodeWall, decodeCPU := codecCost(b, hd, 90)
		r := runRenderCall(b, clockwork.NewRealClock(), callFor)
		r.report(b, encodeWall, decodeCPU)
	}
}

// renderProbe is the benchmark's instrumentation of the booth's receive path: the frame
// callback, the panel and the speaker report to it.
type renderProbe struct {
	clock clockwork.Clock
	epoch time.Time // the stamps count milliseconds from here

	measuring atomic.Bool

	// Thread ids of the goroutines whose whole CPU is counted (each locked to its thread):
	// media/call's video receive goroutine and the display's Run.
	recvTID, displayTID atomic.Int64
	// CPU time (ns) spent in the measured pieces, always counting; the window's figures
	// are differences of snapshots.
	copyCPU      atomic.Int64 // Display.SetRemoteFrame (the display's copy of the frame)
	selfCPU      atomic.Int64 // Display.SetSelfFrame (the copy of the camera's frame)
	recvReadCPU  atomic.Int64 // reading the stamp off the decoded frame (benchmark only)
	showReadCPU  atomic.Int64 // reading the stamp off the framebuffer (benchmark only)
	pushCPU      atomic.Int64 // playout.Push
	speakerCPU   atomic.Int64 // playout.Read
	speakerReads atomic.Int64

	mu         sync.Mutex // guards the fields below
	decodedAt  map[uint32]time.Time
	lastShown  uint32
	haveShown  bool
	firstShown chan struct{} // closed when a stamped frame first reaches the panel
	latency    []time.Duration
	toDecoded  []time.Duration // capture to decoded (OnVideoFrame)
	toPanel    []time.Duration // decoded to on the panel
	decoded    int             // frames decoded in the window
	unreadable int             // panel frames in the window whose stamp did not read
	redraws    int             // panel frames in the window showing a frame already shown
}

func newRenderProbe(clock clockwork.Clock) *renderProbe {
	return &renderProbe{clock: clock, epoch: clock.Now(), decodedAt: make(map[uint32]time.Time),
		firstShown: make(chan struct{})}
}

// onVideoFrame is the booth's OnVideoFrame: the display's SetRemoteFrame, timed.
func (p *renderProbe) onVideoFrame(d *screen.Display) func(*image.YCbCr) {
	return func(img *image.YCbCr) {
		now := p.clock.Now()
		if p.recvTID.Load() == 0 {
			// Wire media/call's video receive goroutine (the only caller) to its thread
			// for the rest of its life, so that thread's CPU clock is that goroutine's
			// CPU. It changes no behaviour: the goroutine ends with the call, and Go then
			// retires the thread.
			runtime.LockOSThread()
			p.recvTID.Store(int64(unix.Gettid()))
		}
		c0 := ownCPU()
		v, err := synth.ReadStamp(img)
		c1 := ownCPU()
		d.SetRemoteFrame(img)
		c2 := ownCPU()
		p.recvReadCPU.Add(int64(c1 - c0))
		p.copyCPU.Add(int64(c2 - c1))
		p.mu.Lock()
		if err == nil {
			p.decodedAt[v] = now
		}
		if p.measuring.Load() {
			p.decoded++
		}
		p.mu.Unlock()
	}
}

// shown records a frame the panel has just packed into fb.
func (p *renderProbe) shown(fb image.Image) {
	now := p.clock.Now()
	c0 := ownCPU()
	v, err := synth.ReadStamp(fb)
	p.showReadCPU.Add(int64(ownCPU() - c0))
	p.mu.Lock()
	defer p.mu.Unlock()
	measuring := p.measuring.Load()
	switch {
	case err != nil:
		if measuring {
			p.unreadable++
		}
		return
	case p.haveShown && v == p.lastShown:
		if measuring {
			p.redraws++
		}
		return
	}
	if !p.haveShown {
		close(p.firstShown)
	}
	p.lastShown, p.haveShown = v, true
	decoded, ok := p.decodedAt[v]
	delete(p.decodedAt, v)
	for k := range p.decodedAt {
		if k < v { // decoded but replaced before the display drew it
			delete(p.decodedAt, k)
		}
	}
	if !measuring {
		return
	}
	captured := synth.StampTime(p.epoch, v)
	p.latency = append(p.latency, now.Sub(captured))
	if ok {
		p.toDecoded = append(p.toDecoded, decoded.Sub(captured))
		p.toPanel = append(p.toPanel, now.Sub(decoded))
	}
}

// fbPanel is a framebuffer panel in ordinary memory, taking frames as fbdev.FB does: the
// display draws in the framebuffer's RGB565 layout and ShowFrame copies the changed lines
// (fbdev.PackFrame) into what stands for /dev/fb0's mapping.
type fbPanel struct {
	format fbdev.Format
	layout *screen.PixelLayout
	mem    []byte
	probe  *renderProbe
}

var _ screen.FramePanel = (*fbPanel)(nil)

func newFBPanel(tb testing.TB, w, h int, probe *renderProbe) *fbPanel {
	f := fbdev.Format{BitsPerPixel: 16, Red: fbdev.Bitfield{Offset: 11, Length: 5},
		Green: fbdev.Bitfield{Offset: 5, Length: 6}, Blue: fbdev.Bitfield{Length: 5}}.WithSize(w, h)
	layout, err := f.PixelLayout()
	if err != nil {
		tb.Fatalf("RGB565 pixel layout: %v", err)
	}
	return &fbPanel{format: f, layout: layout, mem: make([]byte, f.Size()), probe: probe}
}

func (p *fbPanel) Size() image.Point                { return image.Pt(p.format.Width, p.format.Height) }
func (p *fbPanel) PixelLayout() *screen.PixelLayout { return p.layout }

func (p *fbPanel) Show(img *image.RGBA) error {
	fbdev.Pack(p.mem, p.format, img)
	p.probe.shown(rgb565{p.format, p.mem})
	return nil
}

func (p *fbPanel) ShowFrame(f *screen.Frame, dirty image.Rectangle) error {
	fbdev.PackFrame(p.mem, p.format, f, dirty)
	p.probe.shown(rgb565{p.format, p.mem})
	return nil
}

// rgb565 is RGB565 framebuffer memory seen as an image, to read the stamp back from what
// the panel holds.
type rgb565 struct {
	f   fbdev.Format
	mem []byte
}

func (m rgb565) ColorModel() color.Model { return color.RGBAModel }
func (m rgb565) Bounds() image.Rectangle { return image.Rect(0, 0, m.f.Width, m.f.Height) }
func (m rgb565) At(x, y int) color.Color {
	o := (m.f.YOffset+y)*m.f.Stride + (m.f.XOffset+x)*2
	v := uint16(m.mem[o]) | uint16(m.mem[o+1])<<8
	r, g, b := uint8(v>>11)<<3, uint8(v>>5&0x3f)<<2, uint8(v&0x1f)<<3
	return color.RGBA{r | r>>5, g | g>>6, b | b>>5, 0xff}
}

// cpuSnapshot is the probe's CPU counters at one moment.
type cpuSnapshot struct {
	at                    time.Time
	recvThread, display   time.Duration
	copy, recvRead, self  time.Duration
	showRead, push, speak time.Duration
	reads                 int64
}

func (p *renderProbe) snapshot(tb testing.TB) cpuSnapshot {
	tb.Helper()
	recv, err := threadCPU(int(p.recvTID.Load()))
	if err != nil {
		tb.Fatalf("video receive thread: %v", err)
	}
	disp, err := threadCPU(int(p.displayTID.Load()))
	if err != nil {
		tb.Fatalf("display thread: %v", err)
	}
	return cpuSnapshot{at: p.clock.Now(), recvThread: recv, display: disp,
		copy: time.Duration(p.copyCPU.Load()), recvRead: time.Duration(p.recvReadCPU.Load()),
		self:     time.Duration(p.selfCPU.Load()),
		showRead: time.Duration(p.showReadCPU.Load()), push: time.Duration(p.pushCPU.Load()),
		speak: time.Duration(p.speakerCPU.Load()), reads: p.speakerReads.Load()}
}

// renderResult is what one benchmark call measured.
type renderResult struct {
	callFor                       time.Duration
	wall                          time.Duration
	latency, toDecoded, toPanel   []time.Duration // sorted
	decoded, unreadable, redraws  int
	decode, draw, play            time.Duration // CPU over wall
	drawThread, copy, push, speak time.Duration
	self                          time.Duration // the self-view's copies
	speakerReads                  int64
	audio                         playout.Stats
	bitrate                       float64 // bits per second received
}

// runRenderCall runs one loopback call for the warm-up and then callFor, measuring.
func runRenderCall(b *testing.B, clock clockwork.Clock, callFor time.Duration) renderResult {
	b.Helper()
	// Errors only: pion warns about every candidate pair it cannot ping yet.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	probe := newRenderProbe(clock)

	media, err := synth.Open(synth.Config{Capture: hd, Clock: clock, StampEpoch: probe.epoch, Grain: hdGrain})
	if err != nil {
		b.Fatalf("synth.Open: %v", err)
	}
	defer media.Close()

	panel := newFBPanel(b, 1280, 720, probe)
	display, err := screen.NewDisplay(panel, screen.DisplayConfig{Clock: clock, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	display.SetView(screen.View{Kind: screen.InCall})
	pl, err := playout.New(playout.Config{Clock: clock, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	defer pl.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	displayErr := make(chan error, 1)
	wg.Add(3)
	go func() {
		defer wg.Done()
		feedSelfView(ctx, clock, display, probe)
	}()
	go func() {
		defer wg.Done()
		// Locked for the whole run, so this thread's CPU clock is the display's.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		probe.displayTID.Store(int64(unix.Gettid()))
		displayErr <- display.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		speak(ctx, clock, pl, probe)
	}()

	engine := func(onAudio func(*rtp.Packet)) *call.Engine {
		e, err := call.NewEngine(call.EngineConfig{Logger: logger, Clock: clock, Loopback: true,
			NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeUDP4}, DisableMDNS: true, OnAudioPacket: onAudio})
		if err != nil {
			b.Fatalf("NewEngine: %v", err)
		}
		return e
	}
	clinician := engine(nil)
	booth := engine(func(pkt *rtp.Packet) {
		runtime.LockOSThread() // so the thread clock is this goroutine's for the Push
		c0 := ownCPU()
		pl.Push(pkt)
		probe.pushCPU.Add(int64(ownCPU() - c0))
		runtime.UnlockOSThread()
	})
	send, recv, stopRelay := connectLoopback(b, clinician, booth, media.Tracks(), probe.onVideoFrame(display))
	defer stopRelay()
	defer send.Close()
	defer recv.Close()

	select {
	case <-probe.firstShown:
	case err := <-displayErr:
		b.Fatalf("display stopped before the first frame: %v", err)
	case <-recv.Done():
		b.Fatalf("call ended before the first frame: %v", recv.Err())
	case <-clock.After(guard):
		b.Fatalf("no stamped frame reached the panel in %v; call %+v", guard, recv.Stats())
	}
	wait := func(d time.Duration) {
		select {
		case <-clock.After(d):
		case err := <-displayErr:
			b.Fatalf("display stopped: %v", err)
		case <-recv.Done():
			b.Fatalf("call ended: %v", recv.Err())
		}
	}
	wait(renderWarmUp)

	bytes0 := recv.Stats().BytesReceived
	s0 := probe.snapshot(b)
	probe.measuring.Store(true)
	wait(callFor)
	probe.measuring.Store(false)
	s1 := probe.snapshot(b)
	bytes1 := recv.Stats().BytesReceived

	r := renderResult{callFor: callFor, wall: s1.at.Sub(s0.at), audio: pl.Stats()}
	probe.mu.Lock()
	r.latency, r.toDecoded, r.toPanel = probe.latency, probe.toDecoded, probe.toPanel
	r.decoded, r.unreadable, r.redraws = probe.decoded, probe.unreadable, probe.redraws
	probe.mu.Unlock()
	for _, s := range [][]time.Duration{r.latency, r.toDecoded, r.toPanel} {
		slices.Sort(s)
	}
	// The receive goroutine's CPU less what the display and the benchmark did in its
	// callback; the display thread's CPU less the benchmark's stamp reading.
	r.copy = s1.copy - s0.copy
	r.decode = (s1.recvThread - s0.recvThread) - r.copy - (s1.recvRead - s0.recvRead)
	r.drawThread = (s1.display - s0.display) - (s1.showRead - s0.showRead)
	r.self = s1.self - s0.self
	r.draw = r.drawThread + r.copy + r.self
	r.push, r.speak = s1.push-s0.push, s1.speak-s0.speak
	r.play = r.push + r.speak
	r.speakerReads = s1.reads - s0.reads
	r.bitrate = float64(bytes1-bytes0) * 8 / r.wall.Seconds()
	if len(r.latency) == 0 {
		b.Fatalf("no frame reached the panel in the %v measured", callFor)
	}
	if r.audio.Decoded == 0 {
		b.Fatalf("the playout decoded no audio: %+v", r.audio)
	}
	return r
}

// speak is the speaker: it pulls 10 ms periods from the playout at the (clock's) sound
// card's pace until ctx ends, timing each Read on its own locked thread.
// feedSelfView hands the display a 1280x720 camera frame 30 times a second for the
// self-view, as boothd's capture does (capture.Config.OnSelfFrame), timing the copy.
func feedSelfView(ctx context.Context, clock clockwork.Clock, d *screen.Display, probe *renderProbe) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	frame := image.NewYCbCr(image.Rect(0, 0, hd.Width, hd.Height), image.YCbCrSubsampleRatio420)
	for i := range frame.Y {
		frame.Y[i] = uint8(i / hd.Width)
	}
	for i := range frame.Cb {
		frame.Cb[i], frame.Cr[i] = 90, 160
	}
	tick := clock.NewTicker(time.Second / time.Duration(hd.FPS))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.Chan():
		}
		c0 := ownCPU()
		d.SetSelfFrame(frame)
		probe.selfCPU.Add(int64(ownCPU() - c0))
	}
}

func speak(ctx context.Context, clock clockwork.Clock, pl *playout.Playout, probe *renderProbe) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]int16, int(speakerPeriod*playout.SampleRate/time.Second))
	tick := clock.NewTicker(speakerPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.Chan():
		}
		c0 := ownCPU()
		pl.Read(buf)
		probe.speakerCPU.Add(int64(ownCPU() - c0))
		probe.speakerReads.Add(1)
	}
}

// connectLoopback connects a clinician's call (offerer, sending tracks) and the booth's
// (answerer, receiving only, frames to onFrame) over loopback. stop ends the candidate
// relays; call it after closing both calls.
func connectLoopback(tb testing.TB, clinician, booth *call.Engine, tracks []mediadevices.Track,
	onFrame func(*image.YCbCr)) (send, recv *call.Call, stop func()) {
	tb.Helper()
	toBooth := make(chan signalling.Candidate, 64)
	toClinician := make(chan signalling.Candidate, 64)
	send, err := clinician.NewCall(call.Options{Role: signalling.CallOfferer, Tracks: tracks,
		OnCandidate: func(c signalling.Candidate) { toBooth <- c }})
	if err != nil {
		tb.Fatalf("clinician NewCall: %v", err)
	}
	recv, err = booth.NewCall(call.Options{Role: signalling.CallAnswerer, OnVideoFrame: onFrame,
		OnCandidate: func(c signalling.Candidate) { toClinician <- c }})
	if err != nil {
		send.Close()
		tb.Fatalf("booth NewCall: %v", err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	relay := func(from <-chan signalling.Candidate, to *call.Call) {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case c := <-from:
				if err := to.AddCandidate(c); err != nil && !errors.Is(err, call.ErrClosed) {
					tb.Errorf("AddCandidate: %v", err)
				}
			}
		}
	}
	wg.Add(2)
	go relay(toBooth, recv)
	go relay(toClinician, send)
	stop = func() { close(done); wg.Wait() }
	ctx := context.Background()
	offer, err := send.Offer(ctx)
	if err == nil {
		var answer string
		if answer, err = recv.Answer(ctx, offer); err == nil {
			err = send.SetAnswer(answer)
		}
	}
	if err != nil {
		send.Close()
		recv.Close()
		stop()
		tb.Fatalf("offer/answer: %v", err)
	}
	return send, recv, stop
}

// codecCost encodes n frames of the stamped picture outside the call, at the call's
// settings, and decodes them as media/call does (one libvpx thread): the encoder's wall
// time per frame (p50), a part of the latency the call cannot separate from the network,
// and the decoder's own CPU per frame, to set against the receive goroutine's.
func codecCost(b *testing.B, cc capture.Config, n int) (encodeWall, decodeCPU time.Duration) {
	b.Helper()
	clock := clockwork.NewFakeClock() // rate control sees 30 fps, however fast this runs
	src, err := synth.Video(synth.Config{Capture: cc, Clock: clock, StampEpoch: clock.Now(), Grain: hdGrain})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	enc, err := vp8.NewEncoder(nil, prop.Media{Video: prop.Video{Width: cc.Width, Height: cc.Height}},
		vp8.Params{BitRate: cc.VideoBitrate, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	dec, err := vp8.NewDecoder(vp8.DecoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var walls []time.Duration
	var cpu time.Duration
	for i := range n {
		img, release, err := src.Read()
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		frame, _, err := enc.Encode(img)
		walls = append(walls, time.Since(t0))
		release()
		if err != nil {
			b.Fatalf("encode frame %d: %v", i, err)
		}
		c0 := ownCPU()
		if _, err := dec.Decode(frame); err != nil {
			b.Fatalf("decode frame %d: %v", i, err)
		}
		cpu += ownCPU() - c0
		clock.Advance(time.Second / time.Duration(cc.FPS))
	}
	slices.Sort(walls)
	return percentile(walls, 0.5), cpu / time.Duration(n)
}

func (r renderResult) report(b *testing.B, encodeWall, decodeCPU time.Duration) {
	pct := func(d time.Duration) float64 { return 100 * float64(d) / float64(r.wall) }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
	p50, p95 := percentile(r.latency, 0.5), percentile(r.latency, 0.95)
	renderPlay := pct(r.draw) + pct(r.play)
	b.ReportMetric(float64(p50)/float64(time.Millisecond), "latency-p50-ms")
	b.ReportMetric(float64(p95)/float64(time.Millisecond), "latency-p95-ms")
	b.ReportMetric(float64(len(r.latency)), "frames")
	b.ReportMetric(pct(r.decode), "decode-%core")
	b.ReportMetric(pct(r.draw), "draw-%core")
	b.ReportMetric(pct(r.play), "playout-%core")
	b.ReportMetric(renderPlay, "render+playout-%core")

	fps := float64(len(r.latency)) / r.wall.Seconds()
	fmt.Printf("capture to render, 1280x720 %d fps VP8 (%.0f kbit/s received) + Opus, loopback call, %v measured after %v warm-up:\n",
		hd.FPS, r.bitrate/1000, r.callFor, renderWarmUp)
	fmt.Printf("  latency, capture to packed in the RGB565 framebuffer (time read back from it): p50 %s  p95 %s  max %s over %d frames (%.1f fps on the panel)\n",
		ms(p50), ms(p95), ms(r.latency[len(r.latency)-1]), len(r.latency), fps)
	fmt.Printf("    (target p50 <= %v: %.2fx of target)\n", renderLatencyTarget, float64(p50)/float64(renderLatencyTarget))
	fmt.Printf("    capture -> decoded p50 %s p95 %s; decoded -> on the panel p50 %s p95 %s\n",
		ms(percentile(r.toDecoded, 0.5)), ms(percentile(r.toDecoded, 0.95)), ms(percentile(r.toPanel, 0.5)), ms(percentile(r.toPanel, 0.95)))
	fmt.Printf("    outside the call, per frame: encode %s (wall, p50), decode %s (CPU, mean)\n", ms(encodeWall), ms(decodeCPU))
	fmt.Printf("    frames decoded %d, new on the panel %d, redrawn %d, unreadable %d\n",
		r.decoded, len(r.latency), r.redraws, r.unreadable)
	fmt.Printf("  CPU, %% of one core (%d cores, %s):\n", runtime.NumCPU(), runtime.GOARCH)
	fmt.Printf("    decode   %5.1f%%  media/call's video receive goroutine: RTP read and pion's interceptors, VP8 depacketising, libvpx decode (%.1f%% at %s a frame outside the call)\n",
		pct(r.decode), decodeCPU.Seconds()*float64(r.decoded)/r.wall.Seconds()*100, ms(decodeCPU))
	fmt.Printf("    draw     %5.1f%%  display thread %.1f%% (draw the call straight into the RGB565 layout with its overlay and a self-view from a 1280x720 30 fps camera, copy the changed lines into the framebuffer, its loop) + SetRemoteFrame's copy %.1f%% + SetSelfFrame's copy %.1f%%\n",
		pct(r.draw), pct(r.drawThread), pct(r.copy), pct(r.self))
	fmt.Printf("    playout  %5.1f%%  Push %.1f%% (jitter buffer) + Read %.1f%% (Opus decode, stretch, volume; %d periods of 10 ms)\n",
		pct(r.play), pct(r.push), pct(r.speak), r.speakerReads)
	fmt.Printf("    render + playout %.1f%% (target <= %.0f%%: %.2fx of target)\n", renderPlay, renderCPUTarget, renderPlay/renderCPUTarget)
	fmt.Printf("  audio: jitter buffer target %v, delay %v; %d decoded, %d concealed, %d late, %d underruns\n",
		r.audio.TargetDelay.Round(time.Millisecond), r.audio.Delay.Round(time.Millisecond), r.audio.Decoded,
		r.audio.Concealed, r.audio.Late, r.audio.Underruns)
}

// ownCPU is the calling thread's CPU time; the goroutine must be locked to its thread (or
// the interval too short to be moved) for differences to mean anything.
func ownCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// threadCPU is the CPU time of thread tid of this process, read from any thread: Linux's
// per-thread CPU clock, MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) in the kernel's
// posix-timers.h.
func threadCPU(tid int) (time.Duration, error) {
	if tid == 0 {
		return 0, errors.New("thread not started")
	}
	var ts unix.Timespec
	clk := ^int32(tid)<<3 | 4 /* CPUCLOCK_PERTHREAD_MASK */ | 2 /* CPUCLOCK_SCHED */
	if err := unix.ClockGettime(clk, &ts); err != nil {
		return 0, fmt.Errorf("cpu clock of thread %d: %w", tid, err)
	}
	return time.Duration(ts.Nano()), nil
}
