package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/switchboard/apiclient"
)

func (cmd *command) sessionCommands() []*cobra.Command {
	login := &cobra.Command{Use: "login", Short: "Log in; the password is read from the terminal or stdin", Args: cobra.NoArgs}
	user := login.Flags().String("user", cmd.e.getenv("USER"), "username")
	login.RunE = cmd.online(func([]string) error { return cmd.login(*user) })
	return []*cobra.Command{
		login,
		{Use: "logout", Short: "End the saved session", Args: cobra.NoArgs, RunE: cmd.online(func([]string) error { return cmd.logout() })},
		{Use: "me", Short: "Who the token belongs to", Args: cobra.NoArgs, RunE: cmd.online(func([]string) error { return cmd.me() })},
	}
}

// readPassword reads one line from stdin, without echo when stdin is a terminal.
func (cmd *command) readPassword(prompt string) (string, error) {
	if f, ok := cmd.e.stdin.(*os.File); ok {
		fmt.Fprint(cmd.e.stderr, prompt)
		restore := echoOff(f)
		defer func() { restore(); fmt.Fprintln(cmd.e.stderr) }()
	}
	line, err := bufio.NewReader(cmd.e.stdin).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (cmd *command) login(user string) error {
	if cmd.fileErr != nil {
		return cmd.fileErr
	}
	pw, err := cmd.readPassword("password for " + user + ": ")
	if err != nil {
		return err
	}
	l, err := cmd.c.Login(cmd.ctx, user, pw)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(savedSession{Server: cmd.server, Token: l.Token}, "", "  ")
	if err := writePrivate(cmd.file, b); err != nil {
		return err
	}
	l.Token = "" // saved, never printed
	return cmd.p.Record(l, "logged in to %s as %s until %s", cmd.server, l.Clinician.Username, l.Expires.Local().Format(time.DateTime))
}

// writePrivate writes a 0600 file atomically, making its directory (0700) if need be.
func writePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}

func (cmd *command) logout() error {
	if err := cmd.c.Logout(cmd.ctx); err != nil {
		return err
	}
	if cmd.fileErr == nil {
		os.Remove(cmd.file)
	}
	return cmd.p.Record(map[string]bool{"logged_out": true}, "logged out")
}

func (cmd *command) me() error {
	m, err := cmd.c.Me(cmd.ctx)
	if err != nil {
		return err
	}
	if m.Device != nil {
		return cmd.p.Record(m, "device %s (%s), clinic %s", m.Device.Name, m.Device.ID, m.Device.ClinicID)
	}
	return cmd.p.Record(m, "clinician %s (%s), clinic %s, admin %v", m.Clinician.Username, m.Clinician.Name, m.Clinician.ClinicID, m.Clinician.Admin)
}

func (cmd *command) clinicsCommand() *cobra.Command {
	list := &cobra.Command{Use: "list", Short: "The clinics you may see", Args: cobra.NoArgs}
	list.RunE = cmd.online(func([]string) error {
		cs, err := cmd.c.Clinics(cmd.ctx)
		if err != nil {
			return err
		}
		rows := make([][]string, 0, len(cs))
		for _, c := range cs {
			rows = append(rows, []string{c.ID, c.Name, c.Phone})
		}
		return cmd.p.List(cs, []string{"ID", "NAME", "PHONE"}, rows)
	})
	add := &cobra.Command{Use: "add", Short: "Create a clinic (admins)", Args: cobra.NoArgs}
	name := add.Flags().String("name", "", "clinic name (required)")
	phone := add.Flags().String("phone", "", "phone number shown to patients")
	add.RunE = cmd.online(func([]string) error {
		c, err := cmd.c.CreateClinic(cmd.ctx, *name, *phone)
		if err != nil {
			return err
		}
		return cmd.p.Record(c, "clinic %s created: %s", c.Name, c.ID)
	})
	return group("clinics", "List and create clinics", list, add)
}

