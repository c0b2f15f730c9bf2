package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

func TestFlagsRefusedWithTheirName(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-trusted-proxies", "10.0.0.0/8,10.0.0.0/33"}, `-trusted-proxies: "10.0.0.0/33" is not an IP address or CIDR prefix`},
		{[]string{"-trusted-proxies", "proxy.example.org"}, `-trusted-proxies: "proxy.example.org"`},
		{[]string{"-tls-lan", "switchboard.local,http://x"}, `-tls-lan: "http://x" is not a host name`},
		{[]string{"-tls-lan", "switchboard.local", "-tls-cert", "c.pem", "-tls-key", "k.pem"}, "-tls-lan and -tls-cert: choose one"},
		{[]string{"-turn-listen", "127.0.0.1:0"}, `-turn-public-ip "": the address the parties reach the relay at is required`},
		{[]string{"-turn-listen", "127.0.0.1:0", "-turn-public-ip", "relay.example"}, `-turn-public-ip "relay.example"`},
		{[]string{"-turn-listen", "127.0.0.1:0", "-turn-public-ip", "192.0.2.1", "-turn-ttl", "100h"}, "-turn-ttl"},
		{[]string{"-turn-tls-listen", "127.0.0.1:0"}, "-turn-tls-listen needs -turn-listen"},
		{[]string{"-turn-listen", "127.0.0.1:0", "-turn-public-ip", "192.0.2.1", "-turn-tls-listen", "127.0.0.1:0"}, "serve with -tls-cert or -tls-lan"},
		{[]string{"-advertise", "sometimes"}, `-advertise "sometimes": allowed values are on, off and auto`},
		{[]string{"-advertise", "on"}, "-advertise on: booths found by mDNS enrol by their keys over TLS"},
	} {
		err := run(context.Background(), append([]string{"-state", t.TempDir()}, tt.args...), strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// The default is loopback only: serving beyond it is a choice made with -listen.
func TestListensOnLoopbackByDefault(t *testing.T) {
	var help bytes.Buffer
	if err := run(context.Background(), []string{"-help"}, strings.NewReader(""), &help, &help); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(help.String(), `(default "127.0.0.1:8080")`) {
		t.Errorf("-listen default: got\n%s\nwant 127.0.0.1:8080", help.String())
	}
}

// lockedBuffer is a bytes.Buffer run may write to while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestWarnsOfPlainHTTPOnAllInterfaces(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-state", t.TempDir(), "-listen", ":0"}, strings.NewReader(""), &bytes.Buffer{}, &stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "SERVING PLAIN HTTP ON ALL INTERFACES") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning at start; the log was:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
