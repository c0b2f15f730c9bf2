package hub

import (
	"context"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"

	"github.com/carebooth/carebooth/signalling"
)

// Rate is a token bucket: PerSecond messages a second on average, Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// DeviceLimits bound what one device can make the switchboard store, log and fan out,
// however it behaves. The zero value means the defaults (DefaultDeviceLimits); a zero
// field means that field's default.
type DeviceLimits struct {
	// Rates are per message type, shared by all of a device's connections. A device that
	// sends faster is not refused: its messages wait their turn, so nothing it sends is
	// lost and a flood slows only its own connection. Types not listed get Other.
	Rates map[signalling.Type]Rate
	Other Rate
	// BoothEventsPerAppointment is how many outbox events (applied or refused) the history
	// of one appointment keeps from its booth. A real consultation has a handful; past the
	// limit an event is acknowledged as refused and not kept.
	BoothEventsPerAppointment int
	// RefusedEventsPerAppointment is how many refused booth events one appointment's
	// history keeps; later ones are acknowledged as refused and not kept.
	RefusedEventsPerAppointment int
}

// DefaultDeviceLimits are generous for a booth and its outbox replay (32 events in flight,
// a handful per appointment) and tight for a device that floods.
func DefaultDeviceLimits() DeviceLimits {
	return DeviceLimits{
		Rates: map[signalling.Type]Rate{
			signalling.TypeEvent:       {PerSecond: 50, Burst: 64},
			signalling.TypeArrive:      {PerSecond: 1, Burst: 5},
			signalling.TypeLeave:       {PerSecond: 1, Burst: 5},
			signalling.TypeHelp:        {PerSecond: 1, Burst: 4},
			signalling.TypeQuality:     {PerSecond: 1, Burst: 4},
			signalling.TypeCandidate:   {PerSecond: 20, Burst: 32},
			signalling.TypeOffer:       {PerSecond: 2, Burst: 6},
			signalling.TypeAnswer:      {PerSecond: 2, Burst: 6},
			signalling.TypeSettingsAck: {PerSecond: 2, Burst: 8},
			signalling.TypeConfigAck:   {PerSecond: 1, Burst: 4},
			signalling.TypeHeartbeat:   {PerSecond: 0.2, Burst: 3},
			signalling.TypeDiagnosis:   {PerSecond: 1, Burst: 4},
			signalling.TypeRestart:     {PerSecond: 0.5, Burst: 3},
		},
		Other:                       Rate{PerSecond: 5, Burst: 10},
		BoothEventsPerAppointment:   200,
		RefusedEventsPerAppointment: 20,
	}
}

// withDefaults fills the zero fields of l from DefaultDeviceLimits.
func (l DeviceLimits) withDefaults() DeviceLimits {
	d := DefaultDeviceLimits()
	rates := map[signalling.Type]Rate{}
	for t, r := range d.Rates {
		rates[t] = r
	}
	for t, r := range l.Rates {
		rates[t] = r
	}
	l.Rates = rates
	if l.Other == (Rate{}) {
		l.Other = d.Other
	}
	if l.BoothEventsPerAppointment == 0 {
		l.BoothEventsPerAppointment = d.BoothEventsPerAppointment
	}
	if l.RefusedEventsPerAppointment == 0 {
		l.RefusedEventsPerAppointment = d.RefusedEventsPerAppointment
	}
	return l
}

// throttle paces each device's messages by type, on the switchboard's clock.
type throttle struct {
	limits DeviceLimits
	clock  clockwork.Clock

	mu       sync.Mutex
	byDevice map[string]map[signalling.Type]*rate.Limiter // bounded by the enrolled devices
}

func newThrottle(l DeviceLimits, clock clockwork.Clock) *throttle {
	return &throttle{limits: l, clock: clock, byDevice: map[string]map[signalling.Type]*rate.Limiter{}}
}

func (t *throttle) limiter(device string, typ signalling.Type) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.byDevice[device]
	if m == nil {
		m = map[signalling.Type]*rate.Limiter{}
		t.byDevice[device] = m
	}
	lim := m[typ]
	if lim == nil {
		r, ok := t.limits.Rates[typ]
		if !ok {
			r = t.limits.Other
		}
		lim = rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst) // starts full
		m[typ] = lim
	}
	return lim
}

// wait returns when device may send one more message of type typ, or ctx's error.
// It reports whether the message had to wait.
func (t *throttle) wait(ctx context.Context, device string, typ signalling.Type) (bool, error) {
	now := t.clock.Now()
	res := t.limiter(device, typ).ReserveN(now, 1)
	if !res.OK() {
		return false, context.Canceled // burst 0: never; treated as a closed connection
	}
	d := res.DelayFrom(now)
	if d <= 0 {
		return false, nil
	}
	select {
	case <-t.clock.After(d):
		return true, nil
	case <-ctx.Done():
		res.CancelAt(t.clock.Now())
		return true, ctx.Err()
	}
}

// logSampler lets through the first few of a kind of repeated log line in each period
// and counts the rest, so that a flood of one kind cannot fill the log.
type logSampler struct {
	clock  clockwork.Clock
	period time.Duration
	max    int

	mu    sync.Mutex
	kinds map[string]*sampled
}

type sampled struct {
	start      time.Time
	n          int
	suppressed int
}

// maxSampledKinds bounds a sampler's memory; kinds are few and fixed in practice.
const maxSampledKinds = 64

func newLogSampler(clock clockwork.Clock, period time.Duration, max int) *logSampler {
	return &logSampler{clock: clock, period: period, max: max, kinds: map[string]*sampled{}}
}

// allow reports whether a line of kind may be logged now and, when it may, how many of
// that kind were suppressed since the last one logged.
func (s *logSampler) allow(kind string) (ok bool, suppressed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	k := s.kinds[kind]
	if k == nil {
		if len(s.kinds) >= maxSampledKinds {
			clear(s.kinds)
		}
		k = &sampled{start: now}
		s.kinds[kind] = k
	}
	if now.Sub(k.start) >= s.period {
		k.start, k.n = now, 0
	}
	if k.n >= s.max {
		k.suppressed++
		return false, 0
	}
	k.n++
	suppressed, k.suppressed = k.suppressed, 0
	return true, suppressed
}
