// Command boothctl is the command line for IT and clinic admins, over the switchboard's
// JSON API (package switchboard/apiclient), built on spf13/cobra.
//
//	boothctl --server https://sb.example.org login --user admin
//	boothctl clinics list
//	boothctl devices add --name library-booth-1 --clinic CLINIC_ID
//	boothctl devices approve K7QM-4TZP --site CLINIC_ID --room "Room 2" --role booth
//	boothctl appointments add --device DEVICE_ID --patient "Alex Morgan" --start 2026-11-21T14:00:00Z
//	boothctl appointments import --dry-run pas-export.json
//	boothctl report --from 2026-10-01 --to 2026-11-01 --csv -o october.csv
//	boothctl waiting-room --json
//
// Flags written with one dash (-server, -dry-run), as earlier versions took them, still
// work. Help needs no switchboard: `boothctl help X` and `boothctl X --help` exit 0.
// Exit status: 0 done, 1 refused or failed, 2 a command line that does not parse.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "boothctl:", err)
		var ue *usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// env is the process's surroundings, replaceable in tests.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}
