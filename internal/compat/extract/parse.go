package extract

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Paths inside the module, relative to its root.
const (
	syscallsPkg = "pkg/sentry/syscalls"
	linuxPkg    = "pkg/sentry/syscalls/linux"
	vfs2Pkg     = "pkg/sentry/syscalls/linux/vfs2"
)

// Result is what one version's source yields.
type Result struct {
	Version compat.Version
	// Tables holds, per arch and variant ("" is the default table), the
	// entries of gVisor's table sorted by number.
	Tables map[sysno.Arch]map[string][]compat.Entry
}

// ctor is one of gVisor's entry constructors (syscalls.Supported, ...).
type ctor struct {
	params  []string
	support compat.Support
}

// parsed is a Go file with its file set, for positions in errors.
type parsed struct {
	fset *token.FileSet
	file *ast.File
	rel  string
}

func parseFile(fsys fs.FS, rel string) (*parsed, error) {
	src, err := fs.ReadFile(fsys, rel)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", rel, err)
	}
	return &parsed{fset: fset, file: f, rel: rel}, nil
}

func (p *parsed) errorf(n ast.Node, format string, args ...any) error {
	pos := p.fset.Position(n.Pos())
	return fmt.Errorf("%s:%d: %s", p.rel, pos.Line, fmt.Sprintf(format, args...))
}

func exists(fsys fs.FS, rel string) bool {
	_, err := fs.Stat(fsys, rel)
	return err == nil
}

// Extract reads the syscall tables of the gVisor source tree at dir.
func Extract(dir string, src Source) (*Result, error) {
	date, err := src.Date()
	if err != nil {
		return nil, err
	}
	res, err := extractFS(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", Module, src.Module, err)
	}
	res.Version.ID = src.Module
	res.Version.Date = date
	res.Version.Tag = src.Tag
	res.Version.Source = Module + "@" + src.Module + ": " + res.Version.Source
	return res, nil
}

