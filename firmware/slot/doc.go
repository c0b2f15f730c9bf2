// Package slot provides A/B installation of firmware: a checked bundle is written into
// the slot not running, tried, and committed only after its health checks pass; a failed
// check or a crash loop rolls it back by itself, with the reason recorded. The decisions
// are one state machine (Manager) for every device; what carries them out sits behind
// two small interfaces, Switcher (which slot starts) and Store (a slot's contents).
//
// # State and steps
//
// The state file (atomicfile, JSON, "schema": 1) records the committed slot (active),
// the slot on trial if any (trying), its starts so far (tries), what each slot holds and
// whether it is completely written, and the last rollback (last_error: version, reason,
// time) for the device to report. Each step below is durable before the next begins:
//
//	Install:  record the inactive slot incomplete; wipe it; write and fsync every file
//	          (SHA-256 checked again); record it complete and on trial (tries 0);
//	          Switcher.Try; the caller restarts.
//	Boot:     (every start) nothing on trial: make sure the committed slot is the one
//	          started, else switch back and restart. On trial: count the start; over
//	          MaxTries (a crash loop), roll back; started from another slot (a kill before
//	          the switch, or a bootloader that fell back), Try again and restart.
//	Confirm:  run the health checks: all pass, record the trial as committed, then
//	          Switcher.Commit; one fails, roll back.
//	Rollback: record the failure and clear the trial, then switch to the committed slot.
//
// The order is what makes a kill at any moment safe: the committed slot is never written
// to; a trial is recorded only once its slot is complete; a rollback is recorded before
// the switch that carries it out, and a commit before its switch, so the next Boot
// finishes whichever half is missing. TestKilledAtEveryStep kills a child process after
// each step in turn and checks that every following start runs a complete release.
//
// # Development and tests: Dirs
//
// Dirs keeps the slots as root/a and root/b and names the one to start with the symlink
// root/current, switched by writing a new link under a temporary name and renaming it
// over the old one (rename(2) replaces it atomically), then fsyncing root. A service runs
// root/current/bin/boothd. A directory cannot be started "once", so a trial that crashes
// keeps being started until Boot's count of tries rolls it back.
//
// # Raspberry Pi: tryboot
//
// On a Pi 4 or 5 the slots are partitions and the bootloader switches them
// (https://www.raspberrypi.com/documentation/computers/config_txt.html#autoboot-txt and
// #the-tryboot-filter). The first FAT partition holds only autoboot.txt:
//
//	[all]
//	tryboot_a_b=1
//	boot_partition=2
//	[tryboot]
//	boot_partition=3
//
// Partitions 2 and 3 are the boot partitions of slots a and b (each with its kernel,
// config.txt and a cmdline.txt naming its own root partition). A normal boot starts
// [all]'s partition; `reboot "0 tryboot"` (systemd passes the argument to reboot(2))
// sets a one-shot flag, so the next boot alone applies [tryboot]. If the trial hangs or
// crashes, the hardware watchdog (systemd RuntimeWatchdogSec) resets the board and it
// comes back on the committed partition by itself. The running system learns what it
// booted from /proc/device-tree/chosen/bootloader/partition and .../tryboot (big-endian
// u32 each). Tryboot maps the interface onto that: Booted reads the device tree, Try
// rewrites [tryboot] to the slot's partition, Commit rewrites [all] (and [tryboot] to the
// other), and Reboot runs `systemctl reboot "0 tryboot"` when trying. The Manager's
// Boot is the same: a start on the committed partition while a trial is recorded is
// counted as a failed try and tried again, up to MaxTries.
//
// What is not built, for want of the hardware here: the Store that writes a slot's
// partitions (a bundle for a Pi would carry boot and root file-system images to be
// written, fsync'd and read back against their SHA-256), the partition layout and image
// build, and a test on a board. Tryboot is tested against a fake boot partition and
// device tree only; the bootloader's side (the tryboot flag, the watchdog fallback) is
// modelled in TestTrybootBootloader, not exercised.
package slot
