// Command boothctl is the command line for IT and clinic admins, over the switchboard's
// JSON API (package switchboard/apiclient).
//
//	boothctl -server https://sb.example.org login -user admin
//	boothctl clinics list
//	boothctl devices add -name library-booth-1 -clinic CLINIC_ID
//	boothctl appointments add -device DEVICE_ID -patient "Alex Morgan" -start 2026-11-21T14:00:00Z
//	boothctl appointments import -dry-run pas-export.json
//	boothctl report -from 2026-10-01 -to 2026-11-01 -csv -o october.csv
//	boothctl waiting-room
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/switchboard/apiclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "boothctl:", err)
		os.Exit(1)
	}
}

// env is the process's surroundings, replaceable in tests.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

const usage = `usage: boothctl [-server URL] [-token TOKEN] COMMAND [ARGS]

commands:
  login [-user NAME]                 log in; the password is read from the terminal or stdin
  logout
  me
  clinics list
  clinics add -name NAME [-phone PHONE]
  clinicians add -username USER -name NAME [-clinic ID] [-admin]   (password from stdin)
  devices list
  devices add -name NAME -clinic ID [-role booth|clinic]           (prints the token once)
  appointments list [-from RFC3339] [-to RFC3339] [-clinic ID]
  appointments add -device ID -patient NAME -start RFC3339 [-minutes 20] [-clinic ID]
  appointments cancel ID
  appointments no-show ID                                           (the patient did not come)
  appointments telephone ID                                         (moved to a phone call)
  appointments history ID                                           (every transition, who and when)
  devices join-mode ID auto|button                                  (pushed to the booth, now or when it is back)
  appointments import [-dry-run] [-clinic ID] [-device ID] [-format fhir|ical] [-from DATE] [-to DATE] FILE
                                     import a FHIR R4 Bundle (.json) or iCalendar feed (.ics); - reads stdin
  report [-from DATE] [-to DATE] [-clinic ID] [-csv] [-o FILE]
                                     appointments, attendance, waits, calls per clinic and site
  waiting-room
  version

The server and session are remembered in $XDG_CONFIG_HOME/carebooth/boothctl.json after
login. -server defaults to $CAREBOOTH_SERVER, then to that file; -token to
$CAREBOOTH_TOKEN, then to that file.
`

// savedSession is the file login writes.
type savedSession struct {
	Server string `json:"server"`
	Token  string `json:"token"`
}

func sessionFile(getenv func(string) string) (string, error) {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set; pass -server and -token")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "carebooth", "boothctl.json"), nil
}

func run(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("boothctl", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, usage) }
	server := fs.String("server", e.getenv("CAREBOOTH_SERVER"), "switchboard URL, e.g. https://sb.example.org")
	token := fs.String("token", e.getenv("CAREBOOTH_TOKEN"), "session or device token")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errors.New("no command given")
	}
	if rest[0] == "version" {
		fmt.Fprintln(e.stdout, "boothctl", version.String())
		return nil
	}

	file, ferr := sessionFile(e.getenv)
	var saved savedSession
	if ferr == nil {
		if b, err := os.ReadFile(file); err == nil {
			if err := json.Unmarshal(b, &saved); err != nil {
				return fmt.Errorf("%s: %v; delete it and log in again", file, err)
			}
		}
	}
	if *server == "" {
		*server = saved.Server
	}
	if *server == "" {
		return errors.New("no switchboard given: pass -server https://HOST or set $CAREBOOTH_SERVER")
	}
	if *token == "" && saved.Server == *server {
		*token = saved.Token
	}
	c, err := apiclient.New(*server, *token, nil)
	if err != nil {
		return err
	}
	cmd := &command{ctx: ctx, c: c, e: e, server: *server, file: file, fileErr: ferr}
	err = cmd.dispatch(rest)
	return explain(err)
}