// extractFS reads the tables from a module tree.
func extractFS(dir fs.FS) (*Result, error) {
	ctors, err := parseCtors(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	base := map[sysno.Arch]map[int]compat.Entry{}
	for _, name := range []string{"linux64.go", "linux64_amd64.go", "linux64_arm64.go"} {
		rel := linuxPkg + "/" + name
		if !exists(dir, rel) {
			continue
		}
		p, err := parseFile(dir, rel)
		if err != nil {
			return nil, err
		}
		found, err := p.tables(ctors, base)
		if err != nil {
			return nil, err
		}
		if found {
			files = append(files, rel)
		}
	}
	if base[sysno.AMD64] == nil {
		return nil, fmt.Errorf("no AMD64 syscall table found in %s", linuxPkg)
	}

	over := map[sysno.Arch]map[int]*compat.Entry{}
	var overFiles []string
	for _, name := range []string{"vfs2.go", "linux64_override_amd64.go", "linux64_override_arm64.go"} {
		rel := vfs2Pkg + "/" + name
		if !exists(dir, rel) {
			continue
		}
		p, err := parseFile(dir, rel)
		if err != nil {
			return nil, err
		}
		found, err := p.overrides(ctors, over)
		if err != nil {
			return nil, err
		}
		if found {
			overFiles = append(overFiles, rel)
		}
	}

	res := &Result{Tables: map[sysno.Arch]map[string][]compat.Entry{}}
	baseTables := map[sysno.Arch][]compat.Entry{}
	for a, m := range base {
		baseTables[a] = sorted(m)
	}
	if len(overFiles) == 0 {
		for a, t := range baseTables {
			res.Tables[a] = map[string][]compat.Entry{"": t}
		}
		res.Version.Source = strings.Join(files, ", ")
		return res, nil
	}

	// The overrides apply only when runsc calls them, which depends on the
	// vfs2 flag's default and on whether the call is conditional at all.
	def, conditional, how, err := vfs2Default(dir)
	if err != nil {
		return nil, err
	}
	vfs2Tables := map[sysno.Arch][]compat.Entry{}
	for a, m := range base {
		merged := make(map[int]compat.Entry, len(m))
		for n, e := range m {
			merged[n] = e
		}
		for n, e := range over[a] {
			if e == nil {
				delete(merged, n)
			} else {
				merged[n] = *e
			}
		}
		vfs2Tables[a] = sorted(merged)
	}
	for a := range base {
		switch {
		case !conditional:
			res.Tables[a] = map[string][]compat.Entry{"": vfs2Tables[a]}
		case def:
			res.Tables[a] = map[string][]compat.Entry{"": vfs2Tables[a], "--vfs2=false": baseTables[a]}
		default:
			res.Tables[a] = map[string][]compat.Entry{"": baseTables[a], "--vfs2": vfs2Tables[a]}
		}
	}
	switch {
	case !conditional:
	case def:
		res.Version.Variants = []string{"--vfs2=false"}
	default:
		res.Version.Variants = []string{"--vfs2"}
	}
	res.Version.Source = strings.Join(files, ", ") + "; VFS2 overrides " + strings.Join(overFiles, ", ") + " (" + how + ")"
	return res, nil
}

func sorted(m map[int]compat.Entry) []compat.Entry {
	out := make([]compat.Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// parseCtors reads the constructors' parameter names and support levels
// from this version's syscalls.go, so that arguments are bound by name
// whatever order a version used.
func parseCtors(dir fs.FS) (map[string]ctor, error) {
	rel := syscallsPkg + "/syscalls.go"
	p, err := parseFile(dir, rel)
	if err != nil {
		return nil, err
	}
	decls := map[string]*ast.FuncDecl{}
	for _, d := range p.file.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() {
			decls[fd.Name.Name] = fd
		}
	}
	out := map[string]ctor{}
	var level func(name string, depth int) (compat.Support, bool)
	level = func(name string, depth int) (compat.Support, bool) {
		fd := decls[name]
		if fd == nil || fd.Body == nil || depth > 4 {
			return 0, false
		}
		var found *compat.Support
		var via string
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && id.Name == "SupportLevel" {
					if s, ok := n.Value.(*ast.SelectorExpr); ok {
						var v compat.Support
						switch s.Sel.Name {
						case "SupportFull":
							v = compat.Full
						case "SupportPartial":
							v = compat.Partial
						case "SupportUnimplemented":
							v = compat.Unimplemented
						default:
							return true
						}
						found = &v
					}
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && decls[id.Name] != nil && via == "" {
					via = id.Name
				}
			}
			return true
		})
		if found != nil {
			return *found, true
		}
		if via != "" {
			return level(via, depth+1)
		}
		return 0, false
	}
	for name, fd := range decls {
		res := fd.Type.Results
		if res == nil || len(res.List) != 1 {
			continue
		}
		sel, ok := res.List[0].Type.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Syscall" {
			continue
		}
		s, ok := level(name, 0)
		if !ok {
			return nil, p.errorf(fd, "cannot tell the support level %s gives", name)
		}
		var params []string
		for _, f := range fd.Type.Params.List {
			for _, n := range f.Names {
				params = append(params, n.Name)
			}
		}
		out[name] = ctor{params: params, support: s}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no syscall entry constructors found", rel)
	}
	return out, nil
}

// tables adds the AMD64 and ARM64 tables declared in p to base.
func (p *parsed) tables(ctors map[string]ctor, base map[sysno.Arch]map[int]compat.Entry) (bool, error) {
	found := false
	for _, d := range p.file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				var a sysno.Arch
				switch id.Name {
				case "AMD64":
					a = sysno.AMD64
				case "ARM64":
					a = sysno.ARM64
				default:
					continue
				}
				if i >= len(vs.Values) {
					continue
				}
				lit := compositeOf(vs.Values[i])
				if lit == nil {
					return false, p.errorf(vs, "%s is not a SyscallTable literal", id.Name)
				}
				table := tableField(lit)
				if table == nil {
					return false, p.errorf(lit, "%s has no Table field", id.Name)
				}
				if base[a] != nil {
					return false, p.errorf(vs, "%s declared twice", id.Name)
				}
				m := map[int]compat.Entry{}
				for _, el := range table.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						return false, p.errorf(el, "table element is not key: value")
					}
					nr, err := p.intLit(kv.Key)
					if err != nil {
						return false, err
					}
					e, err := p.entry(ctors, kv.Value, nr)
					if err != nil {
						return false, err
					}
					if _, dup := m[nr]; dup {
						return false, p.errorf(kv, "syscall %d listed twice", nr)
					}
					m[nr] = e
				}
				base[a] = m
				found = true
			}
		}
	}
	return found, nil
}

