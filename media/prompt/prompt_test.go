package prompt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebooth/carebooth/hw/speaker/speakertest"
	"github.com/carebooth/carebooth/media/playout"
)

// wav builds a RIFF WAVE of 16-bit PCM; dataSize < 0 writes the streaming writer's
// 0x7ffff000 for the RIFF and data sizes.
func wav(rate, channels int, samples []int16, dataSize int, extra ...[]byte) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	w32 := func(v uint32) { binary.Write(&b, le, v) }
	w16 := func(v uint16) { binary.Write(&b, le, v) }
	b.WriteString("RIFF")
	if dataSize < 0 {
		w32(0x7ffff000)
	} else {
		w32(uint32(36 + len(samples)*2))
	}
	b.WriteString("WAVE")
	b.WriteString("fmt ")
	w32(16)
	w16(1)
	w16(uint16(channels))
	w32(uint32(rate))
	w32(uint32(rate * channels * 2))
	w16(uint16(channels * 2))
	w16(16)
	for _, e := range extra {
		b.Write(e)
	}
	b.WriteString("data")
	if dataSize < 0 {
		w32(0x7ffff000)
	} else {
		w32(uint32(dataSize))
	}
	for _, s := range samples {
		w16(uint16(s))
	}
	return b.Bytes()
}

func TestParseWAV(t *testing.T) {
	mono := []int16{0, 1000, -1000, 32767, -32768}
	stereo := []int16{100, 300, -100, -300}
	// A LIST chunk of odd length, padded, before the data.
	list := append([]byte("LIST\x03\x00\x00\x00abc"), 0)
	for _, tt := range []struct {
		name     string
		in       []byte
		want     []int16
		wantRate int
		wantErr  bool
	}{
		{"exact sizes", wav(22050, 1, mono, len(mono)*2), mono, 22050, false},
		{"streamed sizes (espeak-ng --stdout)", wav(22050, 1, mono, -1), mono, 22050, false},
		{"stereo mixed to mono", wav(48000, 2, stereo, len(stereo)*2), []int16{200, -200}, 48000, false},
		{"padded chunk before data", wav(16000, 1, mono, len(mono)*2, list), mono, 16000, false},
		{"not RIFF", []byte("RIFX\x00\x00\x00\x00WAVE"), nil, 0, true},
		{"empty", nil, nil, 0, true},
		{"no data chunk", wav(22050, 1, nil, 0)[:36], nil, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, rate, err := ParseWAV(bytes.NewReader(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrBadWAV) {
					t.Fatalf("got %v, want ErrBadWAV", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rate != tt.wantRate || len(got) != len(tt.want) {
				t.Fatalf("got %d samples at %d Hz, want %d at %d Hz", len(got), rate, len(tt.want), tt.wantRate)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("sample %d: got %d, want %d", i, got[i], tt.want[i])
				}
			}
		})
	}
	// 8-bit audio is refused by name.
	b := wav(8000, 1, mono, len(mono)*2)
	binary.LittleEndian.PutUint16(b[34:36], 8)
	if _, _, err := ParseWAV(bytes.NewReader(b)); !errors.Is(err, ErrBadWAV) {
		t.Errorf("8-bit wav: got %v, want ErrBadWAV", err)
	}
}

func sine(hz float64, rate, n int, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return out
}

// amplitude of the component of pcm at hz, by the Goertzel algorithm.
func amplitude(pcm []int16, hz float64, rate int) float64 {
	c := 2 * math.Cos(2*math.Pi*hz/float64(rate))
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = float64(x)+c*s1-s2, s1
	}
	return 2 * math.Sqrt(math.Max(s1*s1+s2*s2-c*s1*s2, 0)) / float64(len(pcm))
}

func TestResample(t *testing.T) {
	const amp = 16000
	in := sine(1000, 22050, 22050, amp) // one second
	out := Resample(in, 22050, 48000)
	if len(out) != 48000 {
		t.Fatalf("length: got %d samples, want 48000 (one second)", len(out))
	}
	mid := out[1000 : len(out)-1000] // away from the edges, where the kernel runs off the signal
	if got := amplitude(mid, 1000, 48000); math.Abs(got-amp) > amp*0.01 {
		t.Errorf("1 kHz at 48 kHz: amplitude %.0f, want %d ± 1%%", got, amp)
	}
	// A 10 kHz tone must not leave an image at 22.05 - 10 = 12.05 kHz, or above.
	hi := Resample(sine(10000, 22050, 22050, amp), 22050, 48000)[1000:47000]
	if img, sig := amplitude(hi, 12050, 48000), amplitude(hi, 10000, 48000); img > sig/100 {
		t.Errorf("10 kHz tone: image at 12.05 kHz %.1f against the tone's %.0f, want below -40 dB", img, sig)
	}
	// Down-sampling filters what the new rate cannot carry.
	down := Resample(sine(20000, 48000, 48000, amp), 48000, 22050)[500:21500]
	if got := amplitude(down, 22050-20000, 22050); got > amp/100 {
		t.Errorf("20 kHz tone to 22.05 kHz: alias at 2.05 kHz %.1f, want below -40 dB", got)
	}
	// A ratio with too many phases to tabulate takes the direct path.
	odd := Resample(sine(1000, 44100, 44100, amp), 44100, 47999)
	if got := amplitude(odd[1000:46000], 1000, 47999); math.Abs(got-amp) > amp*0.01 {
		t.Errorf("1 kHz from 44.1 to 47.999 kHz: amplitude %.0f, want %d ± 1%%", got, amp)
	}
	if same := Resample(in, 48000, 48000); len(same) != len(in) || &same[0] == &in[0] {
		t.Errorf("same rate: want a copy of the same length")
	}
}

