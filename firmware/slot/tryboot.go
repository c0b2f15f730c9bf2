package slot

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/carebooth/carebooth/atomicfile"
)

// Tryboot is the Raspberry Pi's slot switch through the bootloader's autoboot.txt and
// tryboot flag (doc.go). It is built and tested against files only; see doc.go for what
// a board needs besides.
type Tryboot struct {
	// Autoboot is autoboot.txt on the mounted first FAT partition.
	Autoboot string
	// DeviceTree is the bootloader's node, /proc/device-tree/chosen/bootloader.
	DeviceTree string
	// Partitions maps each slot to its boot partition number, e.g. a: 2, b: 3.
	Partitions map[Name]int
	// Run runs a command (reboot); exec in boothd, a recorder in tests.
	Run func(ctx context.Context, name string, args ...string) error
}

var _ Switcher = (*Tryboot)(nil)

// Booted reads the partition the bootloader started from the device tree.
func (t *Tryboot) Booted() (Name, error) {
	p, err := t.readU32("partition")
	if err != nil {
		return "", err
	}
	for n, part := range t.Partitions {
		if part == int(p) {
			return n, nil
		}
	}
	return "", fmt.Errorf("tryboot: booted from partition %d, which is no slot's (slots: %v)", p, t.Partitions)
}

// InTryboot reports whether this boot applied autoboot.txt's [tryboot] section.
func (t *Tryboot) InTryboot() (bool, error) {
	v, err := t.readU32("tryboot")
	return v == 1, err
}

func (t *Tryboot) readU32(name string) (uint32, error) {
	path := filepath.Join(t.DeviceTree, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("tryboot: %w (is this a Raspberry Pi with a tryboot-capable bootloader?)", err)
	}
	if len(b) != 4 {
		return 0, fmt.Errorf("tryboot: %s is %d bytes, want a 4-byte big-endian number", path, len(b))
	}
	return binary.BigEndian.Uint32(b), nil
}

// Try makes the next tryboot reboot start n, leaving the normal boot as it was.
func (t *Tryboot) Try(n Name) error {
	def, err := t.defaultPartition()
	if err != nil {
		return err
	}
	return t.write(def, n)
}

// Commit makes every normal boot start n.
func (t *Tryboot) Commit(n Name) error {
	p, ok := t.Partitions[n]
	if !ok {
		return fmt.Errorf("tryboot: slot %q has no partition", n)
	}
	return t.write(p, n.Other())
}

// Reboot restarts the board, into the slot on trial when tryboot is set: reboot(2)'s
// argument "0 tryboot" (default partition, tryboot flag), passed on by systemd.
func (t *Tryboot) Reboot(ctx context.Context, tryboot bool) error {
	args := []string{"reboot"}
	if tryboot {
		args = append(args, "0 tryboot")
	}
	if err := t.Run(ctx, "systemctl", args...); err != nil {
		return fmt.Errorf("tryboot: reboot: %w", err)
	}
	return nil
}

func (t *Tryboot) write(normal int, trial Name) error {
	tp, ok := t.Partitions[trial]
	if !ok {
		return fmt.Errorf("tryboot: slot %q has no partition", trial)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by boothd (firmware/slot); the A/B slots' boot partitions.\n")
	fmt.Fprintf(&b, "[all]\ntryboot_a_b=1\nboot_partition=%d\n[tryboot]\nboot_partition=%d\n", normal, tp)
	// FAT has no atomic rename in the POSIX sense, but Linux's vfat replaces the
	// directory entry in one write; the temp file and fsync still keep a torn file out.
	return atomicfile.Write(t.Autoboot, b.Bytes(), 0o644)
}

// defaultPartition reads [all]'s boot_partition from autoboot.txt.
func (t *Tryboot) defaultPartition() (int, error) {
	data, err := os.ReadFile(t.Autoboot)
	if err != nil {
		return 0, fmt.Errorf("tryboot: %w", err)
	}
	section := "all"
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = l[1 : len(l)-1]
		case section == "all" && strings.HasPrefix(l, "boot_partition="):
			p, err := strconv.Atoi(strings.TrimPrefix(l, "boot_partition="))
			if err != nil {
				return 0, fmt.Errorf("tryboot: %s:%d: boot_partition is not a number", t.Autoboot, line)
			}
			return p, nil
		}
	}
	return 0, fmt.Errorf("tryboot: %s has no boot_partition in [all]; write one (see firmware/slot's doc)", t.Autoboot)
}