func compositeOf(e ast.Expr) *ast.CompositeLit {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = u.X
	}
	lit, _ := e.(*ast.CompositeLit)
	return lit
}

func tableField(lit *ast.CompositeLit) *ast.CompositeLit {
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "Table" {
			t, _ := kv.Value.(*ast.CompositeLit)
			return t
		}
	}
	return nil
}

// overrides reads VFS2 override assignments ("s.Table[N] = ..." after
// "s := linux.AMD64", or "table[N] = ..." in a per-arch file) into over; a
// nil entry records a deletion.
func (p *parsed) overrides(ctors map[string]ctor, over map[sysno.Arch]map[int]*compat.Entry) (bool, error) {
	var fileArch sysno.Arch
	switch {
	case strings.HasSuffix(p.rel, "_amd64.go"):
		fileArch = sysno.AMD64
	case strings.HasSuffix(p.rel, "_arm64.go"):
		fileArch = sysno.ARM64
	}
	found := false
	for _, d := range p.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "Override" || fd.Body == nil {
			continue
		}
		vars := map[string]sysno.Arch{}
		var err error
		set := func(a sysno.Arch, nr int, e *compat.Entry) {
			if over[a] == nil {
				over[a] = map[int]*compat.Entry{}
			}
			over[a][nr] = e
			found = true
		}
		// target names the arch whose table an expression denotes:
		// "s.Table" (s bound to linux.AMD64), "linux.AMD64.Table", "table".
		target := func(x ast.Expr) (sysno.Arch, bool) {
			switch x := x.(type) {
			case *ast.Ident:
				if fileArch != "" && x.Name == "table" {
					return fileArch, true
				}
			case *ast.SelectorExpr:
				if x.Sel.Name != "Table" {
					return "", false
				}
				switch y := x.X.(type) {
				case *ast.Ident:
					a, ok := vars[y.Name]
					return a, ok
				case *ast.SelectorExpr:
					return archName(y.Sel.Name)
				}
			}
			return "", false
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if err != nil {
				return false
			}
			switch n := n.(type) {
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if i >= len(n.Rhs) {
						break
					}
					if id, ok := lhs.(*ast.Ident); ok {
						if sel, ok := n.Rhs[i].(*ast.SelectorExpr); ok {
							if a, ok := archName(sel.Sel.Name); ok {
								vars[id.Name] = a
							}
						}
						continue
					}
					ix, ok := lhs.(*ast.IndexExpr)
					if !ok {
						continue
					}
					a, ok := target(ix.X)
					if !ok {
						err = p.errorf(n, "override of a table this parser cannot name")
						return false
					}
					nr, e1 := p.intLit(ix.Index)
					if e1 != nil {
						err = e1
						return false
					}
					e, e2 := p.entry(ctors, n.Rhs[i], nr)
					if e2 != nil {
						err = e2
						return false
					}
					set(a, nr, &e)
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "delete" && len(n.Args) == 2 {
					a, ok := target(n.Args[0])
					if !ok {
						err = p.errorf(n, "delete from a table this parser cannot name")
						return false
					}
					nr, e1 := p.intLit(n.Args[1])
					if e1 != nil {
						err = e1
						return false
					}
					set(a, nr, nil)
				}
			}
			return true
		})
		if err != nil {
			return false, err
		}
	}
	return found, nil
}

func archName(s string) (sysno.Arch, bool) {
	switch s {
	case "AMD64":
		return sysno.AMD64, true
	case "ARM64":
		return sysno.ARM64, true
	}
	return "", false
}