func (cmd *command) cliniciansCommand() *cobra.Command {
	add := &cobra.Command{Use: "add", Short: "Create a clinician account (admins; the password is read from stdin)", Args: cobra.NoArgs}
	n := apiclient.NewClinician{}
	add.Flags().StringVar(&n.Username, "username", "", "login name: lower-case letters, digits, '.', '-', '_'")
	add.Flags().StringVar(&n.Name, "name", "", `display name, e.g. "Dr Priya Patel"`)
	add.Flags().StringVar(&n.ClinicID, "clinic", "", "clinic ID (see clinics list); required unless --admin")
	add.Flags().BoolVar(&n.Admin, "admin", false, "make an admin")
	add.RunE = cmd.online(func([]string) error {
		pw, err := cmd.readPassword("password for " + n.Username + ": ")
		if err != nil {
			return err
		}
		n.Password = pw
		c, err := cmd.c.CreateClinician(cmd.ctx, n)
		if err != nil {
			return err
		}
		return cmd.p.Record(c, "clinician %s created: %s", c.Username, c.ID)
	})
	return group("clinicians", "Create clinician accounts", add)
}

// roleFlag registers --role with its completions.
func roleFlag(c *cobra.Command, p *string, usage string) {
	c.Flags().StringVar(p, "role", string(device.RoleBooth), usage)
	c.RegisterFlagCompletionFunc("role", cobra.FixedCompletions(
		[]string{string(device.RoleBooth), string(device.RoleClinic)}, cobra.ShellCompDirectiveNoFileComp))
}

