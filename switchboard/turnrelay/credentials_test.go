package turnrelay

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

var testSecret = []byte(strings.Repeat("s", MinSecretBytes))

func TestCredentials(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC))
	c, err := NewCredentials(testSecret, time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	user, pass, exp, err := c.Issue("dev-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.FormatInt(clock.Now().Add(time.Hour).Unix(), 10) + ":dev-1"; user != want || !exp.Equal(clock.Now().Add(time.Hour)) {
		t.Errorf("user %q expiring %s; want %q in an hour", user, exp, want)
	}
	party, want, err := c.Check(user)
	if err != nil || party != "dev-1" || want != pass {
		t.Fatalf("check: got %q, %q, %v; want dev-1 and the issued password", party, want, err)
	}
	other, _ := NewCredentials([]byte(strings.Repeat("x", MinSecretBytes)), time.Hour, clock)
	if _, p2, _ := other.Check(user); p2 == pass {
		t.Error("another secret gives the same password")
	}

	far := strconv.FormatInt(clock.Now().Add(48*time.Hour).Unix(), 10) + ":dev-1"
	for name, u := range map[string]string{
		"no party":       strconv.FormatInt(clock.Now().Add(time.Hour).Unix(), 10),
		"not a time":     "soon:dev-1",
		"negative":       "-5:dev-1",
		"bad party":      strconv.FormatInt(clock.Now().Add(time.Hour).Unix(), 10) + ":dev 1",
		"far future":     far,
		"huge":           strings.Repeat("9", 200) + ":dev-1",
		"colon in party": strconv.FormatInt(clock.Now().Add(time.Hour).Unix(), 10) + ":a:b",
	} {
		if _, _, err := c.Check(u); !errors.Is(err, ErrCredentials) {
			t.Errorf("%s (%q): got %v, want ErrCredentials", name, u, err)
		}
	}
	clock.Advance(time.Hour)
	if _, _, err := c.Check(user); !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("after an hour: got %v, want expired", err)
	}
	if _, err := NewCredentials([]byte("short"), 0, nil); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
	if _, _, _, err := c.Issue("not an id!"); err == nil {
		t.Error("credentials issued for a malformed party")
	}
}
