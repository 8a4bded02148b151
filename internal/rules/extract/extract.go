package extract

import (
	"fmt"
	"go/ast"
	"go/token"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gvcheck/gvcheck/internal/rules"
)

// Result is everything derived from one Tree.
type Result struct {
	Rules    []rules.Rule
	Paths    []rules.Path
	Caps     rules.CapDefaults
	Warnings []string // cases whose constants could not be resolved, extractors that found nothing
}

// Extract runs every extractor. An extractor that fails is an error: the
// caller asked for a version whose layout the extractors do not know.
func (t *Tree) Extract() (*Result, error) {
	if err := t.loadSyserr(); err != nil {
		return nil, err
	}
	res := &Result{}
	for _, x := range []struct {
		name string
		fn   func(*Result) error
	}{
		{"switches", t.switches},
		{"sockets", t.sockets},
		{"sockopts", t.sockopts},
		{"ioctls", t.ioctls},
		{"clone", t.cloneFlags},
		{"fallocate", t.fallocate},
		{"rlimits", t.rlimits},
		{"mmap", t.mmapFlags},
		{"flag masks", t.flagMasks},
		{"capabilities", t.capabilities},
		{"rseq", t.rseq},
		{"personality", t.personality},
		{"xattrs", t.xattrs},
		{"netlink route", t.routeMessages},
		{"curated", t.curated},
		{"paths", t.paths},
	} {
		if err := x.fn(res); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", t.Version, x.name, err)
		}
	}
	sort.SliceStable(res.Rules, func(i, j int) bool {
		a, b := res.Rules[i], res.Rules[j]
		if a.Syscall != b.Syscall {
			return a.Syscall < b.Syscall
		}
		return lessValues(a.Values, b.Values)
	})
	return res, nil
}

func lessValues(a, b []uint64) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// syscallDirs are where syscall implementations live, in the order the
// version's default configuration uses them: from 2022-01 to 2022-11 the
// VFS2 implementations in vfs2/ were the default, before that VFS1's.
func (t *Tree) syscallFiles() ([]string, error) {
	linux, err := t.goFiles("pkg/sentry/syscalls/linux")
	if err != nil {
		return nil, err
	}
	vfs2, err := t.goFiles("pkg/sentry/syscalls/linux/vfs2")
	if err != nil {
		return nil, err
	}
	if t.vfs2Default() {
		return append(vfs2, linux...), nil
	}
	return append(linux, vfs2...), nil
}

func (t *Tree) vfs2Default() bool {
	// Module versions are v0.0.0-YYYYMMDDhhmmss-hash.
	parts := strings.Split(t.Version, "-")
	return len(parts) == 3 && parts[1] >= "20220121000000"
}

type switchSpec struct {
	syscall, fn string
	tags        []string          // switch tags, as rendered, tried in order
	sub         map[string]string // case name -> nested switch tag to descend into
	optional    bool              // absent from older versions
}

var switchSpecs = []switchSpec{
	{syscall: "prctl", fn: "Prctl", tags: []string{"option", "args[0].Int()"}, sub: map[string]string{"PR_SET_MM": "args[1].Int()"}},
	{syscall: "arch_prctl", fn: "ArchPrctl", tags: []string{"args[0].Int()"}},
	{syscall: "fcntl", fn: "Fcntl", tags: []string{"cmd"}},
	{syscall: "futex", fn: "Futex", tags: []string{"cmd"}},
	{syscall: "madvise", fn: "Madvise", tags: []string{"adv"}},
	{syscall: "membarrier", optional: true, fn: "Membarrier", tags: []string{"cmd"}},
	{syscall: "shmctl", optional: true, fn: "Shmctl", tags: []string{"cmd"}},
	{syscall: "semctl", optional: true, fn: "Semctl", tags: []string{"cmd"}},
	{syscall: "msgctl", optional: true, fn: "Msgctl", tags: []string{"cmd"}},
	{syscall: "keyctl", optional: true, fn: "Keyctl", tags: []string{"args[0].Int()", "cmd", "op"}},
}

