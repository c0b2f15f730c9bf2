package slot

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakePi(t *testing.T, partition uint32) *Tryboot {
	t.Helper()
	dir := t.TempDir()
	dt := filepath.Join(dir, "proc/device-tree/chosen/bootloader")
	os.MkdirAll(dt, 0o755)
	os.MkdirAll(filepath.Join(dir, "boot"), 0o755)
	b := binary.BigEndian.AppendUint32(nil, partition)
	os.WriteFile(filepath.Join(dt, "partition"), b, 0o644)
	os.WriteFile(filepath.Join(dt, "tryboot"), []byte{0, 0, 0, 0}, 0o644)
	tb := &Tryboot{Autoboot: filepath.Join(dir, "boot/autoboot.txt"), DeviceTree: dt, Partitions: map[Name]int{A: 2, B: 3}}
	if err := tb.Commit(A); err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestTryboot(t *testing.T) {
	tb := fakePi(t, 2)
	if n, err := tb.Booted(); err != nil || n != A {
		t.Fatalf("Booted: got %q, %v, want a", n, err)
	}
	if on, err := tb.InTryboot(); err != nil || on {
		t.Errorf("InTryboot: got %v, %v, want false", on, err)
	}
	if err := tb.Try(B); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(tb.Autoboot)
	if want := "[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n"; !strings.HasSuffix(string(got), want) {
		t.Errorf("after Try(b): got\n%s\nwant it to end with\n%s", got, want)
	}
	if err := tb.Commit(B); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(tb.Autoboot)
	if want := "boot_partition=3\n[tryboot]\nboot_partition=2\n"; !strings.HasSuffix(string(got), want) {
		t.Errorf("after Commit(b): got\n%s\nwant it to end with\n%s", got, want)
	}
	var ran []string
	tb.Run = func(_ context.Context, name string, args ...string) error {
		ran = append(ran, name+" "+strings.Join(args, "|"))
		return nil
	}
	tb.Reboot(context.Background(), true)
	tb.Reboot(context.Background(), false)
	if want := []string{"systemctl reboot|0 tryboot", "systemctl reboot"}; strings.Join(ran, ",") != strings.Join(want, ",") {
		t.Errorf("reboots: got %q, want %q", ran, want)
	}
}

func TestTrybootUnknownPartition(t *testing.T) {
	tb := fakePi(t, 7)
	if _, err := tb.Booted(); err == nil || !strings.Contains(err.Error(), "partition 7") {
		t.Errorf("got %v, want an error naming partition 7", err)
	}
}
