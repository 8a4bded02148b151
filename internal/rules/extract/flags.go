package extract

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"

	"github.com/gvcheck/gvcheck/internal/rules"
)

// Namespace and sharing flags keyed by clone, clone3 and unshare.
var nsFlags = []string{"CLONE_NEWNS", "CLONE_NEWCGROUP", "CLONE_NEWUTS", "CLONE_NEWIPC", "CLONE_NEWUSER",
	"CLONE_NEWPID", "CLONE_NEWNET", "CLONE_NEWTIME"}

var unshareFlags = append([]string{"CLONE_FILES", "CLONE_FS", "CLONE_SYSVSEM", "CLONE_THREAD", "CLONE_SIGHAND", "CLONE_VM"}, nsFlags...)

// cloneFlags derives clone/clone3/unshare flag rules from
// pkg/sentry/kernel/task_clone.go: Task.Clone rejects flags outside
// SupportedCloneFlags with EINVAL (newer versions); older versions act only
// on the flags they reference, so others are accepted and ignored. Unshare
// likewise, plus its explicit rejections ("if flags&(A|B) != 0 { return
// EINVAL }").
func (t *Tree) cloneFlags(res *Result) error {
	rel := "pkg/sentry/kernel/task_clone.go"
	f, err := t.file(rel)
	if err != nil || f == nil {
		return fmt.Errorf("%s: %v", rel, err)
	}
	supported := map[string]bool{}
	hasSupported := false
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, s := range gd.Specs {
			vs, ok := s.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for i, n := range vs.Names {
				if n.Name == "SupportedCloneFlags" && i < len(vs.Values) {
					hasSupported = true
					for k := range refs(vs.Values[i]) {
						supported[k] = true
					}
				}
			}
		}
	}
	clone, _, err := t.FuncDecl("Clone", rel)
	if err != nil {
		return err
	}
	cloneRefs := refs(clone.Body)
	cond := conditionalFlags(clone.Body)
	for _, sys := range []string{"clone", "clone3"} {
		for _, n := range nsFlags {
			if sys == "clone" && n == "CLONE_NEWTIME" {
				continue // shares its bit with the exit signal in clone(2)
			}
			v, ok := t.Value(n)
			if !ok {
				continue
			}
			r := rules.Rule{Syscall: sys, Key: n, Values: []uint64{v}, Bit: true, Source: rel + ":Task.Clone"}
			switch {
			case hasSupported && !supported[n]:
				r.Errno, r.Note = "EINVAL", "not in SupportedCloneFlags"
			case hasSupported || cloneRefs[n]:
				r.Supported = true
			default:
				r.Ignored, r.Note = true, "accepted but ignored: no namespace is created"
			}
			if c, ok := cond[n]; ok && r.Supported {
				r.Note = "fails with " + c.errno + " in some configurations (see source)"
				if c.byDefault {
					r.Supported, r.Errno = false, c.errno
					r.Note = "fails with " + c.errno + " unless a cgroup2 filesystem is mounted in the sandbox"
				}
			}
			res.Rules = append(res.Rules, r)
		}
	}
	un, _, err := t.FuncDecl("Unshare", rel)
	if err != nil {
		return err
	}
	unRefs := refs(un.Body)
	rejected := rejectedFlags(un.Body)
	cond = conditionalFlags(un.Body)
	for _, n := range unshareFlags {
		v, ok := t.Value(n)
		if !ok {
			continue
		}
		r := rules.Rule{Syscall: "unshare", Key: n, Values: []uint64{v}, Bit: true, Source: rel + ":Task.Unshare"}
		switch {
		case rejected[n] != "":
			r.Errno, r.Note = rejected[n], "rejected by gVisor"
		case unRefs[n]:
			r.Supported = true
			if c, ok := cond[n]; ok {
				r.Note = "fails with " + c.errno + " in some configurations (see source)"
				if c.byDefault {
					r.Supported, r.Errno = false, c.errno
					r.Note = "fails with " + c.errno + " unless a cgroup2 filesystem is mounted in the sandbox"
				}
			}
		default:
			r.Ignored, r.Note = true, "accepted but ignored"
		}
		res.Rules = append(res.Rules, r)
	}
	return nil
}

// rejectedFlags finds "if flags&(A|B) != 0 { return ..., EXXX }" with no
// other condition: those flags always fail.
func rejectedFlags(body *ast.BlockStmt) map[string]string {
	out := map[string]string{}
	for _, s := range body.List {
		is, ok := s.(*ast.IfStmt)
		if !ok || len(is.Body.List) == 0 {
			continue
		}
		be, ok := is.Cond.(*ast.BinaryExpr)
		if !ok || be.Op != token.NEQ || render(be.Y) != "0" {
			continue
		}
		and, ok := be.X.(*ast.BinaryExpr)
		if !ok || and.Op != token.AND {
			continue
		}
		ret, ok := is.Body.List[len(is.Body.List)-1].(*ast.ReturnStmt)
		if !ok {
			continue
		}
		if e := errnoOf(ret); e != "" {
			for k := range refs(and.Y) {
				out[k] = e
			}
		}
	}
	return out
}

