package call

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/transport/v5/vnet"

	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/media/synth"
)

// policer drops what one host sends beyond limit bits per second (0: no limit), with half
// a second's burst: a broadband line's upload cap, as a token bucket. The other direction
// is free, as an ADSL line's download mostly is, so the capped side's feedback arrives.
type policer struct {
	from    string
	limit   atomic.Int64
	mu      sync.Mutex
	tokens  map[string]float64
	last    map[string]time.Time
	dropped atomic.Int64
}

func newPolicer(from string) *policer {
	return &policer{from: from, tokens: map[string]float64{}, last: map[string]time.Time{}}
}

func (p *policer) filter(c vnet.Chunk) bool {
	limit := float64(p.limit.Load())
	if limit == 0 {
		return true
	}
	from := c.SourceAddr().(*net.UDPAddr).IP.String()
	if from != p.from {
		return true
	}
	bits := float64(len(c.UserData()) * 8)
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	burst := limit / 2
	t := p.tokens[from]
	if last, ok := p.last[from]; ok {
		t += now.Sub(last).Seconds() * limit
	} else {
		t = burst
	}
	p.last[from] = now
	t = min(t, burst)
	if t < bits {
		p.tokens[from] = t
		p.dropped.Add(1)
		return false
	}
	p.tokens[from] = t - bits
	return true
}

// BenchmarkUploadCap: the send-side estimate (GCC on TWCC feedback) sets the
// video encoder's rate. Capped at 300 kbit/s (a third of what the picture needs) the video comes down under the cap (smaller
// and, when it must, fewer frames), leaving audio its share, and both keep flowing; the cap
// lifted, the estimate ramps up again.
//
// It is a benchmark, run once by make bench, not a test: how fast pion's GCC reacts depends
// on the machine's load (under a loaded CI machine it did not move in two minutes), and a
// speed is never a test's to assert. TestFollowEstimate tests the rate the estimate gives.
func BenchmarkUploadCap(b *testing.B) {
	for range b.N {
		uploadCap(b)
	}
}

func uploadCap(t *testing.B) {
	// Each side its own source and encoder (the test camera opens once per process). The
	// capped side sends the test camera's picture, which needs more than the cap; the
	// synthetic bars compress to less than it, and would never meet it.
	offStream := openStream(t)
	ansStream, err := synth.Open(synth.Config{Capture: capture.Config{Width: 640, Height: 480, FPS: 30}})
	if err != nil {
		t.Fatal(err)
	}
	defer ansStream.Close()
	leaks := checkGoroutines(t)
	lan := newVnetLAN(t)
	pol := newPolicer(offererIP)
	lan.router.AddChunkFilter(pol.filter)
	off, ans, sig := connectOnVnetWith(t, lan, offStream.Tracks(), ansStream.Tracks())
	info := func() string {
		return fmt.Sprintf("offerer %+v; answerer %+v; %d dropped", off.call.Stats(), ans.call.Stats(), pol.dropped.Load())
	}

	waitFor(t, "the estimate setting the video rate", func() bool {
		s := off.call.Stats()
		return s.EstimateBitrate > 0 && s.VideoBitrate > 0
	}, info)
	b0 := off.call.Stats().BytesSent
	time.Sleep(2 * time.Second)
	free := off.call.Stats()
	t.Logf("free link: sending %.0f kbit/s", float64(free.BytesSent-b0)*8/2/1000)
	t.Logf("free link: estimate %d kbit/s, video %d kbit/s", free.EstimateBitrate/1000, free.VideoBitrate/1000)

	const limit = 300_000
	pol.limit.Store(limit)
	capped := time.Now()
	// pion's GCC comes down slowly from a link overloaded this much (20 to 30 s here: the
	// figure docs/performance.md keeps), so the bound is generous; a failure is no reaction.
	if !waitLong(func() bool { return off.call.Stats().VideoBitrate <= limit-audioReserve }) {
		t.Logf("video did not come under the cap in 2 minutes: %s", info())
		t.ReportMetric(-1, "s-to-cap")
		return
	}
	down := time.Since(capped)
	t.ReportMetric(down.Seconds(), "s-to-cap")
	framesAt, audioAt, bytesAt := ans.frames.Load(), ans.audio.Load(), off.call.Stats().BytesSent
	time.Sleep(3 * time.Second)
	under := off.call.Stats()
	sent := under.BytesSent - bytesAt
	t.ReportMetric(float64(sent)*8/3/1000, "kbps-sent-capped")
	if got := ans.frames.Load() - framesAt; got < 10 {
		t.Errorf("video frames decoded in 3 s under the cap: got %d, want 10 or more", got)
	}
	if got := ans.audio.Load() - audioAt; got < 100 {
		t.Errorf("audio packets decoded in 3 s under the cap: got %d, want 100 or more (audio first)", got)
	}
	// What the sender puts on the wire follows the estimate: near the cap, not the free
	// link's rate (before the estimate, the encoder overshot a capped link four times over).
	if rate := float64(sent) * 8 / 3; rate > 1.5*limit {
		t.Errorf("sent under the cap: %.0f kbit/s of RTP payload, want near the cap", rate/1000)
	}
	t.Logf("capped at 300 kbit/s: video under the cap after %s; estimate %d kbit/s, video %d kbit/s; sent %.0f kbit/s; %d frames and %d audio packets decoded in 3 s; %d packets dropped",
		down.Round(100*time.Millisecond), under.EstimateBitrate/1000, under.VideoBitrate/1000, float64(sent)*8/3/1000,
		ans.frames.Load()-framesAt, ans.audio.Load()-audioAt, pol.dropped.Load())

	pol.limit.Store(0)
	lifted := time.Now()
	if !waitLong(func() bool { return off.call.Stats().VideoBitrate >= 3*under.VideoBitrate/2 }) {
		t.Logf("video did not ramp up in 2 minutes: %s", info())
		t.ReportMetric(-1, "s-to-ramp")
		return
	}
	t.ReportMetric(time.Since(lifted).Seconds(), "s-to-ramp")
	t.Logf("cap lifted: video back to 1.5 times the capped rate after %s (%d kbit/s)",
		time.Since(lifted).Round(100*time.Millisecond), off.call.Stats().VideoBitrate/1000)

	sig.close()
	off.call.Close()
	ans.call.Close()
	lan.stop()
	leaks()
}

