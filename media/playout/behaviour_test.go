package playout

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// The click detector is not blind: a tone cut by 20 ms of silence fails it.
func TestClickDetectorCatchesAGap(t *testing.T) {
	pcm := make([]int16, sampleRate/2)
	for i := range pcm {
		if i < sampleRate/4 || i >= sampleRate/4+frameLen {
			pcm[i] = int16(toneAmp * math.Sin(2*math.Pi*440*float64(i)/sampleRate+0.3))
		}
	}
	if step, _ := maxStep(pcm); float64(step) <= 2*sineSlope(440) {
		t.Errorf("tone with a hole: max step %d, want above %.0f", step, 2*sineSlope(440))
	}
}

// When the clinician's audio stops (hold, a dead link), the speaker fades to silence, never
// cuts off; when it comes back it fades in.
func TestUnderrunFadesOutAndBack(t *testing.T) {
	const hz = 440
	pkts := tonePackets(t, hz, 4, true)
	var arrivals []arrival
	for i, p := range pkts {
		at := time.Duration(i)*20*time.Millisecond + 30*time.Millisecond
		if i >= 100 { // two seconds in, the sender pauses for a second
			at += time.Second
			p.Timestamp += sampleRate
		}
		arrivals = append(arrivals, arrival{at: at, pkt: p})
	}
	p, clock := newTestPlayout(t)
	pcm := simulate(t, p, clock, arrivals, 5*time.Second)
	st := p.Stats()
	t.Logf("stats %+v", st)
	if st.Underruns != 1 {
		t.Errorf("underruns: got %d, want 1", st.Underruns)
	}
	if step, at := maxStep(pcm); float64(step) > 2*sineSlope(hz) {
		t.Errorf("click: step %d at %.3f s, want none above %.0f", step, float64(at)/sampleRate, 2*sineSlope(hz))
	}
	nominal := toneAmp / math.Sqrt2
	if r := rmsInt16(span(pcm, 2300*time.Millisecond, 2900*time.Millisecond)); r > 1 {
		t.Errorf("during the pause: RMS %.1f, want silence", r)
	}
	if r := rmsInt16(span(pcm, 3500*time.Millisecond, 4500*time.Millisecond)); r < 0.9*nominal {
		t.Errorf("after the pause: RMS %.0f, want the tone's %.0f back", r, nominal)
	}
	// The fade: from full level to silence within concealFull+1 frames of the last packet
	// playing (it plays about 70 ms after it is sent at 1.98 s).
	if r := rmsInt16(span(pcm, 1900*time.Millisecond, 2000*time.Millisecond)); r < 0.9*nominal {
		t.Errorf("just before the pause: RMS %.0f, want the tone's %.0f", r, nominal)
	}
	if r := rmsInt16(span(pcm, 2200*time.Millisecond, 2300*time.Millisecond)); r > 1 {
		t.Errorf("150 ms into the pause: RMS %.1f, want faded to silence", r)
	}
}

// A new call (a new SSRC, other sequence numbers) follows the old one without a click, and
// the new one's sound is what plays.
func TestNewStream(t *testing.T) {
	a := tonePackets(t, 440, 2, true)
	b := tonePackets(t, 660, 2, true)
	var arrivals []arrival
	for i, p := range a {
		arrivals = append(arrivals, arrival{at: time.Duration(i)*20*time.Millisecond + 30*time.Millisecond, pkt: p})
	}
	for i, p := range b {
		p.SSRC = 0xbeef
		p.SequenceNumber += 12345
		p.Timestamp += 987654321
		arrivals = append(arrivals, arrival{at: 2*time.Second + time.Duration(i)*20*time.Millisecond + 30*time.Millisecond, pkt: p})
	}
	p, clock := newTestPlayout(t)
	pcm := simulate(t, p, clock, arrivals, 4200*time.Millisecond)
	st := p.Stats()
	if st.Restarts != 1 {
		t.Errorf("restarts: got %d, want 1", st.Restarts)
	}
	limit := 2 * sineSlope(660)
	if step, at := maxStep(pcm); float64(step) > limit {
		t.Errorf("click: step %d at %.3f s, want none above %.0f", step, float64(at)/sampleRate, limit)
	}
	if got := analyse(span(pcm, 3*time.Second, 4*time.Second), 660); math.Abs(got.hz-660) > 660*0.02 || got.toneShare < 0.9 {
		t.Errorf("second call: got %.1f Hz (share %.2f), want 660 Hz", got.hz, got.toneShare)
	}
}

