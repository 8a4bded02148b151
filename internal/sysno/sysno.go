// Package sysno maps Linux syscall names to numbers and back for x86_64 and
// aarch64. Both tables are compiled into every build so that evidence taken
// on one architecture can be checked against either.
package sysno

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Arch is a syscall ABI, named as Go names it.
type Arch string

const (
	AMD64 Arch = "amd64"
	ARM64 Arch = "arm64"
)

// Arches lists the supported architectures.
var Arches = []Arch{AMD64, ARM64}

// Host returns the architecture gvcheck was built for, or AMD64 elsewhere.
func Host() Arch {
	if runtime.GOARCH == "arm64" {
		return ARM64
	}
	return AMD64
}

// ParseArch accepts Go's and the kernel's names (amd64/x86_64, arm64/aarch64).
func ParseArch(s string) (Arch, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "amd64", "x86_64", "x86-64", "x64":
		return AMD64, nil
	case "arm64", "aarch64":
		return ARM64, nil
	}
	return "", fmt.Errorf("unknown architecture %q (want amd64 or arm64)", s)
}

// Kernel returns the architecture as the kernel and strace name it.
func (a Arch) Kernel() string {
	if a == ARM64 {
		return "aarch64"
	}
	return "x86_64"
}

type table struct {
	byNum  map[int]string
	byName map[string]int
	max    int
}

var tables = map[Arch]*table{
	AMD64: newTable(amd64Names, map[string]string{
		// gVisor's tables and its 2020 documentation call 156 "sysctl".
		"sysctl": "_sysctl",
	}),
	ARM64: newTable(arm64Names, map[string]string{
		// strace prints these as the generic names of the asm-generic ABI.
		"fstatat": "newfstatat",
	}),
}

func newTable(names map[int]string, aliases map[string]string) *table {
	t := &table{byNum: names, byName: make(map[string]int, len(names)+len(aliases))}
	for n, name := range names {
		t.byName[name] = n
		if n > t.max {
			t.max = n
		}
	}
	for alias, canon := range aliases {
		if n, ok := t.byName[canon]; ok {
			t.byName[alias] = n
		}
	}
	return t
}

func tableFor(a Arch) *table {
	if t, ok := tables[a]; ok {
		return t
	}
	return tables[AMD64]
}

// Name returns the syscall's name, or strace's spelling of an unknown
// number ("syscall_0x1b7") so that it still round-trips through Number.
func Name(a Arch, nr int) string {
	if name, ok := tableFor(a).byNum[nr]; ok {
		return name
	}
	return UnknownName(nr)
}

// UnknownName is strace's name for a syscall number it cannot name.
func UnknownName(nr int) string {
	return "syscall_0x" + strconv.FormatInt(int64(nr), 16)
}

// Known reports whether arch has a syscall numbered nr.
func Known(a Arch, nr int) bool {
	_, ok := tableFor(a).byNum[nr]
	return ok
}

// Number returns the syscall number for a name, accepting aliases and the
// unknown-number spellings of strace ("syscall_0x1b7", "syscall_439") and
// gVisor ("sys_439").
func Number(a Arch, name string) (int, bool) {
	if n, ok := tableFor(a).byName[name]; ok {
		return n, true
	}
	var digits string
	base := 10
	switch {
	case strings.HasPrefix(name, "syscall_0x"):
		digits, base = name[len("syscall_0x"):], 16
	case strings.HasPrefix(name, "syscall_"):
		digits = name[len("syscall_"):]
	case strings.HasPrefix(name, "sys_"):
		digits = name[len("sys_"):]
	default:
		return 0, false
	}
	n, err := strconv.ParseUint(digits, base, 31)
	if err != nil || digits == "" {
		return 0, false
	}
	return int(n), true
}

// Canonical returns the table's name for name (resolving aliases and numeric
// spellings), or name itself when it is not a syscall of a.
func Canonical(a Arch, name string) string {
	if n, ok := Number(a, name); ok {
		return Name(a, n)
	}
	return name
}

// Numbers returns every named syscall number of a, ascending.
func Numbers(a Arch) []int {
	t := tableFor(a)
	nums := make([]int, 0, len(t.byNum))
	for n := range t.byNum {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	return nums
}

// Max returns the highest named syscall number of a.
func Max(a Arch) int { return tableFor(a).max }
