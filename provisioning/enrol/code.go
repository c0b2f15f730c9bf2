package enrol

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CodeLifetime is how long an activation code can be approved.
const CodeLifetime = 24 * time.Hour

// CodeLen is the number of characters in a code, without its dash.
const CodeLen = 8

// alphabet is Crockford's base32: no I, L, O or U.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Code is an activation code in its canonical form: CodeLen characters of alphabet.
type Code string

// NewCode returns a random code.
func NewCode() Code {
	var b [CodeLen]byte
	rand.Read(b[:]) // never fails: since Go 1.24 it crashes the program rather than return an error
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return Code(b[:])
}

// String is the code as a person reads it: two groups of four.
func (c Code) String() string {
	if len(c) != CodeLen {
		return string(c)
	}
	return string(c[:4]) + "-" + string(c[4:])
}

// ErrBadCode matches every error ParseCode returns.
var ErrBadCode = errors.New("not an activation code")

// ParseCode reads a code as a person typed it.
func ParseCode(s string) (Code, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r == 'I' || r == 'L':
			r = '1'
		case r == 'O':
			r = '0'
		}
		if r > 127 || strings.IndexByte(alphabet, byte(r)) < 0 {
			return "", fmt.Errorf("activation code %q: %q is not one of its letters or digits (%w)", clip(s), r, ErrBadCode)
		}
		b.WriteRune(r)
		if b.Len() > CodeLen {
			break
		}
	}
	if b.Len() != CodeLen {
		return "", fmt.Errorf("activation code %q: want %d letters and digits, as the device's screen shows them (%w)", clip(s), CodeLen, ErrBadCode)
	}
	return Code(b.String()), nil
}

// clip keeps an error message short whatever was typed.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
