package booth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	state       *prometheus.GaugeVec
	linkUp      prometheus.Gauge
	reconnects  prometheus.Counter
	calls       *prometheus.CounterVec
	joinLatency prometheus.Histogram
	presses     *prometheus.CounterVec
	bitrate     prometheus.Gauge
	packetLoss  prometheus.Gauge
	rtt         prometheus.Gauge
	outbox      prometheus.Gauge
	// iceRestarts counts restarts asked for; iceRestartsRecovered the broken paths that
	// mended before the call was given up.
	iceRestarts          prometheus.Counter
	iceRestartsRecovered prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	m := &metrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "carebooth_booth_state", Help: "1 for the booth's current state, 0 for the others.",
		}, []string{"state"}),
		linkUp:     gauge("carebooth_booth_link_up", "1 while the signalling link to the switchboard is up."),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "carebooth_booth_reconnects_total", Help: "Signalling link connection attempts after the first."}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebooth_booth_calls_total", Help: "Calls ended, by how they ended.",
		}, []string{"result"}),
		joinLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "carebooth_booth_join_latency_seconds",
			Help:    "Time from arriving in the waiting room to the call's media flowing.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800},
		}),
		presses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebooth_booth_button_presses_total", Help: "Button presses, by button and whether they did something.",
		}, []string{"button", "result"}),
		outbox:     gauge("carebooth_booth_outbox_events", "Recorded appointment events the switchboard has not acknowledged yet."),
		bitrate:    gauge("carebooth_booth_call_send_bitrate_kbps", "Outgoing video bitrate of the current call."),
		packetLoss: gauge("carebooth_booth_call_packet_loss_ratio", "Incoming packet loss of the current call, 0 to 1."),
		rtt:        gauge("carebooth_booth_call_rtt_seconds", "Round-trip time of the current call."),
		iceRestarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "carebooth_booth_ice_restarts_total",
			Help: "ICE restarts asked for because a call's media path broke."}),
		iceRestartsRecovered: prometheus.NewCounter(prometheus.CounterOpts{Name: "carebooth_booth_ice_recoveries_total",
			Help: "Broken media paths that recovered before the call was given up."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.state, m.linkUp, m.reconnects, m.calls, m.joinLatency, m.presses,
		m.bitrate, m.packetLoss, m.rtt, m.outbox, m.iceRestarts, m.iceRestartsRecovered} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) setState(s State) {
	for _, st := range []State{Idle, JoinWindow, Waiting, InCall} {
		v := 0.0
		if st == s {
			v = 1
		}
		m.state.WithLabelValues(st.String()).Set(v)
	}
}

// setCallGauges sets the gauges of the current call. The call's frame and packet counters
// are media/call's (carebooth_call_video_frames_sent_total and the rest, fed by
// booth/mediacall), not exported a second time here.
func (m *metrics) setCallGauges(cur CallStats) {
	m.bitrate.Set(cur.SendBitrateKbps)
	m.packetLoss.Set(cur.PacketLoss)
	m.rtt.Set(cur.RTT.Seconds())
}

func (m *metrics) clearCallGauges() {
	m.bitrate.Set(0)
	m.packetLoss.Set(0)
	m.rtt.Set(0)
}

// MetricsHandler serves g in the Prometheus text format. With a non-empty token, requests
// must carry "Authorization: Bearer <token>". An empty token is for a loopback listener
// only; provisioning/config refuses one beyond loopback.
func MetricsHandler(g prometheus.Gatherer, token string) http.Handler {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if token == "" {
			h.ServeHTTP(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		gotSum := sha256.Sum256([]byte(got)) // compared as digests: the token's length stays secret
		if !ok || subtle.ConstantTimeCompare(gotSum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="boothd metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
