package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCreateAdminThenServeDemo(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := run(context.Background(), []string{"-state", dir, "-create-admin", "root"}, strings.NewReader("a long enough password\n"), &out, &out)
	if err != nil {
		t.Fatalf("create-admin: %v", err)
	}
	if !strings.Contains(out.String(), `admin "root" created`) {
		t.Errorf("create-admin output: got %q", out.String())
	}
	if err := run(context.Background(), []string{"-state", dir, "-create-admin", "root"}, strings.NewReader("short\n"), &out, &out); err == nil {
		t.Error("create-admin with a short password: got nil error")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out.Reset()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-state", dir, "-listen", "127.0.0.1:0", "-demo"}, strings.NewReader(""), &out, &bytes.Buffer{})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "demo", "booth.token")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the demo token file did not appear")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let it reach Serve
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{"dr.patel", "Riverside Surgery", "booth.token"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
