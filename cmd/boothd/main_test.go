package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
[log]
level = "error"
` + extra
	path := filepath.Join(dir, "boothd.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunStopsWhenCancelled(t *testing.T) {
	path := writeConfig(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", path, "-keyboard=false"}) }()
	time.Sleep(300 * time.Millisecond) // let it start; the switchboard is unreachable
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("got %v, want nil after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	path := writeConfig(t, "[device]\njoin_mode = \"sometimes\"\n")
	err := run(context.Background(), []string{"-config", path, "-keyboard=false"})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "device.join_mode") {
		t.Errorf("got %v, want an error naming %s and device.join_mode", err, path)
	}
}
