package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/audit"
)

// maxAuditRows bounds what one `boothctl audit` fetches, page by page.
const maxAuditRows = 10000

func (cmd *command) auditCommand() *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "The audit log: who changed what, when and from where (admins)", Args: cobra.NoArgs}
	since := c.Flags().String("since", "24h", "how far back: a duration (24h, 90m) or an RFC 3339 time")
	action := c.Flags().String("action", "", fmt.Sprintf("only this action, one of %v", audit.Actions))
	c.RunE = cmd.online(func([]string) error {
		if *action != "" && !audit.Action(*action).Valid() {
			return fmt.Errorf("--action %q is not an action; use one of %v", *action, audit.Actions)
		}
		q := apiclient.AuditQuery{Since: *since, Action: *action, Limit: 1000}
		entries := []api.AuditEntry{}
		for len(entries) < maxAuditRows {
			page, err := cmd.c.Audit(cmd.ctx, q)
			if err != nil {
				return err
			}
			entries = append(entries, page.Entries...)
			if page.NextAfter == nil {
				break
			}
			q.After = *page.NextAfter
		}
		rows := make([][]string, 0, len(entries))
		for _, e := range entries {
			rows = append(rows, []string{e.At.Local().Format(time.DateTime), string(e.Action), string(e.ActorKind) + " " + e.Actor,
				e.Target, e.Addr, e.Detail})
		}
		return cmd.p.List(entries, []string{"WHEN", "ACTION", "WHO", "TARGET", "FROM", "DETAIL"}, rows)
	})
	return c
}
