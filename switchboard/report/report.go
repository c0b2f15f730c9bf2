package report

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/store"
)

// Source is what a report reads: store.Store provides it.
type Source interface {
	Clinic(id string) (store.Clinic, error)
	Devices(clinicID string) ([]store.Device, error)
	AppointmentsByClinic(clinicID string, from, to time.Time) ([]store.Appointment, error)
	History(id string) ([]appointment.Record, error)
}

// batchHistories is implemented by stores that read many histories in one go (both of
// package store's); Build then reads each clinic's in one call instead of one per
// appointment.
type batchHistories interface {
	Histories(ids []string) (map[string][]appointment.Record, error)
}

// Quality is one call's quality as its booth reported it.
type Quality struct {
	BitrateKbps   float64
	PacketLossPct float64
}

// QualitySource supplies call quality by appointment ID, overriding what the appointments
// carry (booths report quality when a call ends; the switchboard keeps it on the
// appointment). Nil means the appointments' own.
type QualitySource interface {
	CallQuality(appointmentIDs []string) (map[string]Quality, error)
}

// Query selects a report.
type Query struct {
	From, To  time.Time // appointments starting in [From, To)
	ClinicIDs []string  // the clinics, in the order wanted
	Now       time.Time // appointments ended before Now and never attended are DNAs
}

// The report's figures are the API's wire types, so the server and its clients share
// one shape.
type (
	Report  = api.Report
	Clinic  = api.ReportClinic
	Site    = api.ReportSite
	Metrics = api.ReportMetrics
)

// NoteQualityNotReported is the note a report carries while no quality is reported.
const NoteQualityNotReported = "mean_bitrate_kbps and mean_packet_loss_pct: not reported; no booth reported call quality for these appointments"

// ErrRange is returned for a query whose range is empty.
var ErrRange = errors.New("report: to must be after from")

// visit is one appointment's outcome, as the figures need it.
type visit struct {
	cancelled, attended, dna, telephone bool
	wait, call                          time.Duration
	hasWait, hasCall                    bool
	reconnects                          int
	quality                             *Quality
}

// Build computes a report. qs may be nil.
func Build(src Source, qs QualitySource, q Query) (*Report, error) {
	if !q.To.After(q.From) {
		return nil, ErrRange
	}
	rep := &Report{From: q.From.UTC(), To: q.To.UTC(), GeneratedAt: q.Now.UTC(), Clinics: []Clinic{}, Notes: []string{}}
	anyQuality := false
	for _, cid := range q.ClinicIDs {
		c, err := src.Clinic(cid)
		if err != nil {
			return nil, fmt.Errorf("report: clinic %s: %w", cid, err)
		}
		devices, err := src.Devices(cid)
		if err != nil {
			return nil, fmt.Errorf("report: devices of clinic %s: %w", cid, err)
		}
		as, err := src.AppointmentsByClinic(cid, q.From, q.To)
		if err != nil {
			return nil, fmt.Errorf("report: appointments of clinic %s: %w", cid, err)
		}
		var quality map[string]Quality
		if qs != nil {
			ids := make([]string, len(as))
			for i := range as {
				ids[i] = as[i].ID
			}
			if quality, err = qs.CallQuality(ids); err != nil {
				return nil, fmt.Errorf("report: call quality of clinic %s: %w", cid, err)
			}
		}
		inRange := as[:0]
		for _, a := range as {
			if !a.Start.Before(q.From) && a.Start.Before(q.To) { // overlapping is not enough
				inRange = append(inRange, a)
			}
		}
		histories, err := readHistories(src, inRange)
		if err != nil {
			return nil, err
		}
		bySite := map[string]*group{}
		total := &group{}
		for i := range inRange {
			a := &inRange[i]
			v := outcome(a, histories[a.ID], q.Now)
			qv, ok := quality[a.ID]
			if !ok && a.Quality != nil {
				// What the booth reported when the call ended (means over its calls).
				qv, ok = Quality{BitrateKbps: a.Quality.BitrateKbps, PacketLossPct: a.Quality.PacketLossPct}, true
			}
			if ok && v.attended {
				v.quality = &qv
				anyQuality = true
			}
			total.add(&v)
			g := bySite[a.DeviceID]
			if g == nil {
				g = &group{}
				bySite[a.DeviceID] = g
			}
			g.add(&v)
		}
		cr := Clinic{ClinicID: c.ID, ClinicName: c.Name, Total: total.metrics(), Sites: []Site{}}
		names := map[string]string{}
		for _, d := range devices {
			names[d.ID] = d.Name
			if bySite[d.ID] == nil && d.Role == device.RoleBooth {
				bySite[d.ID] = &group{} // a booth with nothing booked is a site too
			}
		}
		for id, g := range bySite {
			name := names[id]
			if name == "" {
				name = "(removed device " + id + ")"
			}
			cr.Sites = append(cr.Sites, Site{DeviceID: id, Site: name, Metrics: g.metrics()})
		}
		sort.Slice(cr.Sites, func(i, j int) bool {
			if cr.Sites[i].Site != cr.Sites[j].Site {
				return cr.Sites[i].Site < cr.Sites[j].Site
			}
			return cr.Sites[i].DeviceID < cr.Sites[j].DeviceID
		})
		rep.Clinics = append(rep.Clinics, cr)
	}
	if !anyQuality {
		rep.Notes = append(rep.Notes, NoteQualityNotReported)
	}
	return rep, nil
}