// conditionalFlags finds flags that fail only under a further condition
// ("if !cgroupMounted && flags&CLONE_NEWCGROUP != 0 { return EINVAL }").
type condFail struct {
	errno     string
	byDefault bool // the condition holds in runsc's default configuration
}

func conditionalFlags(body *ast.BlockStmt) map[string]condFail {
	out := map[string]condFail{}
	for _, s := range body.List {
		is, ok := s.(*ast.IfStmt)
		if !ok || len(is.Body.List) == 0 {
			continue
		}
		be, ok := is.Cond.(*ast.BinaryExpr)
		if !ok || be.Op != token.LAND {
			continue
		}
		ret, ok := is.Body.List[len(is.Body.List)-1].(*ast.ReturnStmt)
		if !ok {
			continue
		}
		if e := errnoOf(ret); e != "" {
			// Failing unless a cgroup2 filesystem was ever mounted is the
			// default: runsc does not mount one unless the container does.
			byDefault := strings.Contains(render(is.Cond), "Cgroup")
			for k := range refs(is.Cond) {
				if strings.HasPrefix(k, "CLONE_") && !out[k].byDefault {
					out[k] = condFail{errno: e, byDefault: byDefault}
				}
			}
		}
	}
	return out
}

// fallocate: Fallocate rejects any mode but 0 ("if mode != 0 { return
// ENOTSUP }" in pkg/sentry/syscalls/linux/sys_file.go).
func (t *Tree) fallocate(res *Result) error {
	files, err := t.syscallFiles()
	if err != nil {
		return err
	}
	fd, file, err := t.FuncDecl("Fallocate", files...)
	if err != nil {
		return err
	}
	errno := ""
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		is, ok := n.(*ast.IfStmt)
		if ok && render(is.Cond) == "mode != 0" && errno == "" {
			for _, s := range is.Body.List {
				if r, ok := s.(*ast.ReturnStmt); ok {
					errno = errnoOf(r)
				}
			}
		}
		return errno == ""
	})
	if errno == "" {
		return fmt.Errorf("%s: Fallocate: no \"mode != 0\" check found", file)
	}
	src := rel(file) + ":Fallocate"
	res.Rules = append(res.Rules, rules.Rule{Syscall: "fallocate", Key: "0", Values: []uint64{0}, Bit: true, Supported: true, Source: src})
	for _, n := range []string{"FALLOC_FL_KEEP_SIZE", "FALLOC_FL_PUNCH_HOLE", "FALLOC_FL_NO_HIDE_STALE", "FALLOC_FL_COLLAPSE_RANGE",
		"FALLOC_FL_ZERO_RANGE", "FALLOC_FL_INSERT_RANGE", "FALLOC_FL_UNSHARE_RANGE", "FALLOC_FL_WRITE_ZEROES"} {
		if v, ok := t.Value(n); ok {
			res.Rules = append(res.Rules, rules.Rule{Syscall: "fallocate", Key: n, Values: []uint64{v}, Bit: true, Errno: errno,
				Note: "gVisor supports only mode 0", Source: src})
		}
	}
	return nil
}

// rlimits: only the resources in setableLimits (sys_rlimit.go) may be
// changed; others fail with EPERM. limits.FromLinuxResource maps RLIMIT_*
// names to the limit types setableLimits lists.
func (t *Tree) rlimits(res *Result) error {
	files, err := t.syscallFiles()
	if err != nil {
		return err
	}
	var setable map[string]bool
	var src string
	for _, rel := range files {
		f, err := t.file(rel)
		if err != nil {
			return err
		}
		if f == nil {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || len(vs.Names) == 0 || vs.Names[0].Name != "setableLimits" || len(vs.Values) == 0 {
				return true
			}
			setable, src = map[string]bool{}, rel+":setableLimits"
			if cl, ok := vs.Values[0].(*ast.CompositeLit); ok {
				for _, e := range cl.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						setable[constName(kv.Key)] = true
					}
				}
			}
			return false
		})
		if setable != nil {
			break
		}
	}
	if setable == nil {
		return fmt.Errorf("setableLimits not found")
	}
	lf, err := t.file("pkg/sentry/limits/linux.go")
	if err != nil || lf == nil {
		return fmt.Errorf("pkg/sentry/limits/linux.go: %v", err)
	}
	found := false
	ast.Inspect(lf, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) == 0 || vs.Names[0].Name != "FromLinuxResource" || len(vs.Values) == 0 {
			return true
		}
		cl, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			return false
		}
		found = true
		for _, e := range cl.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			name := constName(kv.Key)
			v, ok := t.Value(name)
			if !ok {
				continue
			}
			for _, sys := range []string{"setrlimit", "prlimit64"} {
				r := rules.Rule{Syscall: sys, Key: name, Values: []uint64{v}, Supported: true, Source: src}
				if !setable[constName(kv.Value)] {
					r.Supported, r.Errno, r.Note = false, "EPERM", "gVisor does not let this limit be changed"
				}
				res.Rules = append(res.Rules, r)
			}
		}
		return false
	})
	if !found {
		return fmt.Errorf("limits.FromLinuxResource not found")
	}
	return nil
}