// explain adds what to do to the errors people meet most.
func explain(err error) error {
	var ae *apiclient.Error
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Status {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s\n  not logged in, or the session expired: run `boothctl login`", ae.Message)
	case http.StatusForbidden:
		return fmt.Errorf("%s\n  your account may not do this; ask an admin", ae.Message)
	}
	if ae.Field != "" {
		return fmt.Errorf("%s\n  fix -%s and try again", ae.Message, strings.ReplaceAll(ae.Field, "_id", ""))
	}
	return errors.New(ae.Message)
}

type command struct {
	ctx     context.Context
	c       *apiclient.Client
	e       env
	server  string
	file    string
	fileErr error
}

func (cmd *command) dispatch(args []string) error {
	name, sub := args[0], ""
	rest := args[1:]
	switch name {
	case "clinics", "clinicians", "devices", "appointments":
		if len(rest) == 0 {
			return fmt.Errorf("%s needs a subcommand; see boothctl -help", name)
		}
		sub, rest = rest[0], rest[1:]
	}
	switch name + " " + sub {
	case "login ":
		return cmd.login(rest)
	case "logout ":
		return cmd.logout()
	case "me ":
		return cmd.me()
	case "clinics list":
		return cmd.clinicsList()
	case "clinics add":
		return cmd.clinicsAdd(rest)
	case "clinicians add":
		return cmd.cliniciansAdd(rest)
	case "devices list":
		return cmd.devicesList()
	case "devices add":
		return cmd.devicesAdd(rest)
	case "appointments list":
		return cmd.appointmentsList(rest)
	case "appointments add":
		return cmd.appointmentsAdd(rest)
	case "appointments cancel":
		if len(rest) != 1 {
			return errors.New("usage: boothctl appointments cancel ID")
		}
		a, err := cmd.c.CancelAppointment(cmd.ctx, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.e.stdout, "appointment %s is %s\n", a.ID, a.Status)
		return nil
	case "appointments no-show", "appointments telephone":
		if len(rest) != 1 {
			return fmt.Errorf("usage: boothctl appointments %s ID", sub)
		}
		outcome := cmd.c.MarkNoShow
		if sub == "telephone" {
			outcome = cmd.c.MoveToTelephone
		}
		a, err := outcome(cmd.ctx, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.e.stdout, "appointment %s is %s\n", a.ID, a.Status)
		return nil
	case "appointments history":
		if len(rest) != 1 {
			return errors.New("usage: boothctl appointments history ID")
		}
		recs, err := cmd.c.AppointmentEvents(cmd.ctx, rest[0])
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(cmd.e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tEVENT\tFROM\tTO\tBY\tNOTE")
		for _, r := range recs {
			by := string(r.Actor.Kind)
			if r.Actor.ID != "" {
				by += " " + r.Actor.ID
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.At.Local().Format(time.DateTime), r.Event, r.From, r.To, by, r.Refused)
		}
		return tw.Flush()
	case "devices join-mode":
		if len(rest) != 2 {
			return errors.New("usage: boothctl devices join-mode DEVICE_ID auto|button")
		}
		now, err := cmd.c.SetJoinMode(cmd.ctx, rest[0], rest[1])
		if err != nil {
			return err
		}
		if now {
			fmt.Fprintf(cmd.e.stdout, "device %s: join mode %s, sent to the booth\n", rest[0], rest[1])
		} else {
			fmt.Fprintf(cmd.e.stdout, "device %s: join mode %s, queued until the booth is back online\n", rest[0], rest[1])
		}
		return nil
	case "appointments import":
		return cmd.appointmentsImport(rest)
	case "report ":
		return cmd.report(rest)
	case "waiting-room ":
		return cmd.waitingRoom()
	}
	return fmt.Errorf("unknown command %q; see boothctl -help", strings.TrimSpace(name+" "+sub))
}

func parseFlags(name string, fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	return nil
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

func (cmd *command) login(args []string) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	user := fs.String("user", cmd.e.getenv("USER"), "username")
	if err := parseFlags("login", fs, args, cmd.e.stderr); err != nil {
		return err
	}
	if cmd.fileErr != nil {
		return cmd.fileErr
	}
	pw, err := cmd.readPassword("password for " + *user + ": ")
	if err != nil {
		return err
	}
	l, err := cmd.c.Login(cmd.ctx, *user, pw)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(savedSession{Server: cmd.server, Token: l.Token}, "", "  ")
	if err := writePrivate(cmd.file, b); err != nil {
		return err
	}
	fmt.Fprintf(cmd.e.stdout, "logged in to %s as %s until %s\n", cmd.server, l.Clinician.Username, l.Expires.Local().Format(time.DateTime))
	return nil
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
	fmt.Fprintln(cmd.e.stdout, "logged out")
	return nil
}

func (cmd *command) me() error {
	m, err := cmd.c.Me(cmd.ctx)
	if err != nil {
		return err
	}
	if m.Device != nil {
		fmt.Fprintf(cmd.e.stdout, "device %s (%s), clinic %s\n", m.Device.Name, m.Device.ID, m.Device.ClinicID)
		return nil
	}
	fmt.Fprintf(cmd.e.stdout, "clinician %s (%s), clinic %s, admin %v\n", m.Clinician.Username, m.Clinician.Name, m.Clinician.ClinicID, m.Clinician.Admin)
	return nil
}

func (cmd *command) table() *tabwriter.Writer {
	return tabwriter.NewWriter(cmd.e.stdout, 0, 4, 2, ' ', 0)
}

func (cmd *command) clinicsList() error {
	cs, err := cmd.c.Clinics(cmd.ctx)
	if err != nil {
		return err
	}
	w := cmd.table()
	fmt.Fprintln(w, "ID\tNAME\tPHONE")
	for _, c := range cs {
		fmt.Fprintf(w, "%s\t%s\t%s\n", c.ID, c.Name, c.Phone)
	}
	return w.Flush()
}

func (cmd *command) clinicsAdd(args []string) error {
	fs := flag.NewFlagSet("clinics add", flag.ContinueOnError)
	name := fs.String("name", "", "clinic name (required)")
	phone := fs.String("phone", "", "phone number shown to patients")
	if err := parseFlags("clinics add", fs, args, cmd.e.stderr); err != nil {
		return err
	}
	c, err := cmd.c.CreateClinic(cmd.ctx, *name, *phone)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.e.stdout, "clinic %s created: %s\n", c.Name, c.ID)
	return nil
}

