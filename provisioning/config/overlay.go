package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// RemoteKeys are the keys a remote config document (an [Overlay]) may set. Identity and
// credential paths (switchboard.token_file, metrics.token_file, state.dir), the device's
// role, and the wiring of buttons and lights stay in the file on the device: a document
// pushed to many devices must not move a device's secrets or unwire its hardware.
var RemoteKeys = []string{
	"switchboard.url",
	"device.join_mode", "device.join_window",
	"media.video", "media.audio", "media.width", "media.height", "media.fps", "media.video_bitrate_kbps",
	"speaker.device", "speaker.volume", "speaker.prompts", "speaker.voice",
	"screen.backend",
	"log.format", "log.level",
}

// Overlay is a remote config document: a partial boothd config in TOML holding only
// RemoteKeys. Its wire form is its TOML text (Text), carried as a string. The zero Overlay
// sets nothing.
type Overlay struct {
	keys map[string]any // "section.key" -> value as TOML decoded it
}

// placeholder is the base a document is checked against when the device's own file is not
// known (at the switchboard): it satisfies the keys a document cannot set.
func placeholder() Config {
	c := Defaults()
	c.Switchboard = Switchboard{URL: "wss://switchboard.invalid", TokenFile: "/placeholder"}
	return c
}

// ParseOverlay reads a remote config document; name is used in error messages. Syntax
// errors, unknown keys, keys that cannot be set remotely, values of the wrong type and
// values out of range are refused with an *Error naming the key. Checks that need the
// device's own file (a Join button wired for join_mode "button") are Apply's.
func ParseOverlay(name string, text string) (Overlay, error) {
	var raw map[string]any
	if _, err := toml.Decode(text, &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Overlay{}, &Error{File: name, Problems: []string{fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)}}
		}
		return Overlay{}, &Error{File: name, Problems: []string{strings.TrimPrefix(err.Error(), "toml: ")}}
	}
	o := Overlay{keys: map[string]any{}}
	var p []string
	for _, section := range slices.Sorted(maps.Keys(raw)) {
		tbl, ok := raw[section].(map[string]any)
		if !ok {
			p = append(p, fmt.Sprintf("key %s: must be a table such as [%s]; a document sets keys like %s", section, section, RemoteKeys[0]))
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(tbl)) {
			key := section + "." + k
			if !slices.Contains(RemoteKeys, key) {
				p = append(p, fmt.Sprintf("key %s cannot be set by a remote config document: the keys it may set are %s", key, strings.Join(RemoteKeys, ", ")))
				continue
			}
			o.keys[key] = tbl[k]
		}
	}
	if len(p) > 0 {
		return Overlay{}, &Error{File: name, Problems: p}
	}
	// Types and ranges: apply to a placeholder base and keep the problems of our keys.
	cfg := placeholder()
	if err := o.decodeInto(&cfg); err != nil {
		return Overlay{}, &Error{File: name, Problems: []string{err.Error()}}
	}
	var ve *Error
	if err := cfg.Validate(); errors.As(err, &ve) {
		for _, prob := range ve.Problems {
			for k := range o.keys {
				if strings.HasPrefix(prob, k+" ") {
					p = append(p, prob)
					break
				}
			}
		}
	}
	if len(p) > 0 {
		return Overlay{}, &Error{File: name, Problems: p}
	}
	return o, nil
}

// Keys returns the keys the overlay sets, sorted.
func (o Overlay) Keys() []string { return slices.Sorted(maps.Keys(o.keys)) }

// Empty reports whether the overlay sets nothing.
func (o Overlay) Empty() bool { return len(o.keys) == 0 }

// Merge returns the overlays merged in order: a key set by a later one wins. Callers pass
// the least specific first (fleet, site, room, device).
func Merge(layers ...Overlay) Overlay {
	out := Overlay{keys: map[string]any{}}
	for _, l := range layers {
		maps.Copy(out.keys, l.keys)
	}
	return out
}

// Text is the overlay's canonical TOML: sections and keys sorted, so equal overlays have
// equal text.
func (o Overlay) Text() string {
	tables := map[string]map[string]any{}
	for k, v := range o.keys {
		section, key, _ := strings.Cut(k, ".")
		if tables[section] == nil {
			tables[section] = map[string]any{}
		}
		tables[section][key] = v
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(tables); err != nil {
		// Values came from the TOML decoder, so they always encode.
		panic(fmt.Sprintf("config: encode overlay: %v", err))
	}
	return buf.String()
}

// decodeInto sets the overlay's keys on cfg, leaving every other key as it is.
func (o Overlay) decodeInto(cfg *Config) error {
	if o.Empty() {
		return nil
	}
	if _, err := toml.Decode(o.Text(), cfg); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "toml: "))
	}
	return nil
}

// Apply returns base with the overlay's keys set, validated as a whole: an overlay that
// conflicts with the device's own file (join_mode "button" with GPIO buttons and no Join
// line) is refused with an *Error naming the keys, and base is not changed.
func (o Overlay) Apply(base Config) (Config, error) {
	cfg := base
	if err := o.decodeInto(&cfg); err != nil {
		return base, &Error{File: "remote config", Problems: []string{err.Error()}}
	}
	var ve *Error
	if err := cfg.Validate(); errors.As(err, &ve) {
		return base, &Error{File: "config with the remote document applied", Problems: ve.Problems}
	}
	return cfg, nil
}
