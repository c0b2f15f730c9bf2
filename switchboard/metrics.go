package switchboard

import "github.com/prometheus/client_golang/prometheus"

// metrics are the HTTP API's Prometheus series, prefixed carebooth_switchboard_ like the
// hub's (hub.Metrics).
type metrics struct {
	httpRequests *prometheus.CounterVec // route, status
	httpSeconds  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "carebooth", "switchboard"
	m := &metrics{
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "http_requests_total", Help: "HTTP requests, by route and status."}, []string{"route", "status"}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "http_request_seconds", Help: "HTTP request handling time (WebSockets: the whole connection).",
			Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.httpRequests, m.httpSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
