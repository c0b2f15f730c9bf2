package switchboard

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/hub"
	"github.com/carebooth/carebooth/switchboard/store"
)

// configPutRequest is the body as the API defines it; validate is the server's.
type configPutRequest struct {
	api.ConfigPut
	scope   store.ConfigScope
	overlay config.Overlay
}

func (q *configPutRequest) validate() *fieldError {
	sc, err := store.ParseConfigScope(q.Scope)
	if err != nil {
		return badField("scope", "%s", strings.TrimSuffix(err.Error(), ": "+store.ErrInvalid.Error()))
	}
	if len(q.Document) > maxConfigDocument {
		return badField("document", "is %d bytes; a remote config document has at most %d", len(q.Document), maxConfigDocument)
	}
	// The device's own check, less what needs its file: a bad key is refused here, by
	// name, and nothing is stored.
	o, err := config.ParseOverlay("document", q.Document)
	if err != nil {
		return badField("document", "%s", strings.TrimPrefix(err.Error(), "document: "))
	}
	q.scope, q.overlay = sc, o
	return nil
}

// maxConfigDocument leaves room in signalling.MaxConfigBytes for the merge of four.
const maxConfigDocument = 4 << 10

// mayConfigure checks that an admin may set sc: fleet admins (no clinic) any scope, a
// site admin only their site's, its rooms and its devices. It writes the refusal.
func (s *Server) mayConfigure(w http.ResponseWriter, r *http.Request, p *principal, sc store.ConfigScope) bool {
	own := p.clinician.ClinicID
	switch sc.Kind() {
	case store.ScopeFleet:
		if own != "" {
			writeError(w, http.StatusForbidden, api.CodeForbidden, "only fleet admins set the fleet's config; set site/%s instead", own)
			return false
		}
	case store.ScopeSite, store.ScopeRoom:
		if own != "" && sc.Site() != own {
			writeError(w, http.StatusForbidden, api.CodeForbidden, "you administer site %s, not %s", own, sc.Site())
			return false
		}
		if !s.clinicExists(w, r, "scope", sc.Site(), false) {
			return false
		}
	case store.ScopeDevice:
		id := strings.TrimPrefix(string(sc), store.ScopeDevice+"/")
		d, err := s.store.Device(id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && own != "" && d.ClinicID != own) {
			writeError(w, http.StatusNotFound, api.CodeNotFound, "no device %q; list them with GET /api/v1/devices", id)
			return false
		} else if err != nil {
			s.internalError(w, r, err)
			return false
		}
	}
	return true
}

// handlePutConfig stores a scope's document and pushes each affected device its new
// effective config.
func (s *Server) handlePutConfig(w http.ResponseWriter, r *http.Request, p *principal) {
	var q configPutRequest
	if !decodeBody(w, r, &q) {
		return
	}
	if !s.mayConfigure(w, r, p, q.scope) {
		return
	}
	s.configMu.Lock()
	defer s.configMu.Unlock()
	doc, err := s.store.PutConfigDoc(store.ConfigDoc{Scope: q.scope, Document: q.overlay.Text(),
		UpdatedAt: s.clock.Now(), UpdatedBy: p.clinician.ID})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	devs, err := s.devicesIn(q.scope)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := api.ConfigPushed{Config: apiConfigDoc(&doc), Devices: []api.ConfigTarget{}}
	for i := range devs {
		cp, err := s.effectiveConfig(&devs[i])
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		sent, err := s.hub.SendConfig(devs[i].ID, cp)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		out.Devices = append(out.Devices, api.ConfigTarget{DeviceID: devs[i].ID, Version: cp.Version, SentNow: sent})
	}
	site := doc.Scope.Site()
	if doc.Scope.Kind() == store.ScopeDevice {
		if d, err := s.store.Device(strings.TrimPrefix(string(doc.Scope), store.ScopeDevice+"/")); err == nil {
			site = d.ClinicID
		}
	}
	s.audit(r, p, audit.ConfigPut, string(doc.Scope), site, fmt.Sprintf("version %d, keys %s, %d devices", doc.Version, strings.Join(q.overlay.Keys(), ","), len(out.Devices)))
	s.log.Info("remote config stored", "scope", doc.Scope, "version", doc.Version, "keys", strings.Join(q.overlay.Keys(), ","),
		"devices", len(out.Devices), "by", p.clinician.ID)
	writeJSON(w, http.StatusOK, out)
}

// handleGetConfig shows a scope's document.
func (s *Server) handleGetConfig(w http.ResponseWriter, r *http.Request, p *principal) {
	sc, err := store.ParseConfigScope(r.URL.Query().Get("scope"))
	if err != nil {
		writeFieldError(w, badField("scope", "%s", strings.TrimSuffix(err.Error(), ": "+store.ErrInvalid.Error())))
		return
	}
	if !s.mayConfigure(w, r, p, sc) {
		return
	}
	doc, err := s.store.ConfigDoc(sc)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no config document for %s; put one with PUT /api/v1/config", sc)
	case err != nil:
		s.internalError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, apiConfigDoc(&doc))
	}
}

func apiConfigDoc(d *store.ConfigDoc) api.ConfigDocument {
	return api.ConfigDocument{Scope: string(d.Scope), Version: d.Version, Document: d.Document, UpdatedAt: d.UpdatedAt}
}

// devicesIn lists the devices a scope's document applies to.
func (s *Server) devicesIn(sc store.ConfigScope) ([]store.Device, error) {
	switch sc.Kind() {
	case store.ScopeDevice:
		d, err := s.store.Device(strings.TrimPrefix(string(sc), store.ScopeDevice+"/"))
		if err != nil {
			return nil, err
		}
		return []store.Device{d}, nil
	case store.ScopeFleet:
		return s.store.Devices("")
	}
	all, err := s.store.Devices(sc.Site())
	if err != nil {
		return nil, err
	}
	var out []store.Device
	for _, d := range all {
		for _, ds := range d.Scopes() {
			if ds == sc {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// effectiveConfig merges the documents that apply to d, least specific first, so the
// most specific wins per key. Its version is the sum of their versions: each put raises
// one of them, so the version rises whenever the effective config can have changed.
func (s *Server) effectiveConfig(d *store.Device) (hub.ConfigPush, error) {
	var (
		layers  []config.Overlay
		version uint64
	)
	for _, sc := range d.Scopes() {
		doc, err := s.store.ConfigDoc(sc)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return hub.ConfigPush{}, err
		}
		o, err := config.ParseOverlay(string(sc), doc.Document)
		if err != nil {
			// Stored by an older switchboard that allowed it; the device would refuse it.
			return hub.ConfigPush{}, fmt.Errorf("stored config for %s no longer valid: %w", sc, err)
		}
		layers = append(layers, o)
		version += doc.Version
	}
	return hub.ConfigPush{Version: version, Document: config.Merge(layers...).Text()}, nil
}

// queueEffectiveConfig queues a new device the config its scopes already hold, so a
// device created or enrolled after a put gets it on its first connection. Failing is
// logged, not fatal: the device is created, and the next put reaches it.
func (s *Server) queueEffectiveConfig(d *store.Device) {
	s.configMu.Lock()
	defer s.configMu.Unlock()
	cp, err := s.effectiveConfig(d)
	if err != nil {
		s.log.Error("resolve a new device's remote config", "device", d.ID, "err", err)
		return
	}
	if cp.Version == 0 {
		return // no document applies
	}
	if _, err := s.hub.SendConfig(d.ID, cp); err != nil {
		s.log.Error("queue a new device's remote config", "device", d.ID, "err", err)
	}
}
