//go:build linux

package simulate

import (
	"encoding/binary"
	"path"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/sysargs"
)

// Directories gVisor synthesises list only what it provides: /sys/block is
// empty there, so a program that walks it finds no device to ask about. A
// simulation that hid the entries but still listed them would send the
// program after files it would never look for under gVisor. The
// supervisor therefore answers getdents on such directories itself, with
// the entries gVisor would list.

// listing is one directory being read through the supervisor.
type listing struct {
	dir     string
	entries [][]byte // linux_dirent64 records, in order
	next    int
}

// listings tracks directories being listed, by thread and descriptor.
type listings struct {
	mu sync.Mutex
	m  map[[2]int]*listing
}

const direntHeader = 19 // d_ino, d_off, d_reclen, d_type

// listDir answers a getdents64 call on a synthesised directory with the
// entries gVisor provides; ok is false to let the call run as it is
// (another kind of directory, nothing hidden, or an error).
func (s *Supervisor) listDir(fd int, n *policy.Notification) (policy.Answer, bool) {
	dirfd := int(int32(n.Args[0]))
	buf, size := uintptr(n.Args[1]), int(uint32(n.Args[2]))
	key := [2]int{n.Tid, dirfd}
	proc := "/proc/" + strconv.Itoa(n.Tid) + "/fd/" + strconv.Itoa(dirfd)
	dir, err := readlink(proc)
	if err != nil || !path.IsAbs(dir) || !sysargs.SynthesizedPath(dir) {
		return policy.Answer{}, false
	}
	s.lists.mu.Lock()
	l := s.lists.m[key]
	s.lists.mu.Unlock()
	if l == nil || l.dir != dir {
		all, hidden, err := s.readDir(proc, dir)
		if err != nil || hidden == 0 {
			return policy.Answer{}, false
		}
		l = &listing{dir: dir, entries: all}
		s.lists.mu.Lock()
		if s.lists.m == nil {
			s.lists.m = map[[2]int]*listing{}
		}
		s.lists.m[key] = l
		s.lists.mu.Unlock()
	}
	var out []byte
	for l.next < len(l.entries) && len(out)+len(l.entries[l.next]) <= size {
		rec := l.entries[l.next]
		binary.LittleEndian.PutUint64(rec[8:], uint64(l.next+1)) // d_off: a cookie
		out = append(out, rec...)
		l.next++
	}
	if len(out) == 0 {
		if l.next < len(l.entries) {
			return policy.Answer{Errno: unix.EINVAL}, true // buffer too small
		}
		// The end: forget it, so a rewind lists it again.
		s.lists.mu.Lock()
		delete(s.lists.m, key)
		s.lists.mu.Unlock()
		return policy.Answer{Val: 0}, true
	}
	if !policy.Valid(fd, n.ID) || writeMem(n.Tid, buf, out) != nil {
		return policy.Answer{}, false
	}
	return policy.Answer{Val: int64(len(out))}, true
}

// readDir lists dir (opened as proc, the program's own descriptor seen
// through /proc) and keeps the entries gVisor provides; hidden counts the
// others.
func (s *Supervisor) readDir(proc, dir string) (kept [][]byte, hidden int, err error) {
	fd, err := unix.Open(proc, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 64*1024)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return nil, 0, err
		}
		if n == 0 {
			return kept, hidden, nil
		}
		for off := 0; off < n; {
			reclen := int(binary.LittleEndian.Uint16(buf[off+16:]))
			if reclen < direntHeader || off+reclen > n {
				return nil, 0, unix.EINVAL
			}
			rec := buf[off : off+reclen]
			name := unix.ByteSliceToString(rec[direntHeader:])
			off += reclen
			if name != "." && name != ".." && s.absent(path.Join(dir, name)) {
				hidden++
				continue
			}
			kept = append(kept, append([]byte(nil), rec...))
		}
	}
}

// absent reports whether the simulation hides p, counting it against the
// difference that covers it.
func (s *Supervisor) absent(p string) bool {
	norm := NormalPath(p)
	if i, ok := s.pathDifference(norm); ok {
		s.hits[i].Add(1)
		return true
	}
	if s.other >= 0 && s.provided != nil && !s.coveredOff(norm) && !s.provided(denormal(norm)) {
		s.otherHit(norm)
		return true
	}
	return false
}

// writeMem writes b into process tid's memory at addr.
func writeMem(tid int, addr uintptr, b []byte) error {
	local := []unix.Iovec{{Base: &b[0], Len: uint64(len(b))}}
	remote := []unix.RemoteIovec{{Base: addr, Len: len(b)}}
	n, err := unix.ProcessVMWritev(tid, local, remote, 0)
	if err != nil {
		return err
	}
	if n != len(b) {
		return unix.EFAULT
	}
	return nil
}
