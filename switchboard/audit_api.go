package switchboard

import (
	"net/http"
	"strconv"
	"time"

	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/store"
)

// The audit log: every change of state is appended (package audit), and admins read it
// with GET /api/v1/audit. There is no route that changes or deletes an entry.

// Audit pages.
const (
	defaultAuditPage = 100
	maxAuditPage     = store.MaxAuditPage
)

// appendAudit appends e, logging (not failing the request) when the store refuses it:
// the change it records has happened already.
func (s *Server) appendAudit(e audit.Entry) {
	if err := s.store.AppendAudit(&e); err != nil {
		s.log.Error("audit log", "action", e.Action, "actor", e.Actor, "target", e.Target, "err", err)
	}
}

// audit records that p did action to target (of clinic, "" for none) over r.
func (s *Server) audit(r *http.Request, p *principal, action audit.Action, target, clinic, detail string) {
	e := audit.Entry{At: s.clock.Now(), Action: action, Target: target, ClinicID: clinic, Detail: detail, Addr: clientIP(r)}
	switch {
	case p != nil && p.device != nil:
		e.ActorKind, e.Actor = audit.ByDevice, p.device.ID
	case p != nil && p.clinician != nil:
		e.ActorKind, e.Actor = audit.ByClinician, p.clinician.Username
	}
	s.appendAudit(e)
}

// auditFailedLogin records a refused login under the username tried.
func (s *Server) auditFailedLogin(r *http.Request, username string) {
	if len(username) > 64 {
		username = username[:64]
	}
	s.appendAudit(audit.Entry{At: s.clock.Now(), ActorKind: audit.ByAnonymous, Actor: username, Action: audit.LoginFailed,
		Detail: "username or password wrong", Addr: clientIP(r)})
}

// pruneAudit forgets entries older than audit.Retention; housekeeping, run at login.
func (s *Server) pruneAudit() {
	if n, err := s.store.PruneAudit(s.clock.Now().Add(-audit.Retention)); err != nil {
		s.log.Error("audit retention", "err", err)
	} else if n > 0 {
		s.log.Info("audit entries past retention removed", "count", n, "retention", audit.Retention)
	}
}

// handleAudit lists audit entries, oldest first: a fleet admin's of every site, a site
// admin's of their own.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, p *principal) {
	qs := r.URL.Query()
	var q audit.Query
	if v := qs.Get("since"); v != "" {
		t, err := parseSince(v, s.clock.Now())
		if err != nil {
			writeFieldError(w, badField("since", "must be a duration back from now (24h, 90m) or an RFC 3339 time, not %q", v))
			return
		}
		q.Since = t
	}
	if v := qs.Get("action"); v != "" {
		q.Action = audit.Action(v)
		if !q.Action.Valid() {
			writeFieldError(w, badField("action", "%q is not an action; see the audit entry's action enum in /api/v1/openapi.yaml", v))
			return
		}
	}
	limit, fe := intParam(r, "limit", defaultAuditPage, 1, maxAuditPage)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	after, fe := intParam(r, "after", 0, 0, int(^uint32(0)>>1))
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	q.Limit, q.AfterSeq = limit+1, uint64(after) // one more: is there a next page?
	if !p.fleetAdmin() {
		q.ClinicID = p.clinician.ClinicID
	}
	es, err := s.store.Audit(q)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := api.AuditLog{Entries: es}
	if len(es) > limit {
		out.Entries = es[:limit]
		next := out.Entries[limit-1].Seq
		out.NextAfter = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// parseSince reads a duration back from now or an RFC 3339 time.
func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 { // a bare number of days is a common slip: refuse it
		return time.Time{}, strconv.ErrSyntax
	}
	return time.Parse(time.RFC3339, v)
}