// waitLong waits up to two minutes for ok: the estimate moves in seconds to tens of them.
func waitLong(ok func() bool) bool {
	deadline := time.Now().Add(2 * time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// fakeEstimate is a bandwidth estimate the test sets.
type fakeEstimate struct {
	cc.BandwidthEstimator
	bps atomic.Int64
}

func (f *fakeEstimate) GetTargetBitrate() int { return int(f.bps.Load()) }

// fakeRate records the rates it is given.
type fakeRate struct {
	mu  sync.Mutex
	set []int
}

func (f *fakeRate) SetBitRate(bps int) error {
	f.mu.Lock()
	f.set = append(f.set, bps)
	f.mu.Unlock()
	return nil
}

// TestFollowEstimate: the video encoder gets the estimate less audio's share, within its
// floor and the call's cap, and is not retuned for changes under the hysteresis.
func TestFollowEstimate(t *testing.T) {
	est := &fakeEstimate{}
	enc := &fakeRate{}
	c := &Call{estimator: est, opts: Options{MaxVideoBitrate: 1_000_000}, log: testLogger()}
	c.followEstimate() // no encoder bound yet: nothing to do
	var ctrl codec.BitRateController = enc
	c.rate.encoder.Store(&ctrl)
	for _, step := range []struct {
		estimate int
		want     []int
	}{
		{800_000, []int{800_000 - audioReserve}},
		{820_000, nil}, // under the hysteresis
		{300_000, []int{300_000 - audioReserve}},
		{60_000, []int{minVideoBitrate}}, // audio first: video at its floor
		{5_000_000, []int{1_000_000}},    // never above the call's cap
	} {
		est.bps.Store(int64(step.estimate))
		enc.mu.Lock()
		enc.set = nil
		enc.mu.Unlock()
		c.followEstimate()
		enc.mu.Lock()
		got := enc.set
		enc.mu.Unlock()
		if fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Errorf("estimate %d: video set to %v, want %v", step.estimate, got, step.want)
		}
		if s := c.rate.target.Load(); s != int64(step.estimate) {
			t.Errorf("estimate %d: kept %d", step.estimate, s)
		}
	}
}