// Volume changes and mute are ramped: no step in the waveform, and the new level is reached
// within the 10 ms ramp.
func TestVolumeAndMute(t *testing.T) {
	const hz = 440
	pkts := tonePackets(t, hz, 3.2, true)
	arrivals, _ := network{}.schedule(pkts, rand.New(rand.NewPCG(3, 4)))
	p, clock := newTestPlayout(t)
	pcm := simulateWith(t, p, clock, arrivals, 3200*time.Millisecond, func(now time.Duration) {
		switch now {
		case 1000 * time.Millisecond:
			if got := p.SetVolume(0.5); got != 0.5 {
				t.Errorf("SetVolume(0.5): got %v", got)
			}
		case 1500 * time.Millisecond:
			p.AdjustVolume(+VolumeStep)
			p.AdjustVolume(+VolumeStep)
			p.AdjustVolume(+VolumeStep)
			p.AdjustVolume(+VolumeStep)
			if got := p.AdjustVolume(+VolumeStep); got != 1 {
				t.Errorf("five steps up from 0.5: got volume %v, want 1", got)
			}
			if got := p.AdjustVolume(+VolumeStep); got != 1 {
				t.Errorf("a step above the top: got volume %v, want 1", got)
			}
		case 2000 * time.Millisecond:
			p.Mute(true)
		case 2500 * time.Millisecond:
			p.Mute(false)
		}
	})
	limit := 2 * sineSlope(hz)
	if step, at := maxStep(pcm); float64(step) > limit {
		t.Errorf("step %d at %.3f s, want none above %.0f: a volume change must be ramped", step, float64(at)/sampleRate, limit)
	}
	amp := func(from, to time.Duration) float64 { return toneAmplitude(span(pcm, from, to), hz) }
	near := func(got, want, tol float64) bool { return math.Abs(got-want) <= tol*want }
	half := toneAmp * float64(volumeGain(0.5)) // -20 dB
	for _, c := range []struct {
		name     string
		from, to time.Duration
		want     float64
	}{
		{"before", 500 * time.Millisecond, 1000 * time.Millisecond, toneAmp},
		{"volume 0.5, after the 10 ms ramp", 1011 * time.Millisecond, 1500 * time.Millisecond, half},
		{"volume 1 again", 1511 * time.Millisecond, 2000 * time.Millisecond, toneAmp},
		{"unmuted", 2511 * time.Millisecond, 3000 * time.Millisecond, toneAmp},
	} {
		if got := amp(c.from, c.to); !near(got, c.want, 0.05) {
			t.Errorf("%s: amplitude %.0f, want %.0f ± 5%%", c.name, got, c.want)
		}
	}
	if r := rmsInt16(span(pcm, 2011*time.Millisecond, 2500*time.Millisecond)); r != 0 {
		t.Errorf("muted: RMS %.1f, want silence", r)
	}
	// The ramp is gradual: halfway through it the gain is between the two levels.
	if got := amp(1002*time.Millisecond, 1007*time.Millisecond); got < 1.2*half || got > 0.9*toneAmp {
		t.Errorf("mid-ramp amplitude %.0f, want between %.0f and %.0f", got, half, toneAmp)
	}
	if p.Muted() || p.Volume() != 1 {
		t.Errorf("after the test: muted %v, volume %v; want false, 1", p.Muted(), p.Volume())
	}
}

func TestRamp(t *testing.T) {
	var r ramp
	r.jump(1)
	r.set(0, 480)
	buf := make([]float32, 600)
	for i := range buf {
		buf[i] = 1
	}
	r.apply(buf)
	for i := 1; i < len(buf); i++ {
		if d := buf[i-1] - buf[i]; d < 0 || d > 1.0/480+1e-6 {
			t.Fatalf("sample %d: step %g, want 0..1/480", i, d)
		}
	}
	if buf[479] != 0 || buf[599] != 0 || !r.settled() {
		t.Errorf("after 480 samples: %g, at the end %g, settled %v; want 0, 0, true", buf[479], buf[599], r.settled())
	}
}