// readHistories reads the histories of the appointments that are not cancelled (a
// cancelled one counts by its status alone).
func readHistories(src Source, as []store.Appointment) (map[string][]appointment.Record, error) {
	ids := make([]string, 0, len(as))
	for i := range as {
		if as[i].Status != appointment.Cancelled {
			ids = append(ids, as[i].ID)
		}
	}
	if bh, ok := src.(batchHistories); ok {
		h, err := bh.Histories(ids)
		if err != nil {
			return nil, fmt.Errorf("report: histories: %w", err)
		}
		return h, nil
	}
	out := make(map[string][]appointment.Record, len(ids))
	for _, id := range ids {
		h, err := src.History(id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("report: history of appointment %s: %w", id, err)
		}
		out[id] = h
	}
	return out, nil
}

// outcome reads one appointment's status and history.
func outcome(a *store.Appointment, hist []appointment.Record, now time.Time) visit {
	var v visit
	switch a.Status {
	case appointment.Cancelled:
		v.cancelled = true
		return v
	case appointment.NoShow:
		v.dna = true
	case appointment.Telephone:
		v.telephone = true
	case appointment.InCall, appointment.Ended:
		v.attended = true // also for appointments from before the history was kept
	case appointment.Scheduled, appointment.WindowOpen:
		v.dna = !a.End.After(now)
	}
	var lastArrive, firstAdmit time.Time
	lost := 0
	for _, r := range hist {
		if r.Refused != "" {
			continue
		}
		switch r.Event {
		case appointment.Arrive:
			if firstAdmit.IsZero() {
				lastArrive = r.At
			}
			v.reconnects += lost
			lost = 0
		case appointment.Admit:
			v.attended = true
			if firstAdmit.IsZero() {
				firstAdmit = r.At
				if !lastArrive.IsZero() && !r.At.Before(lastArrive) {
					v.wait, v.hasWait = r.At.Sub(lastArrive), true
				}
			}
			v.reconnects += lost
			lost = 0
		case appointment.DeviceLost, appointment.ClinicianLost, appointment.CallFailed:
			lost++
		case appointment.End:
			if !firstAdmit.IsZero() && !r.At.Before(firstAdmit) {
				v.call, v.hasCall = r.At.Sub(firstAdmit), true
			}
		}
	}
	if v.attended {
		v.dna = false // a clinician may mark a no-show by mistake after a call; the call counts
	}
	return v
}

// group accumulates visits.
type group struct {
	m              Metrics
	waits, calls   []float64
	bitrate, loss  float64
	qualitySamples int
}

func (g *group) add(v *visit) {
	if v.cancelled {
		g.m.Cancelled++
		return
	}
	g.m.Appointments++
	if v.attended {
		g.m.Attended++
	}
	if v.dna {
		g.m.DidNotAttend++
	}
	if v.telephone {
		g.m.MovedToTelephone++
	}
	g.m.Reconnects += v.reconnects
	if v.hasWait {
		g.waits = append(g.waits, v.wait.Seconds())
	}
	if v.hasCall {
		g.calls = append(g.calls, v.call.Seconds())
	}
	if v.quality != nil {
		g.bitrate += v.quality.BitrateKbps
		g.loss += v.quality.PacketLossPct
		g.qualitySamples++
	}
}

func (g *group) metrics() Metrics {
	m := g.m
	if d := m.Attended + m.DidNotAttend; d > 0 {
		m.DNARate = ptr(float64(m.DidNotAttend) / float64(d))
	}
	m.WaitSamples, m.CallSamples, m.QualitySamples = len(g.waits), len(g.calls), g.qualitySamples
	m.WaitMedianSeconds, m.WaitP90Seconds = Percentile(g.waits, 50), Percentile(g.waits, 90)
	m.CallMedianSeconds, m.CallP90Seconds = Percentile(g.calls, 50), Percentile(g.calls, 90)
	if g.qualitySamples > 0 {
		m.MeanBitrateKbps = ptr(g.bitrate / float64(g.qualitySamples))
		m.MeanPacketLossPct = ptr(g.loss / float64(g.qualitySamples))
	}
	return m
}

func ptr(f float64) *float64 { return &f }

// Percentile returns the p-th percentile (0-100) of xs by linear interpolation between
// closest ranks, as Excel's PERCENTILE.INC and NumPy's default do; nil for no samples. xs
// is sorted in place.
func Percentile(xs []float64, p float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	sort.Float64s(xs)
	rank := p / 100 * float64(len(xs)-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, len(xs)-1)
	v := xs[lo] + (rank-float64(lo))*(xs[hi]-xs[lo])
	return &v
}
