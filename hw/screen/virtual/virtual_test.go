package virtual

import (
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/hw/button"
)

// start runs a virtual screen on a free loopback port until the test ends.
func start(t *testing.T, cfg Config) *Screen {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Size == (image.Point{}) {
		cfg.Size = image.Pt(320, 200)
	}
	base := runtime.NumGoroutine()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		s.Close()
		checkGoroutines(t, base)
	})
	return s
}

// checkGoroutines fails the test if more goroutines run than before it started, once the
// HTTP client's idle connections are closed and goroutines have had time to finish.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines left running, want %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func solid(size image.Point, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rectangle{Max: size})
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// near reports whether a (decoded JPEG) colour is within tol of want.
func near(got color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := got.RGBA()
	d := func(a uint32, b uint8) bool { x := int(a>>8) - int(b); return x <= tol && x >= -tol }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestSnapshotIsTheCurrentFrame(t *testing.T) {
	s := start(t, Config{})
	red := color.RGBA{0xd0, 0x10, 0x10, 0xff}
	if err := s.Show(solid(s.Size(), red)); err != nil {
		t.Fatal(err)
	}
	resp := get(t, s.URL()+"screen.png")
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET /screen.png: %s %s, want 200 image/png", resp.Status, resp.Header.Get("Content-Type"))
	}
	img, err := png.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Size() != s.Size() {
		t.Errorf("snapshot is %v, want %v", img.Bounds().Size(), s.Size())
	}
	if got := color.RGBAModel.Convert(img.At(10, 10)); got != red {
		t.Errorf("pixel %v, want %v", got, red)
	}
	if err := s.Show(solid(image.Pt(10, 10), red)); err == nil {
		t.Error("Show of a frame the wrong size: no error")
	}
}

func TestStreamSendsJPEGParts(t *testing.T) {
	s := start(t, Config{StreamFPS: 50})
	black, blue := color.RGBA{0, 0, 0, 0xff}, color.RGBA{0x10, 0x20, 0xe0, 0xff}
	resp := get(t, s.URL()+"stream.mjpeg")
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" {
		t.Fatalf("Content-Type %q, want multipart/x-mixed-replace", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	part := func(want color.RGBA) {
		t.Helper()
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		if ct := p.Header.Get("Content-Type"); ct != "image/jpeg" {
			t.Errorf("part Content-Type %q, want image/jpeg", ct)
		}
		img, err := jpeg.Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Size() != s.Size() {
			t.Errorf("part is %v, want %v", img.Bounds().Size(), s.Size())
		}
		if got := img.At(160, 100); !near(got, want, 12) {
			t.Errorf("part's centre %v, want about %v", got, want)
		}
	}
	part(black) // before any Show: a black screen
	if err := s.Show(solid(s.Size(), blue)); err != nil {
		t.Fatal(err)
	}
	part(blue)
}

func TestButtonsArePressedOverHTTP(t *testing.T) {
	s := start(t, Config{PressTimeout: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan button.Event, 10)
	done := make(chan error)
	go func() { done <- s.Buttons().Run(ctx, out) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Buttons.Run: %v", err)
		}
	}()

	for _, tc := range []struct {
		path   string
		header map[string]string
		host   string
		status int
		want   *button.Event
	}{
		{path: "buttons/join", status: 204, want: &button.Event{Button: button.Join, Kind: button.Press}},
		{path: "buttons/end?kind=long", status: 204, want: &button.Event{Button: button.End, Kind: button.LongPress}},
		{path: "buttons/volume_up", header: map[string]string{"Origin": strings.TrimSuffix(s.URL(), "/")}, status: 204,
			want: &button.Event{Button: button.VolumeUp, Kind: button.Press}},
		{path: "buttons/jump", status: 404},
		{path: "buttons/join?kind=twice", status: 400},
		{path: "buttons/join", header: map[string]string{"Origin": "https://evil.example"}, status: 403},
		{path: "buttons/join", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403},
		{path: "buttons/join", host: "evil.example:9102", status: 403},
	} {
		req, err := http.NewRequest("POST", s.URL()+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("POST /%s %v: %d %s, want %d", tc.path, tc.header, resp.StatusCode, body, tc.status)
		}
		select {
		case ev := <-out:
			if tc.want == nil || ev.Button != tc.want.Button || ev.Kind != tc.want.Kind || ev.At.IsZero() {
				t.Errorf("POST /%s: event %v, want %v", tc.path, ev, tc.want)
			}
		default:
			if tc.want != nil {
				t.Errorf("POST /%s: no event, want %v", tc.path, *tc.want)
			}
		}
	}
}

func TestPressWithNobodyReading(t *testing.T) {
	s := start(t, Config{PressTimeout: 50 * time.Millisecond})
	resp, err := http.Post(s.URL()+"buttons/help", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST /buttons/help with no reader: %d, want 503", resp.StatusCode)
	}
}

func TestPageShowsTheStream(t *testing.T) {
	s := start(t, Config{})
	resp := get(t, s.URL())
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<img src="/stream.mjpeg"`) {
		t.Errorf("GET /: %s, want a page with the stream", resp.Status)
	}
}

func TestNewRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:9102", "nonsense"} {
		if s, err := New(Config{Listen: addr}); err == nil {
			s.Close()
			t.Errorf("New(%q): no error, want a refusal", addr)
		}
	}
}

// TestRunEndsOpenStreams: stopping the server ends a viewer's stream rather than waiting
// for it.
func TestRunEndsOpenStreams(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", Size: image.Pt(320, 200)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	resp := get(t, s.URL()+"stream.mjpeg")
	defer resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return with a stream open")
	}
	io.Copy(io.Discard, resp.Body) // ends
}
