package switchboard

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/hub"
)

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

// fleet reports the health of every device that has sent a heartbeat since the
// switchboard started.
type fleet interface {
	Fleet() map[string]hub.Health
}

// fleetCollector computes the fleet gauges at scrape time from the hub's live health,
// so a device that goes quiet leaves "online" without anything having to notice.
type fleetCollector struct{ f fleet }

var (
	fleetByState = prometheus.NewDesc("carebooth_devices", "Devices that sent a heartbeat, by the state it reported (offline: none for 90 s).",
		[]string{"state"}, nil)
	fleetByVersion = prometheus.NewDesc("carebooth_devices_by_version", "Devices that sent a heartbeat, by boothd version.",
		[]string{"version"}, nil)
	fleetOnline = prometheus.NewDesc("carebooth_devices_online", "Devices whose last heartbeat is under 90 s old.", nil, nil)
)

func (fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- fleetByState
	ch <- fleetByVersion
	ch <- fleetOnline
}

func (c fleetCollector) Collect(ch chan<- prometheus.Metric) {
	byState := map[string]int{string(signalling.StateOffline): 0}
	for _, st := range signalling.BoothStates {
		byState[string(st)] = 0
	}
	byVersion := map[string]int{}
	online := 0
	for _, h := range c.f.Fleet() {
		byVersion[h.Heartbeat.Version]++
		if !h.Online {
			byState[string(signalling.StateOffline)]++
			continue
		}
		online++
		byState[string(h.Heartbeat.State)]++
	}
	for st, n := range byState {
		ch <- prometheus.MustNewConstMetric(fleetByState, prometheus.GaugeValue, float64(n), st)
	}
	for v, n := range byVersion {
		ch <- prometheus.MustNewConstMetric(fleetByVersion, prometheus.GaugeValue, float64(n), v)
	}
	ch <- prometheus.MustNewConstMetric(fleetOnline, prometheus.GaugeValue, float64(online))
}
