package switchboard

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/switchboard/store"
)

// Demo names what SeedDemo set up.
const (
	DemoClinicName   = "Riverside Surgery"
	DemoClinicPhone  = "+44 20 7946 0018"
	DemoAdmin        = "admin"
	DemoClinician    = "dr.patel"
	DemoBooth        = "library-booth-1"
	DemoPatient      = "Alex Morgan"
	demoLead         = 2 * time.Minute
	demoLength       = 20 * time.Minute
	demoReuseHorizon = 30 * time.Minute
)

// Demo is what SeedDemo ensured exists, for printing.
type Demo struct {
	ClinicID          string
	ClinicName        string
	AdminUser         string
	AdminPassword     string
	ClinicianUser     string
	ClinicianPassword string
	DeviceID          string
	DeviceName        string
	DeviceTokenFile   string // holds the booth's bearer token
	AppointmentID     string
	AppointmentStart  time.Time
}

// Describe renders d for a person at a terminal. baseURL is where the switchboard is
// reachable, e.g. "http://localhost:8080".
func (d Demo) Describe(baseURL string) string {
	baseURL = strings.TrimSuffix(baseURL, "/")
	var b strings.Builder
	fmt.Fprintf(&b, "Demo clinic %q (%s)\n", d.ClinicName, d.ClinicID)
	fmt.Fprintf(&b, "  clinician web app: %s/\n", baseURL)
	fmt.Fprintf(&b, "  clinician:         %s / %s\n", d.ClinicianUser, d.ClinicianPassword)
	fmt.Fprintf(&b, "  admin:             %s / %s\n", d.AdminUser, d.AdminPassword)
	fmt.Fprintf(&b, "  booth:             %s (%s), token in %s\n", d.DeviceName, d.DeviceID, d.DeviceTokenFile)
	fmt.Fprintf(&b, "                     point boothd at %s with that token file\n", baseURL)
	fmt.Fprintf(&b, "  appointment:       %s at %s\n", d.AppointmentID, d.AppointmentStart.Local().Format("15:04:05 MST"))
	return b.String()
}