// mmapFlags: the key of mmap holds only unusual flags; those Mmap
// (sys_mmap.go) references are implemented, the others accepted and
// ignored. MAP_SHARED_VALIDATE fails: Mmap requires exactly one of
// MAP_PRIVATE and MAP_SHARED (curated from that check).
func (t *Tree) mmapFlags(res *Result) error {
	files, err := t.syscallFiles()
	if err != nil {
		return err
	}
	fd, file, err := t.FuncDecl("Mmap", files...)
	if err != nil {
		return err
	}
	src := rel(file) + ":Mmap"
	used := refs(fd.Body)
	names := []string{"MAP_GROWSDOWN", "MAP_LOCKED", "MAP_NONBLOCK", "MAP_HUGETLB", "MAP_SYNC", "MAP_FIXED_NOREPLACE", "MAP_UNINITIALIZED"}
	if t.Arch == "amd64" {
		names = append(names, "MAP_32BIT")
	}
	for _, n := range names {
		v, ok := t.Value(n)
		if !ok {
			continue
		}
		r := rules.Rule{Syscall: "mmap", Key: n, Values: []uint64{v}, Bit: true, Supported: used[n], Source: src}
		if !used[n] {
			r.Ignored, r.Note = true, "accepted but ignored"
		}
		res.Rules = append(res.Rules, r)
	}
	res.Rules = append(res.Rules, rules.Rule{Syscall: "mmap", Key: "MAP_SHARED_VALIDATE", Values: []uint64{3}, Bit: true,
		Errno: "EINVAL", Note: "gVisor requires exactly one of MAP_PRIVATE and MAP_SHARED", Source: src + " (curated)"})
	return nil
}

// personaNames names personality(2) flag bits (include/uapi/linux/personality.h).
var personaNames = []string{"UNAME26", "ADDR_NO_RANDOMIZE", "FDPIC_FUNCPTRS", "MMAP_PAGE_ZERO", "ADDR_COMPAT_LAYOUT",
	"READ_IMPLIES_EXEC", "ADDR_LIMIT_32BIT", "SHORT_INODE", "WHOLE_SECONDS", "STICKY_TIMEOUTS", "ADDR_LIMIT_3GB"}

// personality: Personality (sys_personality.go) accepts only the bits of
// its allowedPersonalityBits constant and fails with EINVAL otherwise; the
// key is the requested personality, judged bit by bit.
func (t *Tree) personality(res *Result) error {
	files, err := t.syscallFiles()
	if err != nil {
		return err
	}
	fd, file, err := t.FuncDecl("Personality", files...)
	if err != nil {
		res.Warnings = append(res.Warnings, err.Error())
		return nil // older versions: the syscall table decides
	}
	var allowed uint64
	found, errno := false, ""
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && strings.Contains(vs.Names[0].Name, "allowed") && len(vs.Values) == 1 {
			found = true
			for name := range refs(vs.Values[0]) {
				if v, ok := t.Value(name); ok {
					allowed |= v
				}
			}
		}
		if is, ok := n.(*ast.IfStmt); ok && strings.Contains(render(is.Cond), "allowed") {
			for _, s := range is.Body.List {
				if r, ok := s.(*ast.ReturnStmt); ok && errnoOf(r) != "" {
					errno = errnoOf(r)
				}
			}
		}
		return true
	})
	if !found || errno == "" {
		return fmt.Errorf("%s: Personality: no allowed-bits check found", file)
	}
	names := map[uint64]string{}
	for _, n := range personaNames {
		if v, ok := t.Value(n); ok {
			names[v] = n
		}
	}
	src := rel(file) + ":Personality"
	res.Rules = append(res.Rules, rules.Rule{Syscall: "personality", Key: "PER_LINUX", Values: []uint64{0}, Bit: true, Supported: true, Source: src})
	for bit := uint64(1); bit <= 1<<31; bit <<= 1 {
		name := names[bit]
		if name == "" {
			name = fmt.Sprintf("%#x", bit)
		}
		r := rules.Rule{Syscall: "personality", Key: name, Values: []uint64{bit}, Bit: true, Supported: allowed&bit != 0, Source: src}
		if !r.Supported {
			r.Errno, r.Note = errno, "gVisor accepts only PER_LINUX, PER_BSD, PER_HPUX, SHORT_INODE and WHOLE_SECONDS bits"
		}
		res.Rules = append(res.Rules, r)
	}
	return nil
}