func (cmd *command) devicesCommand() *cobra.Command {
	list := &cobra.Command{Use: "list", Short: "The devices of your clinic (admins: every clinic's)", Args: cobra.NoArgs}
	list.RunE = cmd.online(func([]string) error {
		ds, err := cmd.c.Devices(cmd.ctx)
		if err != nil {
			return err
		}
		rows := make([][]string, 0, len(ds))
		for _, d := range ds {
			rows = append(rows, deviceRow(d))
		}
		return cmd.p.List(ds, deviceHeader, rows)
	})
	show := &cobra.Command{Use: "show DEVICE_ID", Short: "Every field of a device and its latest heartbeat", Args: args(1, "the DEVICE_ID")}
	show.RunE = cmd.online(func(a []string) error {
		d, err := cmd.c.Device(cmd.ctx, a[0])
		if err != nil {
			return err
		}
		return cmd.p.Record(d, "%s", deviceDetail(d))
	})
	add := &cobra.Command{Use: "add", Short: "Create a device with a token, printed once (admins)", Args: cobra.NoArgs}
	name := add.Flags().String("name", "", "device name, e.g. library-booth-1")
	clinic := add.Flags().String("clinic", "", "clinic ID (see clinics list)")
	var role string
	roleFlag(add, &role, "booth or clinic")
	add.RunE = cmd.online(func([]string) error {
		d, tok, err := cmd.c.CreateDevice(cmd.ctx, *name, *clinic, role)
		if err != nil {
			return err
		}
		return cmd.p.Record(map[string]any{"device": d, "token": tok},
			"device %s created: %s\ntoken (shown only now; put it in the booth's token file):\n%s", d.Name, d.ID, tok)
	})
	joinMode := &cobra.Command{Use: "join-mode DEVICE_ID auto|button", Short: "Set how a booth joins (pushed now, or when it is back)",
		Args: args(2, "DEVICE_ID and auto or button"), ValidArgsFunction: func(_ *cobra.Command, a []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(a) == 1 {
				return []string{string(device.JoinAuto), string(device.JoinButton)}, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}}
	joinMode.RunE = cmd.online(func(a []string) error {
		now, err := cmd.c.SetJoinMode(cmd.ctx, a[0], a[1])
		if err != nil {
			return err
		}
		when := "queued until the booth is back online"
		if now {
			when = "sent to the booth"
		}
		return cmd.p.Record(map[string]any{"device_id": a[0], "join_mode": a[1], "sent_now": now}, "device %s: join mode %s, %s", a[0], a[1], when)
	})
	pending := &cobra.Command{Use: "pending", Short: "Devices waiting for their activation code to be approved (admins)", Args: cobra.NoArgs}
	pending.RunE = cmd.online(func([]string) error {
		ps, err := cmd.c.Enrolments(cmd.ctx)
		if err != nil {
			return err
		}
		rows := make([][]string, 0, len(ps))
		for _, p := range ps {
			rows = append(rows, []string{p.Code, p.Name, p.Version, p.Source, p.KeyFingerprint, p.Expires.Local().Format(time.DateTime)})
		}
		return cmd.p.List(ps, []string{"CODE", "NAME", "VERSION", "FROM", "KEY", "EXPIRES"}, rows)
	})
	approve := &cobra.Command{Use: "approve CODE", Short: "Approve the device showing CODE into a site and room (admins)", Args: args(1, "the activation CODE")}
	var ap enrol.Approval
	approve.Flags().StringVar(&ap.Site, "site", "", "the site: the clinic ID the device belongs to")
	approve.Flags().StringVar(&ap.Room, "room", "", `where it stands, e.g. "Room 2"`)
	var approveRole string
	roleFlag(approve, &approveRole, "booth or clinic")
	approve.RunE = cmd.online(func(a []string) error {
		ap.Code, ap.Role = a[0], device.Role(approveRole)
		d, err := cmd.c.ApproveEnrolment(cmd.ctx, ap)
		if err != nil {
			return err
		}
		return cmd.p.Record(d, "device %s enrolled: %s, site %s, room %s, key %s", d.Name, d.ID, d.ClinicID, d.Room, d.KeyFingerprint)
	})
	revoke := &cobra.Command{Use: "revoke DEVICE_ID", Short: "Switch a device off at once and for good: its call ends, its credentials are refused (admins)",
		Args: args(1, "the DEVICE_ID (see devices list)")}
	reason := revoke.Flags().String("reason", "", `why, for the record, e.g. "reported stolen"`)
	revoke.RunE = cmd.online(func(a []string) error {
		r, err := cmd.c.RevokeDevice(cmd.ctx, a[0], *reason)
		if err != nil {
			return err
		}
		return cmd.p.Record(r, "device %s (%s) revoked; %d connection(s) closed", r.Device.ID, r.Device.Name, r.Disconnected)
	})
	selftest := &cobra.Command{Use: "selftest DEVICE_ID", Short: "Run a device's self-test now: switchboard, camera, microphone, speaker, screen, disk, temperature (admins)",
		Args: args(1, "the DEVICE_ID (see devices list)")}
	selftest.RunE = cmd.online(func(a []string) error {
		r, err := cmd.c.SelfTest(cmd.ctx, a[0])
		if err != nil {
			return err
		}
		if err := cmd.p.List(r, selfTestHeader, selfTestRows(r)); err != nil {
			return err
		}
		return selfTestVerdict(r)
	})
	logs := &cobra.Command{Use: "logs DEVICE_ID", Short: "A device's most recent log lines, from its memory (admins)",
		Args: args(1, "the DEVICE_ID (see devices list)")}
	lines := logs.Flags().Int("lines", 200, "how many lines, 1 to 500")
	logs.RunE = cmd.online(func(a []string) error {
		r, err := cmd.c.DeviceLogs(cmd.ctx, a[0], *lines)
		if err != nil {
			return err
		}
		return cmd.p.Record(r, "%s", logText(r))
	})
	return group("devices", "List, show, create, enrol, configure, test and revoke devices", list, show, add, joinMode, pending, approve, revoke, selftest, logs)
}

func (cmd *command) appointmentsCommand() *cobra.Command {
	list := &cobra.Command{Use: "list", Short: "Appointments in a range", Args: cobra.NoArgs}
	fromS := list.Flags().String("from", "", "RFC 3339 start of the range (default an hour ago)")
	toS := list.Flags().String("to", "", "RFC 3339 end of the range (default in 48 hours)")
	clinic := list.Flags().String("clinic", "", "clinic ID (admins; default your own)")
	list.RunE = cmd.online(func([]string) error {
		var from, to time.Time
		for _, x := range []struct {
			flag, v string
			t       *time.Time
		}{{"--from", *fromS, &from}, {"--to", *toS, &to}} {
			if x.v == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, x.v)
			if err != nil {
				return fmt.Errorf("%s %q: want an RFC 3339 time such as 2026-11-21T09:00:00Z", x.flag, x.v)
			}
			*x.t = t
		}
		as, err := cmd.c.Appointments(cmd.ctx, apiclient.AppointmentQuery{From: from, To: to, ClinicID: *clinic})
		if err != nil {
			return err
		}
		rows := make([][]string, 0, len(as))
		for _, a := range as {
			rows = append(rows, []string{a.ID, a.Start.Local().Format(time.DateTime), a.End.Local().Format(time.TimeOnly), a.Patient, a.DeviceID, string(a.Status)})
		}
		return cmd.p.List(as, []string{"ID", "START", "END", "PATIENT", "DEVICE", "STATUS"}, rows)
	})

	add := &cobra.Command{Use: "add", Short: "Book an appointment", Args: cobra.NoArgs}
	n := apiclient.NewAppointment{}
	add.Flags().StringVar(&n.DeviceID, "device", "", "device ID (see devices list)")
	add.Flags().StringVar(&n.Patient, "patient", "", "patient's display name")
	add.Flags().StringVar(&n.ClinicID, "clinic", "", "clinic ID (default your own)")
	startS := add.Flags().String("start", "", "RFC 3339 start, e.g. 2026-11-21T14:00:00Z")
	minutes := add.Flags().Int("minutes", 20, "length in minutes")
	add.RunE = cmd.online(func([]string) error {
		start, err := time.Parse(time.RFC3339, *startS)
		if err != nil {
			return fmt.Errorf("--start %q: want an RFC 3339 time such as 2026-11-21T14:00:00Z", *startS)
		}
		n.Start, n.End = start, start.Add(time.Duration(*minutes)*time.Minute)
		a, err := cmd.c.CreateAppointment(cmd.ctx, n)
		if err != nil {
			return err
		}
		return cmd.p.Record(a, "appointment %s booked for %s at %s", a.ID, a.Patient, a.Start.Local().Format(time.DateTime))
	})

	change := func(use, short string, f func(id string) (apiclient.Appointment, error)) *cobra.Command {
		c := &cobra.Command{Use: use + " ID", Short: short, Args: args(1, "an appointment ID")}
		c.RunE = cmd.online(func(a []string) error {
			ap, err := f(a[0])
			if err != nil {
				return err
			}
			return cmd.p.Record(ap, "appointment %s is %s", ap.ID, ap.Status)
		})
		return c
	}
	history := &cobra.Command{Use: "history ID", Short: "Every transition of an appointment: what, who and when", Args: args(1, "an appointment ID")}
	history.RunE = cmd.online(func(a []string) error {
		recs, err := cmd.c.AppointmentEvents(cmd.ctx, a[0])
		if err != nil {
			return err
		}
		rows := make([][]string, 0, len(recs))
		for _, r := range recs {
			by := string(r.Actor.Kind)
			if r.Actor.ID != "" {
				by += " " + r.Actor.ID
			}
			rows = append(rows, []string{r.At.Local().Format(time.DateTime), string(r.Event), string(r.From), string(r.To), by, r.Refused})
		}
		return cmd.p.List(recs, []string{"AT", "EVENT", "FROM", "TO", "BY", "NOTE"}, rows)
	})
	return group("appointments", "List, book, import and record appointments", list, add,
		change("cancel", "Cancel an appointment", func(id string) (apiclient.Appointment, error) { return cmd.c.CancelAppointment(cmd.ctx, id) }),
		change("no-show", "Record that the patient did not come", func(id string) (apiclient.Appointment, error) { return cmd.c.MarkNoShow(cmd.ctx, id) }),
		change("telephone", "Record that the consultation moved to a phone call", func(id string) (apiclient.Appointment, error) {
			return cmd.c.MoveToTelephone(cmd.ctx, id)
		}),
		history, cmd.importCommand())
}

func (cmd *command) waitingRoomCommand() *cobra.Command {
	c := &cobra.Command{Use: "waiting-room", Short: "Who is waiting in your clinic's waiting room", Args: cobra.NoArgs}
	c.RunE = cmd.online(func([]string) error {
		q, err := cmd.c.WaitingRoom(cmd.ctx)
		if err != nil {
			return err
		}
		if len(q.Entries) == 0 && !cmd.p.JSON {
			return cmd.p.Record(q, "the waiting room is empty")
		}
		rows := make([][]string, 0, len(q.Entries))
		for _, e := range q.Entries {
			rows = append(rows, []string{e.AppointmentID, e.Patient, e.Start.Local().Format(time.TimeOnly), e.Since.Local().Format(time.TimeOnly), fmt.Sprint(e.InCall)})
		}
		return cmd.p.List(q, []string{"APPOINTMENT", "PATIENT", "BOOKED", "WAITING SINCE", "IN CALL"}, rows)
	})
	return c
}
