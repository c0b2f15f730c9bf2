package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/switchboard/api"
)

// offline runs boothctl with no server, no saved session and no environment.
func offline(t *testing.T, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{"HOME": dir, "XDG_CONFIG_HOME": dir}
	var out bytes.Buffer
	err := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(k string) string { return vars[k] }})
	return out.String(), err
}

// TestHelpNeedsNoServer: help for every command in the tree, however it is asked for,
// prints usage and succeeds with no switchboard configured (it used to answer "no
// switchboard given" and exit 1). New commands are covered by walking the tree.
func TestHelpNeedsNoServer(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			if sub.Name() != "help" {
				walk(sub, append(append([]string(nil), path...), sub.Name()))
			}
		}
	}
	walk(newRoot(context.Background(), env{getenv: func(string) string { return "" }}), nil)
	if len(paths) < 20 {
		t.Fatalf("walked %d commands, want every one of boothctl's (at least 20)", len(paths))
	}
	for _, p := range paths {
		for _, args := range [][]string{append(append([]string(nil), p...), "--help"), append([]string{"help"}, p...), append(append([]string(nil), p...), "-help")} {
			out, err := offline(t, args...)
			if err != nil || !strings.Contains(out, "Usage:") {
				t.Errorf("boothctl %s: got %v and %q, want usage and no error", strings.Join(args, " "), err, out)
			}
		}
	}
}

func TestCompletion(t *testing.T) {
	out, err := offline(t, "completion", "bash")
	if err != nil || !strings.Contains(out, "bash completion") || !strings.Contains(out, "boothctl") {
		t.Fatalf("completion bash: got %v and %.80q, want a bash completion script", err, out)
	}
	out, err = offline(t, "__complete", "devices", "add", "--role", "")
	if err != nil || !strings.Contains(out, "booth\n") || !strings.Contains(out, "clinic\n") {
		t.Errorf("completing --role: got %v and %q, want booth and clinic", err, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"teleport"}, {"devices", "frobnicate"}, {"clinics", "list", "--nope"}, {"appointments", "cancel"}, {},
		{"help", "teleport"}, {"help", "devices", "frobnicate"}, {"report", "--csv", "--json"}} {
		_, err := offline(t, args...)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("boothctl %s: got %v, want a usage error (exit 2)", strings.Join(args, " "), err)
		}
	}
	if _, err := offline(t, "teleport"); err == nil || !strings.Contains(err.Error(), `"teleport"`) {
		t.Errorf("unknown command: got %v, want it named", err)
	}
	// A command that runs does need a server, and says how to give one (exit 1).
	_, err := offline(t, "clinics", "list")
	var ue *usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "--server") {
		t.Errorf("clinics list with no server: got %v, want a runtime error naming --server", err)
	}
}