// A prompt is heard over the call, which is lowered under it and comes back afterwards;
// muting the call does not silence prompts.
func TestPromptDucksCall(t *testing.T) {
	const callHz, promptHz = 440, 1000
	pkts := tonePackets(t, callHz, 3.2, true)
	arrivals, _ := network{}.schedule(pkts, rand.New(rand.NewPCG(5, 6)))
	clip := make([]int16, sampleRate/2)
	for i := range clip {
		clip[i] = int16(toneAmp * math.Sin(2*math.Pi*promptHz*float64(i)/sampleRate))
	}
	p, clock := newTestPlayout(t)
	var speaking []bool
	pcm := simulateWith(t, p, clock, arrivals, 3200*time.Millisecond, func(now time.Duration) {
		switch now {
		case time.Second:
			p.Play(clip)
		case 1200 * time.Millisecond, 1600 * time.Millisecond:
			speaking = append(speaking, p.Speaking())
		case 2 * time.Second:
			p.Mute(true)
			p.Play(clip)
		}
	})
	if len(speaking) != 2 || !speaking[0] || speaking[1] {
		t.Errorf("Speaking at 1.2 s and 1.6 s: got %v, want [true false]", speaking)
	}
	amp := func(from, to time.Duration, hz float64) float64 { return toneAmplitude(span(pcm, from, to), hz) }
	near := func(got, want float64) bool { return math.Abs(got-want) <= 0.1*want }
	if got := amp(1050*time.Millisecond, 1450*time.Millisecond, promptHz); !near(got, toneAmp) {
		t.Errorf("prompt: amplitude %.0f, want %.0f", got, toneAmp)
	}
	if got := amp(1050*time.Millisecond, 1450*time.Millisecond, callHz); !near(got, duckGain*toneAmp) {
		t.Errorf("call under the prompt: amplitude %.0f, want %.0f (ducked)", got, duckGain*toneAmp)
	}
	if got := amp(1550*time.Millisecond, 1950*time.Millisecond, callHz); !near(got, toneAmp) {
		t.Errorf("call after the prompt: amplitude %.0f, want %.0f", got, toneAmp)
	}
	if got := amp(2050*time.Millisecond, 2450*time.Millisecond, promptHz); !near(got, toneAmp) {
		t.Errorf("prompt with the call muted: amplitude %.0f, want %.0f", got, toneAmp)
	}
	if got := amp(2050*time.Millisecond, 2450*time.Millisecond, callHz); got > 1 {
		t.Errorf("muted call under a prompt: amplitude %.1f, want 0", got)
	}
	limit := 2 * (sineSlope(promptHz) + sineSlope(callHz))
	if step, at := maxStep(pcm); float64(step) > limit {
		t.Errorf("click: step %d at %.3f s, want none above %.0f", step, float64(at)/sampleRate, limit)
	}
}

