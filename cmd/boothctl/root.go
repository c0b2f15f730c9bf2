package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/carebooth/carebooth/cmd/boothctl/internal/output"
	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/switchboard/apiclient"
)

// usageError is a command line that does not parse: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

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
			return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set; pass --server and --token")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "carebooth", "boothctl.json"), nil
}

// command is what a subcommand runs with. The client is made on first use, so help and
// completion never need a switchboard.
type command struct {
	ctx context.Context
	e   env
	p   output.Printer

	serverFlag, tokenFlag string
	asJSON                bool

	c       *apiclient.Client
	server  string
	file    string
	fileErr error
}

// connect resolves the switchboard and token (flags, then $CAREBOOTH_SERVER and
// $CAREBOOTH_TOKEN, then the saved session) and makes the client.
func (cmd *command) connect() error {
	if cmd.c != nil {
		return nil
	}
	cmd.file, cmd.fileErr = sessionFile(cmd.e.getenv)
	var saved savedSession
	if cmd.fileErr == nil {
		if b, err := os.ReadFile(cmd.file); err == nil {
			if err := json.Unmarshal(b, &saved); err != nil {
				return fmt.Errorf("%s: %v; delete it and log in again", cmd.file, err)
			}
		}
	}
	server, token := cmd.serverFlag, cmd.tokenFlag
	if server == "" {
		server = cmd.e.getenv("CAREBOOTH_SERVER")
	}
	if token == "" {
		token = cmd.e.getenv("CAREBOOTH_TOKEN")
	}
	if server == "" {
		server = saved.Server
	}
	if server == "" {
		return errors.New("no switchboard given: pass --server https://HOST or set $CAREBOOTH_SERVER")
	}
	if token == "" && saved.Server == server {
		token = saved.Token
	}
	c, err := apiclient.New(server, token, nil)
	if err != nil {
		return err
	}
	cmd.c, cmd.server = c, server
	return nil
}

// online wraps a command that talks to the switchboard.
func (cmd *command) online(f func(args []string) error) func(*cobra.Command, []string) error {
	return func(_ *cobra.Command, args []string) error {
		cmd.p.JSON = cmd.asJSON
		if err := cmd.connect(); err != nil {
			return err
		}
		return explain(f(args))
	}
}

// args is cobra.ExactArgs with a usage error naming what is wanted.
func args(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, a []string) error {
		if len(a) != n {
			return &usageError{fmt.Errorf("%s: want %s, got %d argument(s); see boothctl %s --help", c.CommandPath(), what, len(a), c.Name())}
		}
		return nil
	}
}

// newRoot builds the command tree.
func newRoot(ctx context.Context, e env) *cobra.Command {
	cmd := &command{ctx: ctx, e: e, p: output.Printer{Out: e.stdout, Err: e.stderr}}
	root := &cobra.Command{
		Use:   "boothctl",
		Short: "The command line for Carebooth IT and clinic admins",
		Long: `boothctl talks to a Carebooth switchboard's API.

The server and session are remembered in $XDG_CONFIG_HOME/carebooth/boothctl.json after
login. --server defaults to $CAREBOOTH_SERVER, then to that file; --token to
$CAREBOOTH_TOKEN, then to that file. --json prints the API's JSON instead of tables.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(c *cobra.Command, a []string) error {
			c.Help()
			return &usageError{errors.New("no command given")}
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetIn(e.stdin)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%s: %w; see %s --help", c.CommandPath(), err, c.CommandPath())}
	})
	// help for an unknown topic is a mistake in the command line, not help.
	root.SetHelpCommand(&cobra.Command{
		Use: "help [command]", Short: "Help about any command",
		RunE: func(c *cobra.Command, a []string) error {
			target, rest, err := root.Find(a)
			if err != nil || len(rest) > 0 {
				return &usageError{fmt.Errorf("no help topic %q; see boothctl --help", strings.Join(a, " "))}
			}
			return target.Help()
		},
	})
	pf := root.PersistentFlags()
	pf.StringVar(&cmd.serverFlag, "server", "", "switchboard URL, e.g. https://sb.example.org")
	pf.StringVar(&cmd.tokenFlag, "token", "", "session or device token")
	pf.BoolVar(&cmd.asJSON, "json", false, "print the API's JSON, one document per command")

	root.AddCommand(&cobra.Command{
		Use: "version", Short: "Print boothctl's version", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(e.stdout, "boothctl", version.String())
			return nil
		},
	})
	root.AddCommand(cmd.sessionCommands()...)
	root.AddCommand(cmd.clinicsCommand(), cmd.cliniciansCommand(), cmd.devicesCommand(), cmd.configCommand(),
		cmd.appointmentsCommand(), cmd.reportCommand(), cmd.waitingRoomCommand(), cmd.auditCommand(), cmd.firmwareCommand())
	return root
}

// group is a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, a []string) error {
			c.Help()
			return &usageError{fmt.Errorf("%s needs a subcommand", c.CommandPath())}
		}}
	g.AddCommand(subs...)
	return g
}

// oneDash matches a long flag written with one dash, as boothctl's flag package took them.
var oneDash = regexp.MustCompile(`^-[a-z][a-z-]+(=.*)?$`)

// normalise turns -long flags into --long, leaving -q, -o, "-" (stdin) and everything
// after "--" alone. Only names in known are rewritten, so a value that starts with a dash
// ("--patient -anna") reaches its flag as written.
func normalise(a []string, known map[string]bool) []string {
	out := make([]string, 0, len(a))
	for i, s := range a {
		if s == "--" {
			return append(out, a[i:]...)
		}
		if oneDash.MatchString(s) {
			name, _, _ := strings.Cut(s[1:], "=")
			if known[name] {
				s = "-" + s
			}
		}
		out = append(out, s)
	}
	return out
}

// longFlags is every long flag name of c and its subcommands.
func longFlags(c *cobra.Command) map[string]bool {
	known := map[string]bool{"help": true} // cobra adds --help only when it runs
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) {
			if len(f.Name) > 1 {
				known[f.Name] = true
			}
		}
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(c)
	return known
}

func run(ctx context.Context, a []string, e env) error {
	root := newRoot(ctx, e)
	root.SetArgs(normalise(a, longFlags(root)))
	err := root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		err = &usageError{err}
	}
	return err
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
		return fmt.Errorf("%s\n  fix --%s and try again", ae.Message, strings.ReplaceAll(ae.Field, "_id", ""))
	}
	return errors.New(ae.Message)
}