// SeedDemo idempotently ensures the demo clinic, its admin and clinician, a booth and an
// upcoming appointment exist in st. Passwords are random when an account is first
// created and kept in dir/<username>.password (mode 0600); the booth's token is kept in
// dir/booth.token (0600), and a new token is issued when that file is missing. An
// appointment starting two minutes from now is booked unless one for the booth already
// starts within the next 30 minutes. bcryptCost 0 means the default cost.
func SeedDemo(ctx context.Context, st store.Store, clock clockwork.Clock, dir string, bcryptCost int) (Demo, error) {
	if err := ctx.Err(); err != nil {
		return Demo{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Demo{}, fmt.Errorf("demo: %w", err)
	}
	d := Demo{ClinicName: DemoClinicName, DeviceName: DemoBooth, DeviceTokenFile: filepath.Join(dir, "booth.token")}

	clinics, err := st.Clinics()
	if err != nil {
		return d, fmt.Errorf("demo: %w", err)
	}
	for _, c := range clinics {
		if c.Name == DemoClinicName {
			d.ClinicID = c.ID
		}
	}
	if d.ClinicID == "" {
		c := store.Clinic{Name: DemoClinicName, Phone: DemoClinicPhone}
		if err := st.CreateClinic(&c); err != nil {
			return d, fmt.Errorf("demo clinic: %w", err)
		}
		d.ClinicID = c.ID
	}

	for _, u := range []struct {
		user, name string
		admin      bool
		password   *string
	}{
		{DemoAdmin, "Demo Admin", true, &d.AdminPassword},
		{DemoClinician, "Dr Priya Patel", false, &d.ClinicianPassword},
	} {
		pw, err := ensureClinician(st, dir, u.user, u.name, d.ClinicID, u.admin, bcryptCost)
		if err != nil {
			return d, fmt.Errorf("demo clinician %s: %w", u.user, err)
		}
		*u.password = pw
	}
	d.AdminUser, d.ClinicianUser = DemoAdmin, DemoClinician

	d.DeviceID, err = ensureBooth(st, clock, d.ClinicID, d.DeviceTokenFile)
	if err != nil {
		return d, fmt.Errorf("demo booth: %w", err)
	}

	now := clock.Now()
	upcoming, err := st.AppointmentsByDevice(d.DeviceID, now, now.Add(demoReuseHorizon))
	if err != nil {
		return d, fmt.Errorf("demo appointment: %w", err)
	}
	for _, a := range upcoming {
		if !a.Start.Before(now) && (a.Status == appointment.Scheduled || a.Status == appointment.Waiting) {
			d.AppointmentID, d.AppointmentStart = a.ID, a.Start
			return d, nil
		}
	}
	start := now.Add(demoLead).Truncate(time.Second).UTC()
	a := store.Appointment{ClinicID: d.ClinicID, DeviceID: d.DeviceID, Patient: DemoPatient,
		Start: start, End: start.Add(demoLength), Status: appointment.Scheduled, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateAppointment(&a); err != nil {
		return d, fmt.Errorf("demo appointment: %w", err)
	}
	d.AppointmentID, d.AppointmentStart = a.ID, a.Start
	return d, nil
}

func ensureClinician(st store.Store, dir, user, name, clinic string, admin bool, cost int) (string, error) {
	file := filepath.Join(dir, user+".password")
	pw, ferr := readSecret(file)
	if ferr != nil && !errors.Is(ferr, os.ErrNotExist) {
		return "", ferr
	}
	fresh := ferr != nil
	if fresh {
		pw = randomPassword()
	}
	c, err := st.ClinicianByUsername(user)
	switch {
	case errors.Is(err, store.ErrNotFound):
		hash, err := HashPassword(pw, cost)
		if err != nil {
			return "", err
		}
		c = store.Clinician{Username: user, Name: name, ClinicID: clinic, Admin: admin, PasswordHash: hash}
		if err := st.CreateClinician(&c); err != nil {
			return "", err
		}
	case err != nil:
		return "", err
	case fresh: // the account exists but its password file was lost: reset it
		hash, err := HashPassword(pw, cost)
		if err != nil {
			return "", err
		}
		if err := st.SetPassword(c.ID, hash); err != nil {
			return "", err
		}
	}
	if fresh {
		if err := writeSecret(file, pw); err != nil {
			return "", err
		}
	}
	return pw, nil
}

func ensureBooth(st store.Store, clock clockwork.Clock, clinic, tokenFile string) (string, error) {
	tok, ferr := readSecret(tokenFile)
	if ferr != nil && !errors.Is(ferr, os.ErrNotExist) {
		return "", ferr
	}
	fresh := ferr != nil || !strings.HasPrefix(tok, deviceTokenPrefix)
	if fresh {
		tok = newToken(deviceTokenPrefix)
	}
	devices, err := st.Devices(clinic)
	if err != nil {
		return "", err
	}
	id := ""
	for _, d := range devices {
		if d.Name == DemoBooth {
			id = d.ID
			if d.TokenHash != hashToken(tok) {
				if err := st.SetDeviceToken(id, hashToken(tok)); err != nil {
					return "", err
				}
			}
		}
	}
	if id == "" {
		d := store.Device{Name: DemoBooth, ClinicID: clinic, Role: device.RoleBooth, TokenHash: hashToken(tok), CreatedAt: clock.Now()}
		if err := st.CreateDevice(&d); err != nil {
			return "", err
		}
		id = d.ID
	}
	if fresh {
		if err := writeSecret(tokenFile, tok); err != nil {
			return "", err
		}
	}
	return id, nil
}

func randomPassword() string {
	var b [12]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// writeSecret writes a 0600 file by temp file, fsync and rename.
func writeSecret(path, secret string) error {
	return atomicfile.Write(path, []byte(secret+"\n"), 0o600)
}
