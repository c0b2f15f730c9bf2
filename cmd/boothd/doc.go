// Command boothd is the Carebooth appliance daemon: it reads its config file, keeps the
// link to the switchboard, joins consultations and runs the call. The logic lives in
// package booth, what the screen, the light and the voice make of the booth's state in
// package booth/present; this command opens the devices and wires them up.
//
// Usage:
//
//	boothd [-config /etc/carebooth/boothd.toml] [-keyboard] [-version] [-remote-config-trial 2m]
//
// A remote config document the switchboard pushes (docs/fleet.md, Remote config) is checked
// against the file and, if it fits, tried by re-executing boothd in place; a trial that has
// not reached the switchboard within -remote-config-trial is rolled back the same way.
//
// The config file is described in provisioning/config/boothd.example.toml. With -keyboard
// (the default when stdin is a terminal) the terminal simulates the buttons: j join, e end,
// E hold end, h help, m mute, + and - volume; Ctrl-C stops boothd and restores the terminal.
//
// With buttons.backend = "gpio" the buttons (and a volume encoder) are read from GPIO lines,
// and with light.backend = "gpio" the status light is driven on them, through the Linux GPIO
// character device (docs/device-io.md; the keyboard still works alongside). Otherwise both
// are simulated, the light's changes logged. The start-up log line says which; a missing
// GPIO chip stops boothd with an error naming the key and the device path.
//
// Under systemd (systemd/boothd.service, Type=notify) boothd logs JSON to the journal,
// reports READY=1 once started, and pings the watchdog while the booth's loop answers.
// Prometheus metrics are served on metrics.listen at /metrics.
package main