// TestJSONAndTables: --json prints the API's values, the default an aligned table; and
// a device that asked to enrol is listed and approved from the command line.
func TestJSONAndTables(t *testing.T) {
	_, boothctl := withSwitchboard(t, nil)
	if out, err := boothctl("admin password 1\n", "login"); err != nil {
		t.Fatalf("login: %v\n%s", err, out)
	}
	out, err := boothctl("", "clinics", "add", "--name", "Riverside", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var c api.Clinic
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.Name != "Riverside" || c.ID == "" {
		t.Fatalf("clinics add --json: got %q, %v, want the clinic as JSON", out, err)
	}
	out, _ = boothctl("", "clinics", "list", "--json")
	var cs []api.Clinic
	if err := json.Unmarshal([]byte(out), &cs); err != nil || len(cs) != 1 || cs[0].ID != c.ID {
		t.Errorf("clinics list --json: got %q, %v", out, err)
	}
	out, _ = boothctl("", "clinics", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "NAME") || !strings.Contains(lines[1], c.ID+"  Riverside") {
		t.Errorf("clinics list: got %q, want a header and one aligned row", out)
	}

	// A booth asks to enrol, as boothd does, signed with its key.
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	body := []byte(`{"name":"library-booth-3","version":"1.0"}`)
	req, _ := http.NewRequest("POST", testServerURL+"/api/v1/enrol", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", enrol.Authorization(key, "POST", "/api/v1/enrol", time.Now(), body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var st enrol.Status
	json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	out, _ = boothctl("", "devices", "pending")
	if !strings.Contains(out, st.Code) || !strings.Contains(out, "library-booth-3") {
		t.Fatalf("devices pending: got %q, want %s waiting", out, st.Code)
	}
	out, err = boothctl("", "devices", "approve", strings.ToLower(st.Code), "-site", c.ID, "--room", "Room 3", "--json")
	var d api.Device
	if err != nil || json.Unmarshal([]byte(out), &d) != nil || d.Room != "Room 3" || d.ClinicID != c.ID {
		t.Fatalf("devices approve: got %q, %v", out, err)
	}
	if _, err := boothctl("", "devices", "approve", st.Code, "--site", c.ID, "--room", "Room 3"); err == nil || !strings.Contains(err.Error(), "activation code") {
		t.Errorf("approving the code again: got %v, want refused", err)
	}

	out, err = boothctl("", "devices", "revoke", d.ID, "--reason", "reported stolen")
	if err != nil || !strings.Contains(out, d.ID+" (library-booth-3) revoked") {
		t.Fatalf("devices revoke: got %q, %v, want it revoked", out, err)
	}
	out, _ = boothctl("", "devices", "list")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[0], "STATE") || !strings.Contains(lines[1], "revoked ") {
		t.Errorf("devices list after revoking: got %q, want its state revoked", out)
	}
	if _, err := boothctl("", "devices", "revoke", d.ID); err == nil || !strings.Contains(err.Error(), "revoked already") {
		t.Errorf("revoking again: got %v, want refused as revoked already", err)
	}
	if _, err := boothctl("", "devices", "revoke"); err == nil {
		t.Error("revoke with no device ID: got no error")
	}

	// The audit log has the login, the clinic, the approval and the revocation.
	out, err = boothctl("", "audit", "--since", "1h")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) < 5 || !strings.HasPrefix(lines[0], "WHEN") || !strings.Contains(lines[0], "ACTION") {
		t.Fatalf("audit: got %q, %v, want a table of at least four entries", out, err)
	}
	last := lines[len(lines)-1]
	if !strings.Contains(last, "device_revoke") || !strings.Contains(last, d.ID) || !strings.Contains(last, "reported stolen") {
		t.Errorf("audit's last row: got %q, want the revocation of %s", last, d.ID)
	}
	out, err = boothctl("", "audit", "--action", "enrolment_approve", "--json")
	var es []api.AuditEntry
	if err != nil || json.Unmarshal([]byte(out), &es) != nil || len(es) != 1 || es[0].Target != d.ID {
		t.Errorf("audit --action enrolment_approve --json: got %q, %v, want the one approval", out, err)
	}
	if _, err := boothctl("", "audit", "--action", "drop_tables"); err == nil || !strings.Contains(err.Error(), "not an action") {
		t.Errorf("audit --action drop_tables: got %v, want refused naming the action", err)
	}
	if _, err := boothctl("", "audit", "--since", "yesterday"); err == nil || !strings.Contains(err.Error(), "since") {
		t.Errorf("audit --since yesterday: got %v, want refused naming since", err)
	}
}

// TestNormaliseOneDashFlags: a long flag written with one dash, as boothctl once took
// them, still works; a value that starts with a dash is left as written.
func TestNormaliseOneDashFlags(t *testing.T) {
	known := map[string]bool{"server": true, "patient": true}
	for _, tc := range []struct{ in, want []string }{
		{[]string{"-server", "http://x", "clinics", "list"}, []string{"--server", "http://x", "clinics", "list"}},
		{[]string{"-server=http://x"}, []string{"--server=http://x"}},
		{[]string{"appointments", "add", "--patient", "-anna"}, []string{"appointments", "add", "--patient", "-anna"}},
		{[]string{"-q", "-", "-o", "json"}, []string{"-q", "-", "-o", "json"}},
		{[]string{"--", "-server"}, []string{"--", "-server"}},
	} {
		if got := normalise(tc.in, known); !slices.Equal(got, tc.want) {
			t.Errorf("normalise(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if k := longFlags(newRoot(context.Background(), env{getenv: func(string) string { return "" }})); !k["server"] || !k["json"] {
		t.Errorf("longFlags: %v, want server and json among them", k)
	}
}