func TestNewConfig(t *testing.T) {
	for _, c := range []Config{
		{MinDelay: time.Millisecond},
		{MinDelay: 100 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		{MaxDelay: 5 * time.Second},
		{Volume: 1.5},
		{Volume: -0.1},
	} {
		if p, err := New(c); err == nil {
			p.Close()
			t.Errorf("New(%+v): got nil error, want ErrBadConfig", c)
		}
	}
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Volume(); got != DefaultVolume {
		t.Errorf("default volume: got %v, want %v", got, DefaultVolume)
	}
	p.Close()
	p.Close()
	out := []int16{1, 2, 3}
	p.Read(out) // after Close: silence, no panic
	p.Push(&rtp.Packet{Payload: []byte{1}})
	if out[0] != 0 || out[2] != 0 {
		t.Errorf("Read after Close: got %v, want silence", out)
	}
}

// Push and Read from different goroutines, as the network and the sound card do; the race
// detector checks the locking.
func TestConcurrentPushRead(t *testing.T) {
	pkts := tonePackets(t, 440, 1, true)
	p, clock := newTestPlayout(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range pkts {
			p.Push(&pkts[i])
			if i%10 == 0 {
				p.AdjustVolume(-VolumeStep)
				p.Stats()
			}
		}
	}()
	out := make([]int16, blockLen)
	for i := 0; i < 100; i++ {
		p.Read(out)
		clock.Advance(10 * time.Millisecond)
	}
	<-done
	if st := p.Stats(); st.Packets != uint64(len(pkts)) {
		t.Errorf("packets: got %d, want %d", st.Packets, len(pkts))
	}
}

// The delay follows the network: it grows while there is jitter, so packets stay on time,
// and comes back down when the jitter stops, so the conversation is not left laggy.
func TestDelayFollowsJitter(t *testing.T) {
	const seconds = 24
	pkts := burstPackets(t, 440, seconds)
	arrivals, _ := network{jitter: 120 * time.Millisecond}.schedule(pkts[:400], rand.New(rand.NewPCG(7, 8)))
	calm, _ := network{}.schedule(pkts[400:], rand.New(rand.NewPCG(9, 10)))
	for _, a := range calm {
		a.at += 8 * time.Second
		arrivals = append(arrivals, a)
	}
	p, clock := newTestPlayout(t)
	var during, after Stats
	pcm := simulateWith(t, p, clock, arrivals, seconds*time.Second, func(now time.Duration) {
		switch now {
		case 7900 * time.Millisecond:
			during = p.Stats()
		case (seconds - 1) * time.Second:
			after = p.Stats()
		}
	})
	t.Logf("during jitter %+v", during)
	t.Logf("20 s later %+v", after)
	if during.TargetDelay < 120*time.Millisecond || during.Delay < 100*time.Millisecond {
		t.Errorf("under 0..120 ms jitter: target %v, delay %v; want >= 120 ms and >= 100 ms", during.TargetDelay, during.Delay)
	}
	if lossy := during.Concealed + during.FEC; lossy > 400*3/100 {
		t.Errorf("under jitter: %d of 400 frames concealed or rebuilt, want at most 3%%", lossy)
	}
	if after.TargetDelay != DefaultMinDelay || after.Delay > 70*time.Millisecond {
		t.Errorf("15 s after the jitter stopped: target %v, delay %v; want %v and at most 70 ms", after.TargetDelay, after.Delay, DefaultMinDelay)
	}
	if after.Dropped == 0 {
		t.Errorf("no frames dropped to bring the delay down")
	}
	limit := 2 * sineSlope(440)
	if step, at := maxStep(pcm); float64(step) > limit {
		t.Errorf("click: step %d at %.3f s, want none above %.0f", step, float64(at)/sampleRate, limit)
	}
}

// Packets libopus refuses (a code 3 packet of no frames) and TOC-only packets (no frame
// data, as some senders' DTX) are concealed like lost packets: no panic, no hang of the
// sound card's thread, no click. (Random bytes that happen to parse would decode to
// noise; SRTP's authentication keeps such packets out of a real call.)
func TestInvalidPackets(t *testing.T) {
	const hz = 440
	pkts := tonePackets(t, hz, 3, true)
	for i := range pkts {
		switch {
		case i%29 == 7:
			pkts[i].Payload = []byte{pkts[i].Payload[0] | 3, 0} // code 3, zero frames: invalid
		case i%31 == 11:
			pkts[i].Payload = pkts[i].Payload[:1]
		}
	}
	arrivals, _ := network{}.schedule(pkts, rand.New(rand.NewPCG(21, 22)))
	p, clock := newTestPlayout(t)
	pcm := simulate(t, p, clock, arrivals, 3200*time.Millisecond)
	st := p.Stats()
	t.Logf("stats %+v", st)
	if st.Concealed < 5 {
		t.Errorf("concealed %d frames, want the invalid packets (5) concealed", st.Concealed)
	}
	if step, at := maxStep(pcm); float64(step) > 2*sineSlope(hz) {
		t.Errorf("click: step %d at %.3f s", step, float64(at)/sampleRate)
	}
	if a := analyse(pcm[sampleRate/2:len(pcm)-sampleRate/4], hz); math.Abs(a.hz-hz) > hz*0.02 {
		t.Errorf("got %.1f Hz, want %d Hz", a.hz, hz)
	}
}
