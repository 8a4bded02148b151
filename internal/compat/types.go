// Package compat is gvcheck's embedded gVisor compatibility database: for
// each embedded gVisor version and architecture, how gVisor's syscall table
// treats every syscall number.
package compat

import (
	"fmt"
	"time"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Support is how far gVisor implements a syscall.
type Support int

const (
	// Full: gVisor implements the syscall (Supported in its table).
	Full Support = iota
	// Partial: implemented, but not for every argument or feature.
	Partial
	// Unimplemented: the syscall fails (Error, ErrorWithEvent, CapError, or
	// absent from the table).
	Unimplemented
)

func (s Support) String() string {
	switch s {
	case Full:
		return "full"
	case Partial:
		return "partial"
	case Unimplemented:
		return "unimplemented"
	}
	return fmt.Sprintf("support(%d)", int(s))
}

// ParseSupport reads the String form.
func ParseSupport(s string) (Support, error) {
	switch s {
	case "full", "supported":
		return Full, nil
	case "partial":
		return Partial, nil
	case "unimplemented", "unsupported":
		return Unimplemented, nil
	}
	return 0, fmt.Errorf("unknown support level %q (want full, partial or unimplemented)", s)
}

// MarshalText lets Support appear by name in JSON.
func (s Support) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (s *Support) UnmarshalText(b []byte) error {
	v, err := ParseSupport(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Entry is gVisor's treatment of one syscall number.
type Entry struct {
	Number  int     `json:"number"`
	Name    string  `json:"name"`
	Support Support `json:"support"`
	// Errno is what an unimplemented syscall returns ("ENOSYS", "ENODEV",
	// "EOPNOTSUPP", ...). For CapError it is the result with the capability.
	Errno string `json:"errno,omitempty"`
	// Cap is set for CapError entries: without this capability gVisor
	// returns EPERM, with it Errno.
	Cap  string   `json:"cap,omitempty"`
	Note string   `json:"note,omitempty"`
	URLs []string `json:"urls,omitempty"`
	// InTable is false when the number is absent from gVisor's table and
	// handled by its Missing function (ENOSYS).
	InTable bool `json:"in_table"`
}

// Version is one embedded gVisor version.
type Version struct {
	// ID is the gvisor.dev/gvisor module version, or a name such as
	// "docs-2020-04-23" for data that does not come from the module.
	ID   string    `json:"id"`
	Date time.Time `json:"date"`
	// Tag is the newest gVisor release tag the version contains.
	Tag string `json:"tag,omitempty"`
	// Source says where the table was read from.
	Source string `json:"source"`
	// NamesOnly is true for versions known only as a list of unimplemented
	// names (the 2020 documentation): no errnos, notes or partial levels.
	NamesOnly bool `json:"names_only,omitempty"`
	// Variants lists the runsc options that select another table in this
	// version (e.g. "--vfs2" where the VFS2 overrides were not the default).
	Variants []string `json:"variants,omitempty"`
}

// Table is one gVisor syscall table: a version, an architecture and, where
// the version had more than one, the variant its runsc options select.
type Table struct {
	Version Version    `json:"version"`
	Arch    sysno.Arch `json:"arch"`
	Variant string     `json:"variant,omitempty"`
	entries map[int]Entry
}