func (t *Tree) switches(res *Result) error {
	files, err := t.syscallFiles()
	if err != nil {
		return err
	}
	for _, s := range switchSpecs {
		if s.syscall == "arch_prctl" && t.Arch != "amd64" {
			continue // aarch64 has no arch_prctl
		}
		fd, file, err := t.FuncDecl(s.fn, files...)
		if err != nil {
			if s.optional {
				res.Warnings = append(res.Warnings, err.Error())
				continue
			}
			return err
		}
		var sws []*ast.SwitchStmt
		var tails [][]ast.Stmt
		for _, tag := range s.tags {
			if sws, tails = findSwitches(fd.Body, tag); sws != nil {
				break
			}
		}
		if sws == nil {
			return fmt.Errorf("%s: no switch on %v in %s", file, s.tags, s.fn)
		}
		src := rel(file) + ":" + s.fn
		// Shmctl, Msgctl, ... switch on cmd twice in a row: the first
		// (without default) takes some commands, the second the rest.
		hasDefault := false
		for i, sw := range sws {
			for _, c := range t.Cases(sw, tails[i], s.sub) {
				if c.Names == nil {
					if i < len(sws)-1 {
						continue
					}
					hasDefault = true
				}
				res.Rules = append(res.Rules, t.caseRules(res, s.syscall, nil, c, src)...)
			}
		}
		if !hasDefault {
			// Values no case names continue after the switch (Keyctl:
			// "return ENOSYS").
			last := len(sws) - 1
			res.Rules = append(res.Rules, outcomeRule(s.syscall, "(other)", nil, outcomeOf(tails[last], nil), src))
		}
	}
	return nil
}

// caseRules turns one switch case into rules, prefix being the values of
// the enclosing case for nested switches.
func (t *Tree) caseRules(res *Result, syscall string, prefix []uint64, c Case, src string) []rules.Rule {
	var out []rules.Rule
	if c.Names == nil {
		r := outcomeRule(syscall, "(other)", prefix, c.Outcome, src)
		if prefix != nil {
			r.Key = "(other)"
		}
		return []rules.Rule{r}
	}
	for _, n := range c.Names {
		v, ok := t.Value(n)
		if !ok {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %s: unknown constant %s", src, syscall, n))
			continue
		}
		vals := append(append([]uint64{}, prefix...), v)
		out = append(out, outcomeRule(syscall, n, vals, c.Outcome, src))
		for _, sc := range c.Sub {
			for _, r := range t.caseRules(res, syscall, vals, sc, src) {
				r.Key = n + "," + r.Key
				out = append(out, r)
			}
		}
	}
	return out
}

func outcomeRule(syscall, key string, vals []uint64, o Outcome, src string) rules.Rule {
	r := rules.Rule{Syscall: syscall, Key: key, Values: vals, Supported: o.Supported, Ignored: o.Ignored, Errno: o.Errno, Source: src}
	switch {
	case o.Ignored:
		r.Note = "accepted but not implemented: the call succeeds without effect"
	case o.Supported && o.Unimpl:
		r.Note = "partially implemented: gVisor reports some uses as unimplemented"
	case !o.Supported && o.Unimpl:
		r.Note = "gVisor reports this as unimplemented"
	}
	return r
}

func rel(path string) string { return filepath.ToSlash(path) }

// stringLit returns the value of a string literal.
func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s := bl.Value
	if len(s) >= 2 {
		return s[1 : len(s)-1], true
	}
	return "", false
}

// refs collects the constant names referenced as linux.X in n.
func refs(n ast.Node) map[string]bool {
	out := map[string]bool{}
	ast.Inspect(n, func(nd ast.Node) bool {
		if se, ok := nd.(*ast.SelectorExpr); ok {
			if x, ok := se.X.(*ast.Ident); ok && x.Name == "linux" {
				out[se.Sel.Name] = true
			}
		}
		return true
	})
	return out
}
