package store

import (
	"fmt"
	"strings"
	"time"
)

// ConfigScope names the devices a remote config document applies to, in its one text
// form: "fleet", "site/SITE_ID", "room/SITE_ID/ROOM" (the room as the device's Room names
// it, spaces and all) or "device/DEVICE_ID".
type ConfigScope string

// The kinds of scope, least specific first.
const (
	ScopeFleet  = "fleet"
	ScopeSite   = "site"
	ScopeRoom   = "room"
	ScopeDevice = "device"
)

// FleetScope, SiteScope, RoomScope and DeviceScope build scopes.
func FleetScope() ConfigScope           { return ScopeFleet }
func SiteScope(site string) ConfigScope { return ConfigScope(ScopeSite + "/" + site) }
func RoomScope(site, room string) ConfigScope {
	return ConfigScope(ScopeRoom + "/" + site + "/" + room)
}
func DeviceScope(id string) ConfigScope { return ConfigScope(ScopeDevice + "/" + id) }

// ParseConfigScope checks a scope's text form.
func ParseConfigScope(s string) (ConfigScope, error) {
	kind, rest, _ := strings.Cut(s, "/")
	bad := func(why string) (ConfigScope, error) {
		return "", fmt.Errorf("scope %q: %s; write fleet, site/SITE_ID, room/SITE_ID/ROOM or device/DEVICE_ID: %w", s, why, ErrInvalid)
	}
	switch kind {
	case ScopeFleet:
		if rest != "" || strings.Contains(s, "/") {
			return bad("fleet takes nothing after it")
		}
	case ScopeSite, ScopeDevice:
		if rest == "" || strings.Contains(rest, "/") {
			return bad("needs one ID after " + kind + "/")
		}
	case ScopeRoom:
		site, room, ok := strings.Cut(rest, "/")
		if !ok || site == "" || strings.TrimSpace(room) == "" {
			return bad("needs a site ID and a room name")
		}
	default:
		return bad("unknown kind " + fmt.Sprintf("%q", kind))
	}
	return ConfigScope(s), nil
}

// Kind returns ScopeFleet, ScopeSite, ScopeRoom or ScopeDevice.
func (s ConfigScope) Kind() string { k, _, _ := strings.Cut(string(s), "/"); return k }

// Site returns the site a site or room scope names, else "".
func (s ConfigScope) Site() string {
	switch s.Kind() {
	case ScopeSite:
		return strings.TrimPrefix(string(s), ScopeSite+"/")
	case ScopeRoom:
		site, _, _ := strings.Cut(strings.TrimPrefix(string(s), ScopeRoom+"/"), "/")
		return site
	}
	return ""
}

// Scopes returns the scopes whose documents apply to d, least specific first: the order
// they are merged in, so the most specific wins.
func (d *Device) Scopes() []ConfigScope {
	out := []ConfigScope{FleetScope()}
	if d.ClinicID != "" {
		out = append(out, SiteScope(d.ClinicID))
		if d.Room != "" {
			out = append(out, RoomScope(d.ClinicID, d.Room))
		}
	}
	return append(out, DeviceScope(d.ID))
}

// ConfigDoc is one scope's remote config document (provisioning/config.Overlay text).
// Version rises by one on each PutConfigDoc of its scope, from 1.
type ConfigDoc struct {
	Scope     ConfigScope `json:"scope"`
	Version   uint64      `json:"version"`
	Document  string      `json:"document"`
	UpdatedAt time.Time   `json:"updated_at"`
	UpdatedBy string      `json:"updated_by,omitempty"` // clinician ID
}

// PushConfig is the Push.Type of a device's effective config; a newer one replaces any
// still queued (QueuePush with replace).
const PushConfig = "config"

// ConfigStatus is what a device last reported about its remote config.
type ConfigStatus struct {
	// Version is the effective version the device runs (0: none).
	Version uint64
	// Error is the last refusal or rollback, "" once a version is applied.
	Error string
}
