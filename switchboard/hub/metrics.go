package hub

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the hub's Prometheus series, all prefixed carebooth_switchboard_.
type Metrics struct {
	callsStarted  prometheus.Counter
	callsEnded    *prometheus.CounterVec // reason
	callsActive   prometheus.Gauge
	waitSeconds   prometheus.Histogram   // arrive -> admit
	answerSeconds prometheus.Histogram   // admit -> answer relayed
	waitingRoom   *prometheus.GaugeVec   // clinic_id
	connections   *prometheus.GaugeVec   // role
	sigErrors     *prometheus.CounterVec // code
	deviceEvents  *prometheus.CounterVec // result
	// deviceThrottled counts device messages that waited for their rate, by type.
	deviceThrottled *prometheus.CounterVec
	heartbeats      prometheus.Counter
}

// NewMetrics builds the hub's metrics and registers them with reg; nil reg means a
// private registry.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	const ns, sub = "carebooth", "switchboard"
	m := &Metrics{
		callsStarted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "calls_started_total", Help: "Calls started by an admit."}),
		callsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "calls_ended_total", Help: "Calls ended, by reason (hangup, peer_lost, failed)."}, []string{"reason"}),
		callsActive: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "calls_active", Help: "Calls in progress."}),
		waitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "waiting_seconds", Help: "Time from a patient's arrive to the clinician's admit.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600}}),
		answerSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "call_setup_seconds", Help: "Time from admit to the booth's first answer being relayed.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20}}),
		waitingRoom: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "waiting_room_length", Help: "Patients in a clinic's waiting room (including those in a call)."}, []string{"clinic_id"}),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "connections", Help: "Signalling connections that said hello, by role (device, clinician)."}, []string{"role"}),
		sigErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "signalling_errors_total", Help: "Signalling messages refused, by error code."}, []string{"code"}),
		deviceEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "device_events_total", Help: "Booth outbox events received, by result (applied, duplicate, refused)."}, []string{"result"}),
		deviceThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "device_messages_throttled_total", Help: "Device signalling messages held back to their rate limit, by type."}, []string{"type"}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "heartbeats_total", Help: "Device heartbeats received."}),
	}
	for _, c := range []prometheus.Collector{m.heartbeats, m.callsStarted, m.callsEnded, m.callsActive, m.waitSeconds,
		m.answerSeconds, m.waitingRoom, m.connections, m.sigErrors, m.deviceEvents, m.deviceThrottled} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
