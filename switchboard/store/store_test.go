package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	bolt "go.etcd.io/bbolt"
)

// TestStores runs the contract test against every implementation.
func TestStores(t *testing.T) {
	impls := allStores()
	for name, open := range impls {
		t.Run(name, func(t *testing.T) { testContract(t, open) })
	}
}

func testContract(t *testing.T, open func(t *testing.T) Store) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

	t.Run("clinics", func(t *testing.T) {
		s := open(t)
		b := Clinic{Name: "B clinic", Phone: "2"}
		a := Clinic{Name: "A clinic", Phone: "1"}
		for _, c := range []*Clinic{&b, &a} {
			if err := s.CreateClinic(c); err != nil {
				t.Fatal(err)
			}
			if !signalling.ValidID(c.ID) {
				t.Errorf("got ID %q, want a valid signalling ID", c.ID)
			}
		}
		if err := s.CreateClinic(&Clinic{ID: a.ID, Name: "dup"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate ID: got %v, want ErrConflict", err)
		}
		got, err := s.Clinics()
		if err != nil || !reflect.DeepEqual(got, []Clinic{a, b}) {
			t.Errorf("Clinics: got %v, %v, want %v", got, err, []Clinic{a, b})
		}
		if c, err := s.Clinic(a.ID); err != nil || c != a {
			t.Errorf("Clinic: got %v, %v, want %v", c, err, a)
		}
		if _, err := s.Clinic("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Clinic(nope): got %v, want ErrNotFound", err)
		}
	})

	t.Run("clinicians", func(t *testing.T) {
		s := open(t)
		c := Clinician{Username: "dr.patel", Name: "Dr Patel", ClinicID: "c1", PasswordHash: []byte("hash")}
		if err := s.CreateClinician(&c); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateClinician(&Clinician{Username: "dr.patel"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate username: got %v, want ErrConflict", err)
		}
		got, err := s.ClinicianByUsername("dr.patel")
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("ClinicianByUsername: got %+v, %v, want %+v", got, err, c)
		}
		if _, err := s.ClinicianByUsername("nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown username: got %v, want ErrNotFound", err)
		}
		if err := s.SetPassword(c.ID, []byte("new")); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Clinician(c.ID); string(got.PasswordHash) != "new" {
			t.Errorf("after SetPassword: got hash %q, want %q", got.PasswordHash, "new")
		}
		if err := s.SetPassword("nope", nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetPassword(nope): got %v, want ErrNotFound", err)
		}
	})

	t.Run("devices", func(t *testing.T) {
		s := open(t)
		d1 := Device{Name: "booth 1", ClinicID: "c1", Role: device.RoleBooth, TokenHash: "h1", CreatedAt: t0}
		d2 := Device{Name: "booth 2", ClinicID: "c2", Role: device.RoleBooth, TokenHash: "h2", CreatedAt: t0,
			PublicKey: bytes.Repeat([]byte{7}, 32), Room: "Room 2"} // enrolled by key: both kept
		for _, d := range []*Device{&d1, &d2} {
			if err := s.CreateDevice(d); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateDevice(&Device{Name: "x", TokenHash: "h1"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate token: got %v, want ErrConflict", err)
		}
		if got, err := s.DeviceByTokenHash("h2"); err != nil || !reflect.DeepEqual(got, d2) {
			t.Errorf("DeviceByTokenHash: got %+v, %v, want %+v", got, err, d2)
		}
		if _, err := s.DeviceByTokenHash(""); !errors.Is(err, ErrNotFound) {
			t.Errorf("empty hash: got %v, want ErrNotFound", err)
		}
		if got, _ := s.Devices("c1"); !reflect.DeepEqual(got, []Device{d1}) {
			t.Errorf("Devices(c1): got %+v, want %+v", got, []Device{d1})
		}
		if got, _ := s.Devices(""); len(got) != 2 {
			t.Errorf("Devices(\"\"): got %d, want 2", len(got))
		}
		if err := s.SetDeviceToken(d1.ID, "h2"); !errors.Is(err, ErrConflict) {
			t.Errorf("SetDeviceToken to another's: got %v, want ErrConflict", err)
		}
		if err := s.SetDeviceToken(d1.ID, "h3"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeviceByTokenHash("h1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("old token after SetDeviceToken: got %v, want ErrNotFound", err)
		}
		if got, err := s.DeviceByTokenHash("h3"); err != nil || got.ID != d1.ID {
			t.Errorf("new token: got %+v, %v, want device %s", got, err, d1.ID)
		}
		if err := s.TouchDevice(d1.ID, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Device(d1.ID); !got.LastSeen.Equal(t0.Add(time.Hour)) {
			t.Errorf("LastSeen: got %v, want %v", got.LastSeen, t0.Add(time.Hour))
		}
	})

	t.Run("revoke", func(t *testing.T) {
		s := open(t)
		d := Device{Name: "booth 1", ClinicID: "c1", Role: device.RoleBooth, TokenHash: "h1", CreatedAt: t0}
		if err := s.CreateDevice(&d); err != nil {
			t.Fatal(err)
		}
		rv := Revocation{At: t0.Add(time.Hour), By: "it.admin", Reason: "stolen"}
		for _, tc := range []struct {
			name string
			id   string
			rv   Revocation
			want error
		}{
			{"no such device", "nope", rv, ErrNotFound},
			{"no time", d.ID, Revocation{By: "it.admin"}, ErrInvalid},
			{"no author", d.ID, Revocation{At: t0}, ErrInvalid},
			{"reason too long", d.ID, Revocation{At: t0, By: "a", Reason: string(bytes.Repeat([]byte("x"), MaxRevokeReason+1))}, ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.RevokeDevice(tc.id, tc.rv); !errors.Is(err, tc.want) {
					t.Errorf("got %v, want %v", err, tc.want)
				}
			})
		}
		got, err := s.RevokeDevice(d.ID, rv)
		if err != nil || got.Revoked == nil || *got.Revoked != rv {
			t.Fatalf("RevokeDevice: got %+v, %v, want revoked %+v", got.Revoked, err, rv)
		}
		if _, err := s.RevokeDevice(d.ID, Revocation{At: t0.Add(2 * time.Hour), By: "other"}); !errors.Is(err, ErrConflict) {
			t.Errorf("revoking twice: got %v, want ErrConflict", err)
		}
		for name, get := range map[string]func() (Device, error){
			"Device":            func() (Device, error) { return s.Device(d.ID) },
			"DeviceByTokenHash": func() (Device, error) { return s.DeviceByTokenHash("h1") },
		} {
			if got, err := get(); err != nil || got.Revoked == nil || *got.Revoked != rv {
				t.Errorf("%s after revoking: got %+v, %v, want the first revocation %+v", name, got.Revoked, err, rv)
			}
		}
		if err := s.CreateDevice(&Device{Name: "again", ClinicID: "c1", TokenHash: "h1"}); !errors.Is(err, ErrConflict) {
			t.Errorf("a new device with the revoked credential: got %v, want ErrConflict", err)
		}
	})

	t.Run("appointments", func(t *testing.T) {
		s := open(t)
		mk := func(clinic, dev string, start time.Time, d time.Duration) Appointment {
			a := Appointment{ClinicID: clinic, DeviceID: dev, Patient: "P", Start: start, End: start.Add(d), Status: appointment.Scheduled, CreatedAt: t0, UpdatedAt: t0}
			if err := s.CreateAppointment(&a); err != nil {
				t.Fatal(err)
			}
			return a
		}
		early := mk("c1", "d1", t0.Add(-3*time.Hour), time.Hour)   // 06:00-07:00
		long := mk("c1", "d2", t0.Add(-2*time.Hour), 4*time.Hour)  // 07:00-11:00
		mid := mk("c1", "d1", t0.Add(time.Hour), 30*time.Minute)   // 10:00-10:30
		other := mk("c2", "d3", t0.Add(time.Hour), 30*time.Minute) // another clinic
		late := mk("c1", "d1", t0.Add(48*time.Hour), time.Hour)

		got, err := s.AppointmentsByClinic("c1", t0, t0.Add(2*time.Hour))
		if err != nil || !reflect.DeepEqual(ids(got), ids([]Appointment{long, mid})) {
			t.Errorf("ByClinic: got %v, %v, want %v", ids(got), err, ids([]Appointment{long, mid}))
		}
		got, _ = s.AppointmentsByDevice("d1", t0.Add(-24*time.Hour), t0.Add(72*time.Hour))
		if !reflect.DeepEqual(ids(got), ids([]Appointment{early, mid, late})) {
			t.Errorf("ByDevice: got %v, want %v", ids(got), ids([]Appointment{early, mid, late}))
		}
		got, _ = s.AppointmentsByClinic("c2", t0, t0.Add(time.Hour)) // ends exactly at other.Start
		if len(got) != 0 {
			t.Errorf("half-open range: got %v, want none", ids(got))
		}
		_ = other

		bad := Appointment{ClinicID: "c1", DeviceID: "d1", Start: t0, End: t0, Status: appointment.Scheduled}
		if err := s.CreateAppointment(&bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("end == start: got %v, want ErrInvalid", err)
		}

		upd, err := s.UpdateAppointment(mid.ID, func(a *Appointment) error {
			a.Status = appointment.Waiting
			a.Start = a.Start.Add(24 * time.Hour)
			a.End = a.End.Add(24 * time.Hour)
			return nil
		})
		if err != nil || upd.Status != appointment.Waiting {
			t.Fatalf("UpdateAppointment: got %+v, %v", upd, err)
		}
		got, _ = s.AppointmentsByClinic("c1", t0, t0.Add(2*time.Hour))
		if !reflect.DeepEqual(ids(got), ids([]Appointment{long})) {
			t.Errorf("after moving: got %v, want %v", ids(got), ids([]Appointment{long}))
		}
		got, _ = s.AppointmentsByDevice("d1", t0.Add(24*time.Hour), t0.Add(26*time.Hour))
		if !reflect.DeepEqual(ids(got), []string{mid.ID}) {
			t.Errorf("moved appointment by new time: got %v, want %v", ids(got), []string{mid.ID})
		}
		sentinel := errors.New("abort")
		if _, err := s.UpdateAppointment(mid.ID, func(a *Appointment) error { a.Status = appointment.Ended; return sentinel }); !errors.Is(err, sentinel) {
			t.Errorf("aborted update: got %v, want %v", err, sentinel)
		}
		if a, _ := s.Appointment(mid.ID); a.Status != appointment.Waiting {
			t.Errorf("after aborted update: got status %q, want %q", a.Status, appointment.Waiting)
		}
		if _, err := s.UpdateAppointment(mid.ID, func(a *Appointment) error { a.Status = "bogus"; return nil }); !errors.Is(err, ErrInvalid) {
			t.Errorf("bogus status: got %v, want ErrInvalid", err)
		}
		if _, err := s.UpdateAppointment("nope", func(*Appointment) error { return nil }); !errors.Is(err, ErrNotFound) {
			t.Errorf("update unknown: got %v, want ErrNotFound", err)
		}
	})

	t.Run("sessions", func(t *testing.T) {
		s := open(t)
		live := Session{TokenHash: "live", ClinicianID: "c", Expires: t0.Add(time.Hour)}
		dead := Session{TokenHash: "dead", ClinicianID: "c", Expires: t0}
		for _, x := range []Session{live, dead} {
			if err := s.CreateSession(x); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateSession(live); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate session: got %v, want ErrConflict", err)
		}
		if n, err := s.DeleteExpiredSessions(t0); err != nil || n != 1 {
			t.Errorf("DeleteExpiredSessions: got %d, %v, want 1", n, err)
		}
		if got, err := s.Session("live"); err != nil || !got.Expires.Equal(live.Expires) {
			t.Errorf("Session(live): got %+v, %v", got, err)
		}
		if _, err := s.Session("dead"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Session(dead): got %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession("live"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session("live"); !errors.Is(err, ErrNotFound) {
			t.Errorf("after DeleteSession: got %v, want ErrNotFound", err)
		}
	})

	t.Run("config documents", func(t *testing.T) {
		s := open(t)
		site := SiteScope("c1")
		if _, err := s.ConfigDoc(site); !errors.Is(err, ErrNotFound) {
			t.Errorf("ConfigDoc before any: got %v, want ErrNotFound", err)
		}
		for want := uint64(1); want <= 3; want++ {
			d, err := s.PutConfigDoc(ConfigDoc{Scope: site, Document: "[log]\nlevel = \"warn\"\n", UpdatedAt: t0})
			if err != nil || d.Version != want {
				t.Fatalf("PutConfigDoc: got version %d, %v, want %d", d.Version, err, want)
			}
		}
		if d, err := s.PutConfigDoc(ConfigDoc{Scope: FleetScope(), UpdatedAt: t0}); err != nil || d.Version != 1 {
			t.Errorf("another scope: got version %d, %v, want 1 (versions are per scope)", d.Version, err)
		}
		if got, err := s.ConfigDoc(site); err != nil || got.Version != 3 || got.Document != "[log]\nlevel = \"warn\"\n" || !got.UpdatedAt.Equal(t0) {
			t.Errorf("ConfigDoc: got %+v, %v, want version 3 with its document", got, err)
		}
		if _, err := s.PutConfigDoc(ConfigDoc{Scope: "galaxy/1"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad scope: got %v, want ErrInvalid", err)
		}

		dev := Device{Name: "Booth", ClinicID: "c1", Room: "Room 2", TokenHash: "h"}
		if err := s.CreateDevice(&dev); err != nil {
			t.Fatal(err)
		}
		if _, err := s.QueuePush("nope", PushConfig, []byte("{}"), true, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("QueuePush to no device: got %v, want ErrNotFound", err)
		}
		if _, _, err := s.SetDeviceSettings(dev.ID, DeviceSettings{JoinMode: device.JoinButton}, t0); err != nil {
			t.Fatal(err)
		}
		first, err := s.QueuePush(dev.ID, PushConfig, []byte(`{"v":1}`), true, t0)
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.QueuePush(dev.ID, PushConfig, []byte(`{"v":2}`), true, t0)
		if err != nil || second.Seq <= first.Seq {
			t.Fatalf("second push: got seq %d, %v, want above %d", second.Seq, err, first.Seq)
		}
		ps, err := s.Pushes(dev.ID)
		if err != nil || len(ps) != 2 || ps[0].Type != PushSettings || ps[1].Type != PushConfig || string(ps[1].Body) != `{"v":2}` {
			t.Errorf("Pushes: got %+v, %v, want the settings push and only the newest config push", ps, err)
		}

		d, err := s.SetDeviceConfigStatus(dev.ID, ConfigStatus{Version: 7, Error: "refused"})
		if err != nil || d.ConfigVersion != 7 || d.ConfigError != "refused" {
			t.Errorf("SetDeviceConfigStatus: got %d %q, %v", d.ConfigVersion, d.ConfigError, err)
		}
		if got, err := s.Device(dev.ID); err != nil || got.ConfigVersion != 7 || got.ConfigError != "refused" || got.JoinMode != device.JoinButton {
			t.Errorf("Device after status: got %+v, %v", got, err)
		}
		if _, err := s.SetDeviceConfigStatus("nope", ConfigStatus{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("status of no device: got %v, want ErrNotFound", err)
		}
	})
}

func TestConfigScopes(t *testing.T) {
	tests := []struct {
		dev  Device
		want []ConfigScope
	}{
		{Device{ID: "d1"}, []ConfigScope{"fleet", "device/d1"}},
		{Device{ID: "d1", ClinicID: "c1"}, []ConfigScope{"fleet", "site/c1", "device/d1"}},
		{Device{ID: "d1", ClinicID: "c1", Room: "Room 2"}, []ConfigScope{"fleet", "site/c1", "room/c1/Room 2", "device/d1"}},
	}
	for _, tt := range tests {
		if got := tt.dev.Scopes(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Scopes(%+v): got %q, want %q", tt.dev, got, tt.want)
		}
	}
	for _, s := range []string{"fleet", "site/c1", "room/c1/Room 2", "device/d1"} {
		if _, err := ParseConfigScope(s); err != nil {
			t.Errorf("ParseConfigScope(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "fleet/x", "site/", "site/a/b", "room/c1", "room/c1/ ", "device/", "galaxy/1"} {
		if _, err := ParseConfigScope(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseConfigScope(%q): got %v, want ErrInvalid", s, err)
		}
	}
}

func ids(as []Appointment) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func TestBoltReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	c := Clinician{Username: "admin", Admin: true, PasswordHash: []byte("h")}
	if err := s.CreateClinician(&c); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	a := Appointment{ClinicID: "c", DeviceID: "d", Patient: "P", Start: start, End: start.Add(time.Hour), Status: appointment.Scheduled}
	if err := s.CreateAppointment(&a); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Errorf("schema version after reopen: got %d, %v, want %d", v, err, SchemaVersion)
	}
	if got, err := s.ClinicianByUsername("admin"); err != nil || got.ID != c.ID || !got.Admin {
		t.Errorf("clinician after reopen: got %+v, %v, want %+v", got, err, c)
	}
	got, err := s.AppointmentsByDevice("d", start, start.Add(time.Minute))
	if err != nil || len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("appointments after reopen: got %v, %v, want [%s]", ids(got), err, a.ID)
	}
}

func TestBoltRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bktMeta).Put(keySchemaVersion, []byte("99"))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenBolt(path); err == nil {
		t.Fatal("OpenBolt of a version 99 file: got nil error, want a refusal")
	}
}

func TestSchemaVersionIsMigrations(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Errorf("got %d migrations, want SchemaVersion %d", len(migrations), SchemaVersion)
	}
}
