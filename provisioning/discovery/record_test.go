package discovery

import (
	"errors"
	"strings"
	"testing"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
)

const testCA = "SHA256:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

func boothRecord() Record {
	return Record{Kind: KindDevice, ID: "dev-1", Role: device.RoleBooth, Site: "site_a", Version: "1.4.0", State: signalling.StateIdle}
}

func switchboardRecord() Record {
	return Record{Kind: KindSwitchboard, ID: "switchboard", Site: "site_a", Version: "1.4.0", CA: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []Record{boothRecord(), switchboardRecord(), {Kind: KindDevice, ID: "x", Role: device.RoleClinic, Version: "dev", State: signalling.StateFault}} {
		t.Run(string(r.Kind)+"/"+r.ID, func(t *testing.T) {
			txt, err := r.TXT()
			if err != nil {
				t.Fatalf("TXT: %v", err)
			}
			if txt[0] != "txtvers=1" {
				t.Errorf("first string: got %q, want txtvers=1 (RFC 6763 §6.7)", txt[0])
			}
			got, err := ParseTXT(r.Kind, txt)
			if err != nil {
				t.Fatalf("ParseTXT(%q): %v", txt, err)
			}
			if got != r {
				t.Errorf("got %+v, want %+v", got, r)
			}
		})
	}
}

func TestParseTXTRefuses(t *testing.T) {
	good, _ := boothRecord().TXT()
	with := func(extra ...string) []string { return append(append([]string{}, good...), extra...) }
	replace := func(key, val string) []string {
		out := append([]string{}, good...)
		for i, s := range out {
			if strings.HasPrefix(s, key+"=") {
				out[i] = key + "=" + val
			}
		}
		return out
	}
	drop := func(key string) []string {
		var out []string
		for _, s := range good {
			if !strings.HasPrefix(s, key+"=") {
				out = append(out, s)
			}
		}
		return out
	}
	many := []string{"txtvers=1"}
	for range MaxTXTStrings {
		many = append(many, "x=y")
	}
	cases := map[string]struct {
		kind Kind
		txt  []string
		want string
	}{
		"empty":               {KindDevice, nil, "empty"},
		"no txtvers first":    {KindDevice, good[1:], "first string must be txtvers"},
		"other txtvers":       {KindDevice, replace("txtvers", "2"), "this device reads 1"},
		"not key=value first": {KindDevice, []string{"hello"}, "not key=value"},
		"missing id":          {KindDevice, drop("id"), "id:"},
		"id with a space":     {KindDevice, replace("id", "dev 1"), "id:"},
		"id too long":         {KindDevice, replace("id", strings.Repeat("a", 65)), "at most 64"},
		"site with a slash":   {KindDevice, replace("site", "a/b"), "site:"},
		"unknown role":        {KindDevice, replace("role", "admin"), "not a device role"},
		"unknown state":       {KindDevice, replace("state", "asleep"), "not a device state"},
		"missing state":       {KindDevice, drop("state"), "not a device state"},
		"version with quote":  {KindDevice, replace("ver", `1"2`), "ver:"},
		"escaped bytes":       {KindDevice, replace("ver", `1\0012`), "ver:"},
		"device naming a CA":  {KindDevice, with("ca=" + testCA), "only a switchboard"},
		"too many strings":    {KindDevice, many, "strings, at most"},
		"too many bytes":      {KindDevice, with("pad="+strings.Repeat("p", 60), "pad2="+strings.Repeat("p", 60), "pad3="+strings.Repeat("p", 60), "pad4="+strings.Repeat("p", 60), "pad5="+strings.Repeat("p", 60), "pad6="+strings.Repeat("p", 60), "pad7="+strings.Repeat("p", 60), "pad8="+strings.Repeat("p", 60)), "bytes, at most"},
		"oversized value":     {KindDevice, with("note=" + strings.Repeat("n", 200)), "at most 64"},
		"switchboard no CA":   {KindSwitchboard, []string{"txtvers=1", "id=sb", "ver=1"}, "ca:"},
		"switchboard bad CA":  {KindSwitchboard, []string{"txtvers=1", "id=sb", "ver=1", "ca=SHA256:short"}, "ca:"},
		"unknown kind":        {Kind("printer"), good, "neither"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := ParseTXT(c.kind, c.txt)
			if err == nil {
				t.Fatalf("got %+v, want an error containing %q", r, c.want)
			}
			if !errors.Is(err, ErrRecord) {
				t.Errorf("got %v, want it to wrap ErrRecord", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestValidateSwitchboardHasNoRole(t *testing.T) {
	r := switchboardRecord()
	r.Role = device.RoleBooth
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "no role") {
		t.Errorf("got %v, want a switchboard with a role refused", err)
	}
}

func TestParseTXTTolerates(t *testing.T) {
	good, _ := boothRecord().TXT()
	cases := map[string][]string{
		"unknown keys, from a newer device": append(append([]string{}, good...), "colour=blue", "flag"),
		"upper-case keys":                   {"TXTVERS=1", "ID=dev-1", "Ver=1.4.0", "site=site_a", "role=booth", "state=idle"},
		"a repeated key: the first counts":  append(append([]string{}, good...), "id=spoofed", "state=in_call"),
	}
	for name, txt := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTXT(KindDevice, txt)
			if err != nil {
				t.Fatalf("ParseTXT(%q): %v", txt, err)
			}
			if got != boothRecord() {
				t.Errorf("got %+v, want %+v", got, boothRecord())
			}
		})
	}
}

// FuzzTXT: no TXT record panics the parser, and whatever it accepts is a valid record
// that encodes to strings it reads back the same.
func FuzzTXT(f *testing.F) {
	good, _ := boothRecord().TXT()
	sb, _ := switchboardRecord().TXT()
	f.Add(strings.Join(good, "\x00"), false)
	f.Add(strings.Join(sb, "\x00"), true)
	f.Add("txtvers=1\x00id=\x00=\x00==", false)
	f.Add("txtvers=1\x00ID=a\x00ver=\xff\x00role=booth\x00state=idle", false)
	f.Fuzz(func(t *testing.T, joined string, switchboard bool) {
		k := KindDevice
		if switchboard {
			k = KindSwitchboard
		}
		txt := strings.Split(joined, "\x00")
		r, err := ParseTXT(k, txt)
		if err != nil {
			if !errors.Is(err, ErrRecord) {
				t.Fatalf("error %v does not wrap ErrRecord", err)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("error of %d bytes: a hostile record must not be echoed whole", len(err.Error()))
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted %+v, which does not validate: %v", r, err)
		}
		again, err := r.TXT()
		if err != nil {
			t.Fatalf("TXT of an accepted record: %v", err)
		}
		back, err := ParseTXT(k, again)
		if err != nil || back != r {
			t.Fatalf("re-read: got %+v, %v; want %+v", back, err, r)
		}
	})
}