func (cmd *command) cliniciansAdd(args []string) error {
	fs := flag.NewFlagSet("clinicians add", flag.ContinueOnError)
	n := apiclient.NewClinician{}
	fs.StringVar(&n.Username, "username", "", "login name: lower-case letters, digits, '.', '-', '_'")
	fs.StringVar(&n.Name, "name", "", "display name, e.g. \"Dr Priya Patel\"")
	fs.StringVar(&n.ClinicID, "clinic", "", "clinic ID (see clinics list); required unless -admin")
	fs.BoolVar(&n.Admin, "admin", false, "make an admin")
	if err := parseFlags("clinicians add", fs, args, cmd.e.stderr); err != nil {
		return err
	}
	pw, err := cmd.readPassword("password for " + n.Username + ": ")
	if err != nil {
		return err
	}
	n.Password = pw
	c, err := cmd.c.CreateClinician(cmd.ctx, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.e.stdout, "clinician %s created: %s\n", c.Username, c.ID)
	return nil
}

func (cmd *command) devicesList() error {
	ds, err := cmd.c.Devices(cmd.ctx)
	if err != nil {
		return err
	}
	w := cmd.table()
	fmt.Fprintln(w, "ID\tNAME\tROLE\tCLINIC\tLAST SEEN")
	for _, d := range ds {
		seen := "never"
		if d.LastSeen != nil {
			seen = d.LastSeen.Local().Format(time.DateTime)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, d.Role, d.ClinicID, seen)
	}
	return w.Flush()
}

