package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/provisioning/identity"
)

func writeConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `
[switchboard]
url = "http://127.0.0.1:1"
token_file = "` + token + `"
[state]
dir = "` + filepath.Join(dir, "state") + `"
[media]
video = "test"
audio = "test"
[metrics]
listen = "127.0.0.1:0"
[site]
listen = "127.0.0.1:0"
[discovery]
enabled = false
[log]
level = "error"
` + extra
	path := filepath.Join(dir, "boothd.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// notifySocket stands in for systemd's notification socket (NOTIFY_SOCKET, which
// Type=notify units get) and returns the messages boothd sends to it.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "")
	msgs := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return // closed by the cleanup
			}
			for _, line := range strings.Split(string(buf[:n]), "\n") {
				if line != "" {
					msgs <- line
				}
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return msgs
}

// waitNotify waits for msg on the notification socket.
func waitNotify(t *testing.T, msgs <-chan string, msg string, done <-chan error) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case got := <-msgs:
			if got == msg {
				return
			}
		case err := <-done:
			t.Fatalf("run returned %v before sending %s", err, msg)
		case <-timeout:
			t.Fatalf("no %s from boothd within 15 s", msg)
		}
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	path := writeConfig(t, "")
	msgs := notifySocket(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", path, "-keyboard=false"}) }()
	// Started, as systemd learns it (the switchboard is unreachable; that is fine).
	waitNotify(t, msgs, "READY=1", done)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("got %v, want nil after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	waitNotify(t, msgs, "STOPPING=1", nil)

	// The first start made the device's identity key, private to boothd; the next one
	// keeps it.
	key := filepath.Join(filepath.Dir(path), "state", identity.KeyFile)
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity key: got %v, %v, want %s with mode 0600", fi, err, key)
	}
	first, _ := os.ReadFile(key)
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- run(ctx2, []string{"-config", path, "-keyboard=false"}) }()
	waitNotify(t, msgs, "READY=1", done)
	cancel2()
	<-done
	if again, _ := os.ReadFile(key); string(again) != string(first) {
		t.Error("second start: the identity key changed, want it kept")
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	path := writeConfig(t, "[device]\njoin_mode = \"sometimes\"\n")
	err := run(context.Background(), []string{"-config", path, "-keyboard=false"})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "device.join_mode") {
		t.Errorf("got %v, want an error naming %s and device.join_mode", err, path)
	}
}
