package virtual

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/hw/button"
)

// Config configures a Screen.
type Config struct {
	// Listen is a loopback host:port ("127.0.0.1:9102"; port 0 picks one). Required.
	Listen string
	// Size is the simulated panel's size. Default 1280x720.
	Size image.Point
	// StreamFPS is the most frames a second each MJPEG viewer is sent. Default 10: JPEG
	// encoding costs far more than drawing.
	StreamFPS int
	// PressTimeout is how long a POST /buttons/... waits for the button source to take
	// the press before answering 503. Default 2s.
	PressTimeout time.Duration
	Clock        clockwork.Clock
	Logger       *slog.Logger
}

// Screen is the virtual panel (a screen.Panel) and its web server.
type Screen struct {
	cfg Config
	log *slog.Logger
	ln  net.Listener
	url string

	mu      sync.Mutex // guards frame, gen, changed, light
	frame   *image.RGBA
	gen     uint64
	changed chan struct{} // closed and replaced by Show
	light   LightSource   // nil: not drawn

	encMu   sync.Mutex // guards the JPEG cache; held while encoding
	jpegGen uint64
	jpeg    []byte

	presses chan press
	once    sync.Once
}

type press struct {
	ev   button.Event
	done chan struct{} // closed when the consumer has the event
}

// New checks cfg and listens; Run serves.
func New(cfg Config) (*Screen, error) {
	if cfg.Size == (image.Point{}) {
		cfg.Size = image.Pt(1280, 720)
	}
	if cfg.StreamFPS == 0 {
		cfg.StreamFPS = 10
	}
	if cfg.PressTimeout == 0 {
		cfg.PressTimeout = 2 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Size.X <= 0 || cfg.Size.Y <= 0 || cfg.StreamFPS < 1 || cfg.StreamFPS > 60 {
		return nil, fmt.Errorf("virtual screen: size %v and stream rate %d fps: want a positive size and 1 to 60 fps", cfg.Size, cfg.StreamFPS)
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("virtual screen: listen address %q: %w", cfg.Listen, err)
	}
	if !loopbackHost(host) {
		return nil, fmt.Errorf("virtual screen: listen address %q is not a loopback address; it shows the call, so it must stay on this machine (use 127.0.0.1:PORT)", cfg.Listen)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("virtual screen: %w", err)
	}
	s := &Screen{cfg: cfg, log: cfg.Logger.With("component", "screen/virtual"), ln: ln,
		url:   "http://" + ln.Addr().String() + "/",
		frame: image.NewRGBA(image.Rectangle{Max: cfg.Size}), changed: make(chan struct{}),
		presses: make(chan press)}
	return s, nil
}

// URL is the page showing the screen.
func (s *Screen) URL() string { return s.url }

// Size is the simulated panel's size.
func (s *Screen) Size() image.Point { return s.cfg.Size }

// Show keeps a copy of img for the viewers.
func (s *Screen) Show(img *image.RGBA) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if img.Rect.Size() != s.cfg.Size {
		return fmt.Errorf("virtual screen: frame is %v, the panel is %v", img.Rect.Size(), s.cfg.Size)
	}
	for y := range s.cfg.Size.Y {
		o := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		copy(s.frame.Pix[y*s.frame.Stride:][:4*s.cfg.Size.X], img.Pix[o:])
	}
	s.gen++
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

// Run serves until ctx is done, then returns nil.
func (s *Screen) Run(ctx context.Context) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second,
		// Request contexts end with ctx, so open streams stop and Shutdown can finish.
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("virtual screen: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}

// Close closes the listener, for a Screen whose Run was never called. It is idempotent.
func (s *Screen) Close() error {
	var err error
	s.once.Do(func() {
		if err = s.ln.Close(); errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	return err
}

// Handler serves the page, the stream, the snapshot, the buttons and the light.
func (s *Screen) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /screen.png", s.snapshot)
	mux.HandleFunc("GET /stream.mjpeg", s.stream)
	mux.HandleFunc("POST /buttons/{name}", s.button)
	mux.HandleFunc("GET /light", s.lightNow)
	return localOnly(mux)
}

// localOnly refuses requests not from this machine, or addressed by a name that is not
// loopback (DNS rebinding), and cross-site POSTs (a web page pressing the buttons).
func localOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil || !loopbackHost(host) {
			http.Error(w, "the virtual screen answers this machine only", http.StatusForbidden)
			return
		}
		if h, _, err := net.SplitHostPort(r.Host); err != nil || !loopbackHost(h) {
			http.Error(w, "address the virtual screen as 127.0.0.1, [::1] or localhost", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
				http.Error(w, "cross-site request refused", http.StatusForbidden)
				return
			}
			if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" && sfs != "none" {
				http.Error(w, "cross-site request refused", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// current returns a copy of the latest frame and its generation.
func (s *Screen) current() (*image.RGBA, uint64, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *s.frame
	c.Pix = bytes.Clone(s.frame.Pix)
	return &c, s.gen, s.changed
}

func (s *Screen) snapshot(w http.ResponseWriter, r *http.Request) {
	img, _, _ := s.current()
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// jpegFor returns the latest frame as JPEG, encoding it once however many viewers ask.
func (s *Screen) jpegFor() ([]byte, chan struct{}, error) {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	s.mu.Lock()
	gen, changed := s.gen, s.changed
	s.mu.Unlock()
	if s.jpeg != nil && s.jpegGen == gen {
		return s.jpeg, changed, nil
	}
	img, gen, changed := s.current()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, nil, err
	}
	s.jpeg, s.jpegGen = buf.Bytes(), gen
	return s.jpeg, changed, nil
}

// stream sends the screen as MJPEG: a part whenever the screen changes, at most StreamFPS a
// second, until the viewer goes or the server stops.
func (s *Screen) stream(w http.ResponseWriter, r *http.Request) {
	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+mw.Boundary())
	w.Header().Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	interval := time.Second / time.Duration(s.cfg.StreamFPS)
	ctx := r.Context()
	for {
		sent := s.cfg.Clock.Now()
		data, changed, err := s.jpegFor()
		if err != nil {
			s.log.Warn("encode frame", "err", err)
			return
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "image/jpeg")
		h.Set("Content-Length", strconv.Itoa(len(data)))
		pw, err := mw.CreatePart(h)
		if err == nil {
			_, err = pw.Write(data)
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return // the viewer went away
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		if wait := interval - s.cfg.Clock.Since(sent); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-s.cfg.Clock.After(wait):
			}
		}
	}
}

func (s *Screen) button(w http.ResponseWriter, r *http.Request) {
	name := button.Button(r.PathValue("name"))
	known := false
	for _, b := range button.All {
		known = known || b == name
	}
	if !known {
		http.Error(w, fmt.Sprintf("no button %q (the buttons are %v)", name, button.All), http.StatusNotFound)
		return
	}
	kind := button.Press
	switch r.URL.Query().Get("kind") {
	case "", "press":
	case "long":
		kind = button.LongPress
	default:
		http.Error(w, "kind is press or long", http.StatusBadRequest)
		return
	}
	p := press{ev: button.Event{Button: name, Kind: kind, At: s.cfg.Clock.Now()}, done: make(chan struct{})}
	timeout := s.cfg.Clock.After(s.cfg.PressTimeout)
	select {
	case s.presses <- p:
	case <-timeout:
		http.Error(w, "nothing is reading the buttons", http.StatusServiceUnavailable)
		return
	case <-r.Context().Done():
		return
	}
	select {
	case <-p.done:
		w.WriteHeader(http.StatusNoContent)
	case <-timeout:
		http.Error(w, "the button press was not taken", http.StatusServiceUnavailable)
	case <-r.Context().Done():
	}
}

// Buttons is the button.Source of presses posted to /buttons/<name>.
func (s *Screen) Buttons() *Buttons { return &Buttons{s: s} }

// Buttons delivers the presses posted to the virtual screen.
type Buttons struct{ s *Screen }

var _ button.Source = (*Buttons)(nil)

// Run sends presses to out until ctx is done, then returns nil. A POST is answered 204
// once its event is handed to out.
func (b *Buttons) Run(ctx context.Context, out chan<- button.Event) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-b.s.presses:
			select {
			case out <- p.ev:
				close(p.done)
			case <-ctx.Done():
				return nil
			}
		}
	}
}