func (cmd *command) devicesAdd(args []string) error {
	fs := flag.NewFlagSet("devices add", flag.ContinueOnError)
	name := fs.String("name", "", "device name, e.g. library-booth-1")
	clinic := fs.String("clinic", "", "clinic ID (see clinics list)")
	role := fs.String("role", "booth", "booth or clinic")
	if err := parseFlags("devices add", fs, args, cmd.e.stderr); err != nil {
		return err
	}
	d, tok, err := cmd.c.CreateDevice(cmd.ctx, *name, *clinic, *role)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.e.stdout, "device %s created: %s\n", d.Name, d.ID)
	fmt.Fprintf(cmd.e.stdout, "token (shown only now; put it in the booth's token file):\n%s\n", tok)
	return nil
}

func (cmd *command) appointmentsList(args []string) error {
	fs := flag.NewFlagSet("appointments list", flag.ContinueOnError)
	fromS := fs.String("from", "", "RFC 3339 start of the range (default an hour ago)")
	toS := fs.String("to", "", "RFC 3339 end of the range (default in 48 hours)")
	clinic := fs.String("clinic", "", "clinic ID (admins; default your own)")
	if err := parseFlags("appointments list", fs, args, cmd.e.stderr); err != nil {
		return err
	}
	var from, to time.Time
	for _, x := range []struct {
		flag, v string
		t       *time.Time
	}{{"-from", *fromS, &from}, {"-to", *toS, &to}} {
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
	w := cmd.table()
	fmt.Fprintln(w, "ID\tSTART\tEND\tPATIENT\tDEVICE\tSTATUS")
	for _, a := range as {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Start.Local().Format(time.DateTime), a.End.Local().Format(time.TimeOnly), a.Patient, a.DeviceID, a.Status)
	}
	return w.Flush()
}

func (cmd *command) appointmentsAdd(args []string) error {
	fs := flag.NewFlagSet("appointments add", flag.ContinueOnError)
	n := apiclient.NewAppointment{}
	fs.StringVar(&n.DeviceID, "device", "", "device ID (see devices list)")
	fs.StringVar(&n.Patient, "patient", "", "patient's display name")
	fs.StringVar(&n.ClinicID, "clinic", "", "clinic ID (default your own)")
	startS := fs.String("start", "", "RFC 3339 start, e.g. 2026-11-21T14:00:00Z")
	minutes := fs.Int("minutes", 20, "length in minutes")
	if err := parseFlags("appointments add", fs, args, cmd.e.stderr); err != nil {
		return err
	}
	start, err := time.Parse(time.RFC3339, *startS)
	if err != nil {
		return fmt.Errorf("-start %q: want an RFC 3339 time such as 2026-11-21T14:00:00Z", *startS)
	}
	n.Start, n.End = start, start.Add(time.Duration(*minutes)*time.Minute)
	a, err := cmd.c.CreateAppointment(cmd.ctx, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.e.stdout, "appointment %s booked for %s at %s\n", a.ID, a.Patient, a.Start.Local().Format(time.DateTime))
	return nil
}

func (cmd *command) waitingRoom() error {
	q, err := cmd.c.WaitingRoom(cmd.ctx)
	if err != nil {
		return err
	}
	if len(q.Entries) == 0 {
		fmt.Fprintln(cmd.e.stdout, "the waiting room is empty")
		return nil
	}
	w := cmd.table()
	fmt.Fprintln(w, "APPOINTMENT\tPATIENT\tBOOKED\tWAITING SINCE\tIN CALL")
	for _, e := range q.Entries {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", e.AppointmentID, e.Patient, e.Start.Local().Format(time.TimeOnly), e.Since.Local().Format(time.TimeOnly), e.InCall)
	}
	return w.Flush()
}
