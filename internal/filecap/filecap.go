// Package filecap reads file capabilities (the security.capability extended
// attribute) and names Linux capabilities. gVisor's sandbox holds fewer
// capabilities than root on the host; exec of a program whose file
// capabilities exceed them fails with EPERM.
package filecap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// names are the Linux capabilities by bit number (linux/capability.h).
var names = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// Name returns the name of capability bit n ("CAP_12" if unknown).
func Name(n int) string {
	if n >= 0 && n < len(names) {
		return names[n]
	}
	return fmt.Sprintf("CAP_%d", n)
}

// Number returns the bit of a capability name, with or without its CAP_
// prefix, in any case.
func Number(name string) (int, bool) {
	n := strings.ToUpper(name)
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for i, c := range names {
		if c == n {
			return i, true
		}
	}
	return 0, false
}

// Caps are a file's capabilities.
type Caps struct {
	Permitted   []string
	Inheritable []string
	// Effective: the capabilities are raised at exec; Linux (and gVisor)
	// then refuse the exec with EPERM if any permitted one cannot be granted.
	Effective bool
	// RootID is the namespace root of a version 3 attribute.
	RootID uint32
}

// vfs_cap_data layout (linux/capability.h).
const (
	revisionMask   = 0xFF000000
	flagEffective  = 0x000001
	revision1      = 0x01000000
	revision2      = 0x02000000
	revision3      = 0x03000000
	sizeRevision1  = 4 + 8
	sizeRevision23 = 4 + 16
)

// Parse decodes a security.capability value.
func Parse(b []byte) (Caps, error) {
	if len(b) < 4 {
		return Caps{}, fmt.Errorf("file capability: %d bytes, too short", len(b))
	}
	magic := binary.LittleEndian.Uint32(b)
	var words int
	switch magic & revisionMask {
	case revision1:
		if len(b) != sizeRevision1 {
			return Caps{}, fmt.Errorf("file capability v1: %d bytes, want %d", len(b), sizeRevision1)
		}
		words = 1
	case revision2:
		if len(b) != sizeRevision23 {
			return Caps{}, fmt.Errorf("file capability v2: %d bytes, want %d", len(b), sizeRevision23)
		}
		words = 2
	case revision3:
		if len(b) != sizeRevision23+4 {
			return Caps{}, fmt.Errorf("file capability v3: %d bytes, want %d", len(b), sizeRevision23+4)
		}
		words = 2
	default:
		return Caps{}, fmt.Errorf("file capability: unknown revision 0x%x", magic&revisionMask)
	}
	c := Caps{Effective: magic&flagEffective != 0}
	for w := 0; w < words; w++ {
		perm := binary.LittleEndian.Uint32(b[4+8*w:])
		inh := binary.LittleEndian.Uint32(b[8+8*w:])
		for bit := 0; bit < 32; bit++ {
			if perm&(1<<bit) != 0 {
				c.Permitted = append(c.Permitted, Name(32*w+bit))
			}
			if inh&(1<<bit) != 0 {
				c.Inheritable = append(c.Inheritable, Name(32*w+bit))
			}
		}
	}
	if magic&revisionMask == revision3 {
		c.RootID = binary.LittleEndian.Uint32(b[sizeRevision23:])
	}
	return c, nil
}

// Read returns the file capabilities of path; ok is false when it has none.
func Read(path string) (c Caps, ok bool, err error) {
	buf := make([]byte, 64)
	n, err := unix.Getxattr(path, "security.capability", buf)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.EOPNOTSUPP) {
		return Caps{}, false, nil
	}
	if err != nil {
		return Caps{}, false, fmt.Errorf("read file capabilities of %s: %w", path, err)
	}
	c, err = Parse(buf[:n])
	if err != nil {
		return Caps{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return c, true, nil
}
