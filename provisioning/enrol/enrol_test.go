package enrol

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/device"
)

func TestCode(t *testing.T) {
	seen := map[Code]bool{}
	for range 1000 {
		c := NewCode()
		if got, err := ParseCode(c.String()); err != nil || got != c {
			t.Fatalf("ParseCode(%q): got %q, %v, want %q", c.String(), got, err, c)
		}
		seen[c] = true
	}
	if len(seen) < 999 {
		t.Errorf("1000 codes: got %d different, want them random", len(seen))
	}
	for in, want := range map[string]Code{
		"k7qm-4tzp":   "K7QM4TZP",
		" K7QM 4TZP ": "K7QM4TZP",
		"IL0O-abcd":   "1100ABCD",
	} {
		if got, err := ParseCode(in); err != nil || got != want {
			t.Errorf("ParseCode(%q): got %q, %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "K7QM-4TZ", "K7QM-4TZPX", "K7QM-4TZU", "K7QM_4TZP", "K7QM-4TZ€", strings.Repeat("A", 10000)} {
		_, err := ParseCode(bad)
		if !errors.Is(err, ErrBadCode) {
			t.Errorf("ParseCode(%.20q): got %v, want ErrBadCode", bad, err)
		} else if len(err.Error()) > 200 {
			t.Errorf("ParseCode(%.20q): a %d-byte message, want it short whatever was typed", bad, len(err.Error()))
		}
	}
}

func TestSignedRequest(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	body := []byte(`{"name":"booth-1","version":"1.0"}`)
	h := Authorization(key, "POST", "/api/v1/enrol", now, body)
	pub, err := Verify(h, "POST", "/api/v1/enrol", body, now.Add(time.Minute))
	if err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("Verify: got %v, want the device's key", err)
	}
	// The other key's signature under this key's name: swap sig= in.
	forged := h[:strings.Index(h, "sig=")] + Authorization(other, "POST", "/api/v1/enrol", now, body)[strings.Index(Authorization(other, "POST", "/api/v1/enrol", now, body), "sig="):]
	for _, tc := range []struct {
		name, header, method, path string
		body                       []byte
		at                         time.Time
		want                       string
	}{
		{"another body", h, "POST", "/api/v1/enrol", []byte(`{"name":"x"}`), now, "does not match"},
		{"another path", h, "POST", "/api/v1/enrol/status", body, now, "does not match"},
		{"another method", h, "GET", "/api/v1/enrol", body, now, "does not match"},
		{"signed by another key", forged, "POST", "/api/v1/enrol", body, now, "does not match"},
		{"too old", h, "POST", "/api/v1/enrol", body, now.Add(MaxSkew + time.Second), "device's clock"},
		{"from the future", h, "POST", "/api/v1/enrol", body, now.Add(-MaxSkew - time.Second), "device's clock"},
		{"bearer", "Bearer abc", "POST", "/api/v1/enrol", body, now, "scheme"},
		{"no key", Scheme + " ts=1, sig=AAAA", "POST", "/", nil, now, "key="},
		{"short key", Scheme + " key=AAAA, ts=1, sig=AAAA", "POST", "/", nil, now, "key="},
		{"unknown field", Scheme + " key=AAAA, ts=1, sig=AAAA, x=1", "POST", "/", nil, now, "x=1"},
		{"twice", Scheme + " ts=1, ts=2", "POST", "/", nil, now, "twice"},
		{"huge", Scheme + " " + strings.Repeat("k", 1000), "POST", "/", nil, now, "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.header, tc.method, tc.path, tc.body, tc.at)
			if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrSignature saying %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := Approval{Code: "K7QM-4TZP", Site: "Riverside", Room: "Room 2", Role: device.RoleBooth}
	if err := good.Validate(); err != nil {
		t.Fatalf("good approval: %v", err)
	}
	for _, tc := range []struct {
		name string
		a    func(*Approval)
		want string
	}{
		{"bad code", func(a *Approval) { a.Code = "nope" }, "activation code"},
		{"bad role", func(a *Approval) { a.Role = "kiosk" }, "allowed values"},
		{"no site", func(a *Approval) { a.Site = "" }, "site: required"},
		{"long room", func(a *Approval) { a.Room = strings.Repeat("r", 65) }, "room: 65 bytes, at most"},
	} {
		a := good
		tc.a(&a)
		if err := a.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := (Request{Name: "booth-1", Version: "1.0"}).Validate(); err != nil {
		t.Errorf("good request: %v", err)
	}
	for _, r := range []Request{{Version: "1"}, {Name: "a\nb", Version: "1"}, {Name: strings.Repeat("n", 65), Version: "1"}, {Name: "\xff", Version: "1"}} {
		if err := r.Validate(); err == nil {
			t.Errorf("request %+v: valid, want refused", r)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"K7QM-4TZP", "k7qm4tzp", "IL0O-ABCD", "", "€€€€€€€€", "K7QM--4TZP"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			return
		}
		if len(c) != CodeLen {
			t.Fatalf("ParseCode(%q) = %q: %d characters, want %d", s, c, len(c), CodeLen)
		}
		if again, err := ParseCode(c.String()); err != nil || again != c {
			t.Fatalf("ParseCode(%q) = %q, but its String %q reads as %q, %v", s, c, c.String(), again, err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	f.Add(Authorization(key, "POST", "/api/v1/enrol", time.Unix(1e9, 0), []byte("{}")), []byte("{}"))
	f.Add(Scheme+" key=, ts=, sig=", []byte(nil))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		pub, err := Verify(header, "POST", "/api/v1/enrol", body, time.Unix(1e9, 0))
		if err == nil && len(pub) != ed25519.PublicKeySize {
			t.Fatalf("accepted with a %d-byte key", len(pub))
		}
		if err != nil && !errors.Is(err, ErrSignature) {
			t.Fatalf("error %v is not ErrSignature", err)
		}
	})
}
