// Package config provides boothd's configuration file: a TOML document (TOML v1.0.0,
// https://toml.io/en/v1.0.0) read by [Load], with defaults filled in and every value checked.
//
// Loading is strict because the file is edited by hand on a device that may be far from the
// person who wrote it: a misspelt key is refused by name rather than silently ignored, a bad
// value names the key, the value and what is allowed, and a syntax error names the line.
// [Config.Validate] reports every problem at once, so one round of fixing is enough.
//
// boothd.example.toml in this folder documents every key and is loaded by the tests, so it
// cannot drift from the code.
package config
