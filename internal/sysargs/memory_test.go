package sysargs

import (
	"encoding/binary"
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// TestWithMemory reads keys the way a tracer does: clone3's flags as a
// u64, an attribute's name as the start of a string, whole or cut, and
// nothing from a NULL or unreadable pointer.
func TestWithMemory(t *testing.T) {
	mem := func(b []byte) func(uintptr, int) []byte {
		return func(_ uintptr, n int) []byte { return b[:min(n, len(b))] }
	}
	unreadable := func(uintptr, int) []byte { return nil }
	flags := make([]byte, 8)
	binary.LittleEndian.PutUint64(flags, 0x20000000) // CLONE_NEWPID
	long := []byte("security.capability-and-then-some\x00")
	for _, tc := range []struct {
		name    string
		ptr     uint64
		read    func(uintptr, int) []byte
		display string
	}{
		{"clone3", 0x1000, mem(flags), "CLONE_NEWPID"},
		{"clone3", 0x1000, mem(flags[:4]), ""}, // a short read is no value
		{"setxattr", 0x1000, mem([]byte("security.capability\x00")), "security.capability"},
		{"fsetxattr", 0x1000, mem(long), "security.*"}, // cut at 24 bytes: only the prefix is known
		{"removexattr", 0x1000, mem([]byte("user.x\x00garbage")), "user.*"},
		{"lsetxattr", 0x1000, mem([]byte("sec")), ""},
		{"setxattr", 0, mem([]byte("user.x\x00")), ""},
		{"setxattr", 0x1000, unreadable, ""},
	} {
		var args [6]uint64
		mk, ok := MemoryKeyOf(tc.name)
		if !ok {
			t.Fatalf("%s has no memory key", tc.name)
		}
		args[mk.Arg] = tc.ptr
		d, _, ok := KeyFromRegs(sysno.AMD64, tc.name, WithMemory(tc.name, args, tc.read))
		if d != tc.display || ok != (tc.display != "") {
			t.Errorf("%s at %#x: key %q %v, want %q", tc.name, tc.ptr, d, ok, tc.display)
		}
	}
	if _, ok := MemoryKeyOf("ioctl"); ok {
		t.Error("ioctl's key is in registers")
	}
}