// fakeSynth renders every text as a 100 ms, 200 Hz tone at 16 kHz and counts the calls.
type fakeSynth struct {
	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeSynth) Render(ctx context.Context, text string) ([]int16, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[text]++
	return sine(200, 16000, 1600, 1000), 16000, nil
}

// recorder is a Player that keeps what it is given.
type recorder struct {
	mu    sync.Mutex
	clips [][]int16
	got   chan struct{}
}

func (r *recorder) Play(pcm []int16) {
	r.mu.Lock()
	r.clips = append(r.clips, pcm)
	r.mu.Unlock()
	r.got <- struct{}{}
}

func TestAnnouncer(t *testing.T) {
	synth := &fakeSynth{}
	rec := &recorder{got: make(chan struct{}, 8)}
	a, err := New(Config{Enabled: true, Synth: synth}, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	for _, m := range []Message{Connected, CallEnded, Connected} {
		a.Say(m)
	}
	for i := 0; i < 3; i++ {
		select {
		case <-rec.got:
		case <-time.After(time.Minute): // a guard against hanging, not a timing check
			t.Fatalf("prompt %d never played", i+1)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if len(rec.clips) != 3 {
		t.Fatalf("got %d clips, want 3", len(rec.clips))
	}
	for i, c := range rec.clips {
		if len(c) != 4800 {
			t.Errorf("clip %d: %d samples, want 4800 (100 ms at 48 kHz)", i, len(c))
		}
		top := 0
		for _, s := range c {
			top = max(top, int(s), -int(s))
		}
		if math.Abs(float64(top)-peak) > 2 {
			t.Errorf("clip %d: peak %d, want %.0f (normalised)", i, top, peak)
		}
	}
	for _, m := range Messages() {
		if n := synth.calls[m.Text()]; n != 1 {
			t.Errorf("%q rendered %d times, want once (at start, then cached)", m, n)
		}
	}
}

func TestAnnouncerOff(t *testing.T) {
	rec := &recorder{got: make(chan struct{}, 8)}
	// Turned off in the config.
	a, err := New(Config{Enabled: false, Synth: &fakeSynth{}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	a.Say(Connected)
	if a.Enabled() {
		t.Errorf("Enabled with prompts off: got true")
	}
	// Turned on, but no espeak-ng to be found: off, with a notice, and no error.
	t.Setenv("PATH", t.TempDir())
	a, err = New(Config{Enabled: true}, rec)
	if err != nil {
		t.Fatalf("New without espeak-ng: %v, want a booth without a voice, not an error", err)
	}
	if a.Enabled() {
		t.Errorf("Enabled without espeak-ng: got true")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Run(ctx); err != nil {
		t.Errorf("Run: %v", err)
	}
	if len(rec.clips) != 0 {
		t.Errorf("played %d clips, want none", len(rec.clips))
	}
}

// needESpeak skips without espeak-ng, except on CI, which must have it (scripts/setup test
// installs it).
func needESpeak(t *testing.T) *ESpeak {
	t.Helper()
	es, err := NewESpeak("", 0)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must have espeak-ng (scripts/setup test installs it): %v", err)
		}
		t.Skipf("espeak-ng is not installed (apt-get install espeak-ng): %v", err)
	}
	return es
}

// pitch estimates the fundamental of the loudest 50 ms of speech by autocorrelation.
func pitch(pcm []int16, rate int) float64 {
	win := rate / 20
	best, at := 0.0, 0
	for i := 0; i+win <= len(pcm); i += win / 2 {
		var e float64
		for _, s := range pcm[i : i+win] {
			e += float64(s) * float64(s)
		}
		if e > best {
			best, at = e, i
		}
	}
	w := pcm[at : at+win]
	bestLag, bestR := 0, math.Inf(-1)
	for lag := rate / 400; lag <= rate/60; lag++ {
		var r float64
		for i := 0; i+lag < len(w); i++ {
			r += float64(w[i]) * float64(w[i+lag])
		}
		r /= float64(len(w) - lag)
		if r > bestR {
			bestR, bestLag = r, lag
		}
	}
	return float64(rate) / float64(bestLag)
}

// espeak-ng's speech is parsed, brought to 48 kHz at the right pitch, and played through
// the playout into the speaker.
func TestESpeakIntoSpeaker(t *testing.T) {
	es := needESpeak(t)
	raw, rate, err := es.Render(context.Background(), AppointmentReady.Text())
	if err != nil {
		t.Fatal(err)
	}
	secs := float64(len(raw)) / float64(rate)
	t.Logf("espeak-ng: %d samples at %d Hz (%.2f s), pitch %.0f Hz", len(raw), rate, secs, pitch(raw, rate))
	if rate != 22050 {
		t.Errorf("espeak-ng rate: got %d Hz, want 22050", rate)
	}
	if secs < 2 || secs > 10 {
		t.Errorf("%q lasts %.2f s, want 2 to 10 s at 140 words a minute", AppointmentReady.Text(), secs)
	}

	p, err := playout.New(playout.Config{Volume: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, err := New(Config{Enabled: true, Synth: es}, p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	a.Say(AppointmentReady)
	deadline := time.Now().Add(time.Minute) // a guard against hanging, not a timing check
	for !p.Speaking() {
		if time.Now().After(deadline) {
			t.Fatal("the prompt never reached the playout")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sink := speakertest.New(p, 480)
	for p.Speaking() && sink.Len() < 20*playout.SampleRate {
		sink.Pull(1)
	}
	pcm := sink.PCM()
	got := float64(len(pcm)) / playout.SampleRate
	if math.Abs(got-secs) > 0.02 {
		t.Errorf("played for %.3f s, want the %.3f s espeak-ng rendered (48 kHz from %d Hz)", got, secs, rate)
	}
	var e float64
	for _, s := range pcm {
		e += float64(s) * float64(s)
	}
	if rms := math.Sqrt(e / float64(len(pcm))); rms < 1000 {
		t.Errorf("speaker RMS %.0f, want speech (above 1000)", rms)
	}
	// A voice at the wrong rate would be 2.2 times too high or too low.
	if f0 := pitch(pcm, playout.SampleRate); f0 < 70 || f0 > 250 {
		t.Errorf("pitch at the speaker %.0f Hz, want a speaking voice's 70 to 250 Hz", f0)
	}
}

func TestESpeakRefusesBadOptions(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng is not installed")
	}
	for _, c := range []struct {
		voice string
		speed int
	}{{"-x", 0}, {"en gb", 0}, {"", 20}, {"", 1000}} {
		if _, err := NewESpeak(c.voice, c.speed); err == nil {
			t.Errorf("NewESpeak(%q, %d): got nil error", c.voice, c.speed)
		}
	}
}

func TestTone(t *testing.T) {
	b := Tone(660, 100*time.Millisecond, 0.25)
	if len(b) != 4800 {
		t.Fatalf("got %d samples, want 4800", len(b))
	}
	if b[0] != 0 || b[len(b)-1] != 0 {
		t.Errorf("edges: got %d and %d, want 0 and 0", b[0], b[len(b)-1])
	}
	if got, want := amplitude(b[480:4320], 660, SampleRate), 0.25*math.MaxInt16; math.Abs(got-want) > want*0.02 {
		t.Errorf("amplitude %.0f, want %.0f", got, want)
	}
	limit := 0.25 * math.MaxInt16 * 2 * math.Sin(math.Pi*660/SampleRate) * 1.2
	for i := 1; i < len(b); i++ {
		if d := math.Abs(float64(b[i]) - float64(b[i-1])); d > limit {
			t.Fatalf("step %.0f at %d, want none above %.0f", d, i, limit)
		}
	}
}

// TestSayText: free text (the activation code) is rendered when it is said, each time, and
// played after what was queued before it.
func TestSayText(t *testing.T) {
	synth := &fakeSynth{}
	rec := &recorder{got: make(chan struct{}, 8)}
	a, err := New(Config{Enabled: true, Synth: synth}, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	text := ActivationText("K7QM-4TZP")
	a.SayText(text)
	a.SayText("")
	a.SayText(text)
	for i := 0; i < 2; i++ {
		select {
		case <-rec.got:
		case <-time.After(time.Minute): // a guard against hanging, not a timing check
			t.Fatalf("text %d never played", i+1)
		}
	}
	cancel()
	<-done
	synth.mu.Lock()
	defer synth.mu.Unlock()
	if n := synth.calls[text]; n != 2 {
		t.Errorf("activation text rendered %d times, want 2 (free text is not cached)", n)
	}
	if n := synth.calls[""]; n != 0 {
		t.Errorf("empty text rendered %d times, want 0", n)
	}
}

func TestActivationText(t *testing.T) {
	for _, tc := range []struct{ code, want string }{
		{"K7QM-4TZP", "K, 7, Q, M, 4, T, Z, P"},
		{"", ""},
		{"-", ""},
	} {
		got := ActivationText(tc.code)
		if tc.want == "" {
			if got != "" {
				t.Errorf("ActivationText(%q) = %q, want empty", tc.code, got)
			}
			continue
		}
		if !strings.Contains(got, tc.want+". Again: "+tc.want+".") {
			t.Errorf("ActivationText(%q) = %q, want the code spelt out twice as %q", tc.code, got, tc.want)
		}
	}
}
