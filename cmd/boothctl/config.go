package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carebooth/carebooth/switchboard/apiclient"
)

func (cmd *command) configCommand() *cobra.Command {
	push := &cobra.Command{Use: "push (--device ID | --room SITE/ROOM | --site ID | --fleet) FILE",
		Short: "Push a remote config document (TOML; - reads stdin) to a device, a room, a site or the fleet (admins)",
		Args:  args(1, "the document FILE (- for stdin)")}
	dev := push.Flags().String("device", "", "a device ID")
	room := push.Flags().String("room", "", `a room: SITE_ID/ROOM, e.g. "c1/Room 2"`)
	site := push.Flags().String("site", "", "a site (clinic) ID")
	fleet := push.Flags().Bool("fleet", false, "every device")
	push.RunE = cmd.online(func(a []string) error {
		scope, err := configScope(*dev, *room, *site, *fleet)
		if err != nil {
			return err
		}
		doc, err := cmd.readDocument(a[0])
		if err != nil {
			return err
		}
		out, err := cmd.c.PutConfig(cmd.ctx, scope, doc)
		if err != nil {
			return err
		}
		now := 0
		for _, d := range out.Devices {
			if d.SentNow {
				now++
			}
		}
		return cmd.p.Record(out, "%s: version %d stored; %d devices changed, %d sent now, the rest when they reconnect (boothctl devices list shows each one's result)",
			out.Config.Scope, out.Config.Version, len(out.Devices), now)
	})
	show := &cobra.Command{Use: "show SCOPE", Short: "Show a scope's document: fleet, site/SITE_ID, room/SITE_ID/ROOM or device/DEVICE_ID (admins)",
		Args: args(1, "a SCOPE such as fleet or site/SITE_ID")}
	show.RunE = cmd.online(func(a []string) error {
		d, err := cmd.c.Config(cmd.ctx, a[0])
		if err != nil {
			return err
		}
		return cmd.p.Record(d, "# %s version %d, updated %s\n%s", d.Scope, d.Version, d.UpdatedAt.Local().Format("2006-01-02 15:04:05"), strings.TrimRight(d.Document, "\n"))
	})
	return group("config", "Push and show remote config documents", push, show)
}

// configScope turns the one scope flag given into a scope.
func configScope(dev, room, site string, fleet bool) (string, error) {
	var scopes []string
	if dev != "" {
		scopes = append(scopes, "device/"+dev)
	}
	if room != "" {
		if s, r, ok := strings.Cut(room, "/"); !ok || s == "" || r == "" {
			return "", &usageError{fmt.Errorf(`--room %q: write SITE_ID/ROOM, e.g. "c1/Room 2"`, room)}
		}
		scopes = append(scopes, "room/"+room)
	}
	if site != "" {
		scopes = append(scopes, "site/"+site)
	}
	if fleet {
		scopes = append(scopes, "fleet")
	}
	if len(scopes) != 1 {
		return "", &usageError{errors.New("give exactly one of --device, --room, --site and --fleet")}
	}
	return scopes[0], nil
}

func (cmd *command) readDocument(name string) (string, error) {
	var (
		data []byte
		err  error
	)
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(cmd.e.stdin, 64<<10))
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return "", fmt.Errorf("read the document: %w", err)
	}
	return string(data), nil
}

// configColumn is a device's remote config in devices list: the version it runs and its
// last refusal or rollback.
func configColumn(d apiclient.Device) string {
	v := "-"
	if d.ConfigVersion != 0 {
		v = fmt.Sprintf("v%d", d.ConfigVersion)
	}
	if d.ConfigError != "" {
		v += " (" + d.ConfigError + ")"
	}
	return v
}
