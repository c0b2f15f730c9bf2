package main

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/carebooth/carebooth/signalling"
)

// answerAs connects as the device with tok and answers each diagnose with answer.
func answerAs(t *testing.T, tok string, answer func(*signalling.Diagnose) *signalling.Diagnosis) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	ws, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(testServerURL, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatalf("dial as the device: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	c := signalling.NewConn(ws)
	if err := c.Send(dctx, signalling.TypeHello, &signalling.Hello{Role: signalling.RoleDevice, Agent: "boothd test"}); err != nil {
		t.Fatal(err)
	}
	welcomed := make(chan struct{})
	go func() {
		for {
			env, body, err := c.Recv(ctx)
			if err != nil && !errors.Is(err, signalling.ErrProtocol) {
				return
			}
			switch m := body.(type) {
			case *signalling.Welcome:
				close(welcomed)
			case *signalling.Diagnose:
				if c.Send(ctx, signalling.TypeDiagnosis, answer(m)) != nil {
					return
				}
			}
			_ = env
		}
	}()
	select {
	case <-welcomed:
	case <-dctx.Done():
		t.Fatal("no welcome")
	}
}

// TestDevicesSelfTestAndLogs: boothctl prints a device's checks as a table and exits
// non-zero when one failed, and prints its log lines.
func TestDevicesSelfTestAndLogs(t *testing.T) {
	_, boothctl := withSwitchboard(t, nil)
	if _, err := boothctl("admin password 1\n", "login"); err != nil {
		t.Fatal(err)
	}
	out, err := boothctl("", "clinics", "add", "-name", "Riverside")
	if err != nil {
		t.Fatal(err)
	}
	clinic := regexp.MustCompile(`created: (\S+)`).FindStringSubmatch(out)[1]
	out, err = boothctl("", "devices", "add", "-name", "library-booth-1", "-clinic", clinic)
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`created: (\S+)`).FindStringSubmatch(out)[1]
	tok := regexp.MustCompile(`cbd_\S+`).FindString(out)

	if _, err := boothctl("", "devices", "selftest", id); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("selftest of an offline device: got %v, want not connected", err)
	}
	var cameraFails atomic.Bool
	answerAs(t, tok, func(m *signalling.Diagnose) *signalling.Diagnosis {
		d := &signalling.Diagnosis{Request: m.Request, Kind: m.Kind}
		if m.Kind == signalling.DiagnoseLogs {
			d.Logs = []signalling.LogLine{{Time: time.Now(), Text: `level=INFO msg="boothd starting"`}, {Time: time.Now(), Text: "level=WARN msg=b"}}
			return d
		}
		d.Checks = []signalling.CheckResult{{Name: "switchboard", OK: true, TookMs: 3}, {Name: "camera", OK: !cameraFails.Load(), Detail: "VideoTest, 640x480", TookMs: 40}}
		return d
	})
	out, err = boothctl("", "devices", "selftest", id)
	if err != nil {
		t.Fatalf("selftest: %v\n%s", err, out)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "CHECK") ||
		!strings.Contains(lines[2], "camera") || !strings.Contains(lines[2], "VideoTest, 640x480") {
		t.Fatalf("selftest: got %q, want a header and two checks", out)
	}
	cameraFails.Store(true)
	out, err = boothctl("", "devices", "selftest", id)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 checks failed") || !strings.Contains(out, "FAILED") {
		t.Fatalf("failed check: got %q, %v; want FAILED and an error", out, err)
	}
	out, err = boothctl("", "devices", "logs", id, "--lines", "2")
	if err != nil || !strings.Contains(out, `msg="boothd starting"`) || !strings.Contains(out, "level=WARN msg=b") {
		t.Fatalf("logs: got %q, %v", out, err)
	}
	if _, err := boothctl("", "devices", "logs", id, "--lines", "9000"); err == nil || !strings.Contains(err.Error(), "lines") {
		t.Fatalf("--lines 9000: got %v, want a refusal naming lines", err)
	}
}
