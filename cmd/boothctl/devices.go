package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/apiclient"
)

var deviceHeader = []string{"NAME", "ID", "SITE", "ROOM", "ROLE", "STATE", "ONLINE", "VERSION", "CAM/MIC/SPK", "TEMP", "DISK", "CONFIG"}

// shortID is the start of an ID, enough to tell devices apart in a table.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// bytesHuman is a byte count in GiB or MiB.
func bytesHuman(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// seen is "online" or when the device was last seen.
func seen(d apiclient.Device) string {
	switch {
	case d.Online:
		return "online"
	case d.LastSeen != nil:
		return "seen " + d.LastSeen.Local().Format(time.DateTime)
	}
	return "never"
}

func deviceRow(d apiclient.Device) []string {
	state, version, devs, temp, disk := "-", "-", "-", "-", "-"
	if h := d.Health; h != nil {
		hb := h.Heartbeat
		state, version = string(hb.State), hb.Version
		if !d.Online {
			state = string(signalling.StateOffline)
		}
		devs = yesNo(hb.Camera) + "/" + yesNo(hb.Microphone) + "/" + yesNo(hb.Speaker)
		if hb.TempCelsius != nil {
			temp = fmt.Sprintf("%.1f°C", *hb.TempCelsius)
		}
		if hb.DiskFreeBytes != nil {
			disk = bytesHuman(*hb.DiskFreeBytes)
		}
	}
	if d.Revoked != nil {
		state = "revoked " + d.Revoked.At.Local().Format(time.DateOnly)
	}
	return []string{d.Name, shortID(d.ID), d.ClinicID, d.Room, string(d.Role), state, seen(d), version, devs, temp, disk, configColumn(d)}
}

// deviceDetail is every field of a device, one a line.
func deviceDetail(d apiclient.Device) string {
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-18s %s\n", k+":", v)
		}
	}
	line("name", d.Name)
	line("id", d.ID)
	line("site", d.ClinicID)
	line("room", d.Room)
	line("role", string(d.Role))
	line("join mode", string(d.JoinMode))
	line("key", d.KeyFingerprint)
	line("created", d.CreatedAt.Local().Format(time.DateTime))
	line("online", seen(d))
	if r := d.Revoked; r != nil {
		line("revoked", r.At.Local().Format(time.DateTime)+" by "+r.By+" "+r.Reason)
	}
	if d.ConfigVersion != 0 || d.ConfigError != "" {
		line("remote config", configColumn(d))
	}
	h := d.Health
	if h == nil {
		line("health", "no heartbeat since the switchboard started")
		return strings.TrimRight(b.String(), "\n")
	}
	hb := h.Heartbeat
	line("heartbeat", h.ReceivedAt.Local().Format(time.DateTime))
	line("state", string(hb.State))
	line("version", hb.Version)
	line("firmware version", hb.FirmwareVersion)
	line("config version", hb.ConfigVersion)
	line("uptime", (time.Duration(hb.UptimeSeconds) * time.Second).String())
	line("camera", yesNo(hb.Camera))
	line("microphone", yesNo(hb.Microphone))
	line("speaker", yesNo(hb.Speaker))
	if hb.RTTMs != nil {
		line("round trip", fmt.Sprintf("%.1f ms", *hb.RTTMs))
	}
	if hb.DiskFreeBytes != nil {
		line("disk free", bytesHuman(*hb.DiskFreeBytes))
	}
	if hb.TempCelsius != nil {
		line("temperature", fmt.Sprintf("%.1f°C", *hb.TempCelsius))
	}
	line("last error", hb.LastError)
	return strings.TrimRight(b.String(), "\n")
}

var selfTestHeader = []string{"CHECK", "RESULT", "TOOK", "DETAIL"}

func selfTestRows(r api.SelfTest) [][]string {
	rows := make([][]string, 0, len(r.Checks))
	for _, c := range r.Checks {
		result := "ok"
		if !c.OK {
			result = "FAILED"
		}
		rows = append(rows, []string{c.Name, result, fmt.Sprintf("%.0f ms", c.TookMs), c.Detail})
	}
	return rows
}

// selfTestVerdict is the exit status of boothctl devices selftest: an error when a check
// failed, so scripts and monitoring can act on it.
func selfTestVerdict(r api.SelfTest) error {
	if r.Error != "" {
		return fmt.Errorf("device %s ran no checks: %s", r.Device, r.Error)
	}
	failed := 0
	for _, c := range r.Checks {
		if !c.OK {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("device %s: %d of %d checks failed", r.Device, failed, len(r.Checks))
	}
	return nil
}

// logText is a device's log lines, one a line, as the device wrote them.
func logText(r api.DeviceLogs) string {
	if len(r.Lines) == 0 {
		return "device " + r.Device + " has logged nothing since it started"
	}
	var b strings.Builder
	for i, l := range r.Lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l.Text)
	}
	return b.String()
}
