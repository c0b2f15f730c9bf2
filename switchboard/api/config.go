package api

import "time"

// ConfigPut is the body of PUT /api/v1/config: a remote config document for a scope.
// Scope is "fleet", "site/SITE_ID", "room/SITE_ID/ROOM" or "device/DEVICE_ID"; Document
// is TOML setting only the keys a remote document may set (docs/fleet.md).
type ConfigPut struct {
	Scope    string `json:"scope"`
	Document string `json:"document"`
}

// ConfigDocument is a scope's stored document, answering GET /api/v1/config?scope=.
// Version rises by one each time the scope's document is put.
type ConfigDocument struct {
	Scope     string    `json:"scope"`
	Version   uint64    `json:"version"`
	Document  string    `json:"document"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ConfigTarget is one device a put changed: its new effective version, and whether the
// push reached it now (else it does when the device next connects).
type ConfigTarget struct {
	DeviceID string `json:"device_id"`
	Version  uint64 `json:"version"`
	SentNow  bool   `json:"sent_now"`
}

// ConfigPushed answers PUT /api/v1/config.
type ConfigPushed struct {
	Config  ConfigDocument `json:"config"`
	Devices []ConfigTarget `json:"devices"`
}