func (p *parsed) intLit(e ast.Expr) (int, error) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return 0, p.errorf(e, "syscall number is not an integer literal")
	}
	n, err := strconv.ParseInt(lit.Value, 0, 32)
	if err != nil {
		return 0, p.errorf(e, "syscall number %s: %v", lit.Value, err)
	}
	return int(n), nil
}

// entry turns a constructor call into an Entry, binding its arguments by
// the constructor's parameter names.
func (p *parsed) entry(ctors map[string]ctor, e ast.Expr, nr int) (compat.Entry, error) {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return compat.Entry{}, p.errorf(e, "syscall %d: entry is not a constructor call", nr)
	}
	var fn string
	switch f := call.Fun.(type) {
	case *ast.SelectorExpr:
		fn = f.Sel.Name
	case *ast.Ident:
		fn = f.Name
	}
	c, ok := ctors[fn]
	if !ok {
		return compat.Entry{}, p.errorf(call, "syscall %d: unknown constructor %q", nr, fn)
	}
	if len(call.Args) != len(c.params) {
		return compat.Entry{}, p.errorf(call, "syscall %d: %s takes %d arguments, call has %d", nr, fn, len(c.params), len(call.Args))
	}
	out := compat.Entry{Number: nr, Support: c.support, InTable: true}
	for i, name := range c.params {
		arg := call.Args[i]
		var err error
		switch name {
		case "name":
			out.Name, err = p.str(arg)
		case "note":
			out.Note, err = p.str(arg)
		case "urls":
			out.URLs, err = p.strs(arg)
		case "err":
			out.Errno, err = p.errno(arg)
		case "c":
			var sel *ast.SelectorExpr
			if sel, ok = arg.(*ast.SelectorExpr); ok && strings.HasPrefix(sel.Sel.Name, "CAP_") {
				out.Cap = sel.Sel.Name
			} else {
				err = p.errorf(arg, "syscall %d: capability is not linux.CAP_*", nr)
			}
		}
		if err != nil {
			return compat.Entry{}, err
		}
	}
	if out.Name == "" {
		return compat.Entry{}, p.errorf(call, "syscall %d: no name", nr)
	}
	if out.Cap != "" {
		// CapError: EPERM without the capability, ENOSYS with it.
		out.Errno = "ENOSYS"
	}
	if out.Support == compat.Unimplemented && out.Errno == "" {
		return compat.Entry{}, p.errorf(call, "syscall %d: unimplemented entry without errno", nr)
	}
	return out, nil
}

func (p *parsed) str(e ast.Expr) (string, error) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			if err != nil {
				return "", p.errorf(e, "bad string literal: %v", err)
			}
			return s, nil
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			x, err := p.str(e.X)
			if err != nil {
				return "", err
			}
			y, err := p.str(e.Y)
			if err != nil {
				return "", err
			}
			return x + y, nil
		}
	case *ast.ParenExpr:
		return p.str(e.X)
	}
	return "", p.errorf(e, "not a string constant")
}

func (p *parsed) strs(e ast.Expr) ([]string, error) {
	if id, ok := e.(*ast.Ident); ok && id.Name == "nil" {
		return nil, nil
	}
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil, p.errorf(e, "URLs are not a []string literal")
	}
	var out []string
	for _, el := range lit.Elts {
		s, err := p.str(el)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// errno names the error an Error entry returns: linuxerr.ENOSYS,
// syserror.ENOSYS, syscall.ENODEV, unix.EOPNOTSUPP, ... all become the
// bare errno name.
func (p *parsed) errno(e ast.Expr) (string, error) {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || !strings.HasPrefix(sel.Sel.Name, "E") {
		return "", p.errorf(e, "error is not a package.EXXX errno")
	}
	if alias, ok := errnoAliases[sel.Sel.Name]; ok {
		return alias, nil
	}
	return sel.Sel.Name, nil
}

// errnoAliases folds errno names that are the same number on Linux into
// the name strace prints, so that a rename in gVisor's source is not a
// change of behaviour.
var errnoAliases = map[string]string{
	"ENOTSUP":     "EOPNOTSUPP",
	"EWOULDBLOCK": "EAGAIN",
	"EDEADLOCK":   "EDEADLK",
}
