// Command boothd is the Carebooth appliance daemon: it reads its config file, keeps the
// link to the switchboard, joins consultations and runs the call. The logic lives in
// package booth; this command only wires it up.
//
// Usage:
//
//	boothd [-config /etc/carebooth/boothd.toml] [-keyboard] [-version]
//
// The config file is described in provisioning/config/boothd.example.toml. With -keyboard
// (the default when stdin is a terminal) the terminal simulates the buttons: j join, e end,
// E hold end, h help, m mute, + and - volume; Ctrl-C stops boothd and restores the terminal.
//
// Under systemd (systemd/boothd.service, Type=notify) boothd logs JSON to the journal,
// reports READY=1 once started, and pings the watchdog while the booth's loop answers.
// Prometheus metrics are served on metrics.listen at /metrics.
package main
