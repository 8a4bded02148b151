package isolate

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo.
type mount struct {
	id, parent int
	point      string // mount point
	root       string // root of the mount within its filesystem
	fstype     string
	readOnly   bool
}

// parseMountinfo reads /proc/PID/mountinfo (proc(5)).
func parseMountinfo(r io.Reader) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			return nil, fmt.Errorf("mountinfo: no separator in %q", line)
		}
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if len(f) < 6 || len(g) < 1 {
			return nil, fmt.Errorf("mountinfo: short line %q", line)
		}
		id, err1 := strconv.Atoi(f[0])
		parent, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("mountinfo: bad ids in %q", line)
		}
		m := mount{id: id, parent: parent, root: unescape(f[3]), point: unescape(f[4]), fstype: g[0]}
		for _, o := range strings.Split(f[5], ",") {
			if o == "ro" {
				m.readOnly = true
			}
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mountinfo: %w", err)
	}
	return out, nil
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// kernelFS are filesystems whose contents the kernel makes up: a run sees
// them as they are (bound, with everything mounted below them), as a
// container runtime mounts them. Writes to them are not data a later run
// would trip over.
var kernelFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "mqueue": true,
	"cgroup": true, "cgroup2": true, "securityfs": true, "debugfs": true, "tracefs": true,
	"pstore": true, "bpf": true, "configfs": true, "fusectl": true, "hugetlbfs": true,
	"binfmt_misc": true, "autofs": true, "efivarfs": true, "rpc_pipefs": true, "nsfs": true,
	"selinuxfs": true, "nfsd": true,
}

// action is what Enter does for one mount of the host.
type action int

const (
	// overlayMount: an overlay with the host mount as its lower layer.
	overlayMount action = iota
	// bindTree: a recursive bind, for kernel filesystems.
	bindTree
	// bindReadOnly: a read-only bind, for read-only filesystems (and those
	// overlayfs cannot stack on, such as FUSE).
	bindReadOnly
)

// step is one mount to make in the new root, in order.
type step struct {
	point  string // mount point, as on the host
	action action
}

// plan decides how each host mount appears in the isolated root: parents
// before children, everything under a recursively bound tree skipped
// (except /dev/shm, which holds data and is overlaid on top of /dev).
func plan(ms []mount) []step {
	// Stacked mounts: the last one listed is on top; a bind or an overlay
	// of the point sees that one.
	top := map[string]int{}
	for i, m := range ms {
		top[m.point] = i
	}
	var uniq []mount
	for i, m := range ms {
		if top[m.point] == i && m.point != "/" {
			uniq = append(uniq, m)
		}
	}
	slices.SortStableFunc(uniq, func(a, b mount) int {
		return cmp.Compare(depth(a.point), depth(b.point))
	})
	var out []step
	var trees []string // recursively bound mount points
	for _, m := range uniq {
		under := slices.ContainsFunc(trees, func(t string) bool { return within(m.point, t) })
		switch {
		case under && m.point == "/dev/shm" && !m.readOnly:
			out = append(out, step{m.point, overlayMount})
		case under:
		case kernelFS[m.fstype]:
			trees = append(trees, m.point)
			out = append(out, step{m.point, bindTree})
		case m.readOnly || strings.HasPrefix(m.fstype, "fuse"):
			out = append(out, step{m.point, bindReadOnly})
		default:
			out = append(out, step{m.point, overlayMount})
		}
	}
	return out
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}
