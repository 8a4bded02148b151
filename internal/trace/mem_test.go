//go:build linux

package trace

import (
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestReadString reads strings of this process: short, longer than the
// first read, across a page boundary, ending just before an unmapped page,
// and too long.
func TestReadString(t *testing.T) {
	mem, err := unix.Mmap(-1, 0, 3*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Mprotect(mem[2*pageSize:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	pid := unix.Getpid()
	put := func(off int, s string) uintptr {
		copy(mem[off:], s)
		if off+len(s) < 2*pageSize {
			mem[off+len(s)] = 0
		}
		return base + uintptr(off)
	}
	for _, tc := range []struct {
		off int
		s   string
	}{
		{0, "/proc/self/maps"},
		{100, "/" + strings.Repeat("a", 600)},
		{pageSize - 10, "/" + strings.Repeat("b", 300)},
		{2*pageSize - 20, strings.Repeat("c", 19)},
	} {
		got, err := readString(pid, put(tc.off, tc.s), 4096)
		if err != nil || got != tc.s {
			t.Errorf("at %d: %q, %v; want %q", tc.off, got, err, tc.s)
		}
	}
	clear(mem[:2*pageSize])
	if _, err := readString(pid, put(0, strings.Repeat("d", 5000)), 4096); err == nil {
		t.Error("a 5000-byte string read with a 4096-byte limit")
	}
	copy(mem[2*pageSize-4:], "eeee")
	if _, err := readString(pid, base+2*pageSize-4, 4096); err == nil {
		t.Error("a string running into an unmapped page read without error")
	}
}
