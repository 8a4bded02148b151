// Package extract derives argument rules from gVisor's source (the
// gvisor.dev/gvisor Go module) with go/ast: the cases of the switch
// statements that implement prctl, fcntl, futex, ...; the socket families and
// netlink protocols registered; the socket options and ioctls handled; and
// the /proc, /sys and /dev entries gVisor builds. It never imports gVisor.
package extract

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Tree is one version of gVisor's source.
type Tree struct {
	Dir     string // module root
	Version string
	Arch    sysno.Arch
	fset    *token.FileSet
	files   map[string]*ast.File // by path relative to Dir
	consts  map[string]constant.Value
}

// NewTree opens gVisor's source at dir for one architecture.
func NewTree(dir, version string, arch sysno.Arch) (*Tree, error) {
	if _, err := os.Stat(filepath.Join(dir, "pkg", "sentry")); err != nil {
		return nil, fmt.Errorf("gVisor source %s: %w", dir, err)
	}
	t := &Tree{Dir: dir, Version: version, Arch: arch, fset: token.NewFileSet(), files: map[string]*ast.File{}}
	if err := t.loadConsts(); err != nil {
		return nil, err
	}
	return t, nil
}

// file parses a file relative to the module root (nil if it does not exist).
func (t *Tree) file(rel string) (*ast.File, error) {
	if f, ok := t.files[rel]; ok {
		return f, nil
	}
	src, err := os.ReadFile(filepath.Join(t.Dir, rel))
	if os.IsNotExist(err) {
		t.files[rel] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	f, err := parser.ParseFile(t.fset, rel, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", rel, err)
	}
	t.files[rel] = f
	return f, nil
}

// goFiles lists the non-test Go files of a package directory that build for
// t.Arch.
func (t *Tree) goFiles(reldir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(t.Dir, reldir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", reldir, err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || !t.forArch(n) {
			continue
		}
		out = append(out, filepath.Join(reldir, n))
	}
	sort.Strings(out)
	return out, nil
}

func (t *Tree) forArch(name string) bool {
	base := strings.TrimSuffix(name, ".go")
	for _, a := range []string{"amd64", "arm64", "386", "arm", "riscv64", "ppc64", "ppc64le", "s390x", "mips", "mips64", "loong64"} {
		if strings.HasSuffix(base, "_"+a) {
			return a == string(t.Arch)
		}
	}
	return true
}

// FuncDecl finds a function (or method) by name, case-insensitively, in
// the first of the files that has it; it returns the file it was found in.
func (t *Tree) FuncDecl(name string, files ...string) (*ast.FuncDecl, string, error) {
	for _, rel := range files {
		f, err := t.file(rel)
		if err != nil {
			return nil, "", err
		}
		if f == nil {
			continue
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && strings.EqualFold(fd.Name.Name, name) {
				return fd, rel, nil
			}
		}
	}
	where := "no files"
	if len(files) > 0 {
		where = filepath.Dir(files[0])
		if len(files) > 1 {
			where += "/..."
		}
	}
	return nil, "", fmt.Errorf("%s: function %s not found in %s", t.Version, name, where)
}

// loadConsts evaluates the constants of pkg/abi/linux for t.Arch.
func (t *Tree) loadConsts() error {
	files, err := t.goFiles("pkg/abi/linux")
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no pkg/abi/linux", t.Dir)
	}
	type spec struct {
		expr ast.Expr
		iota int64
	}
	specs := map[string]spec{}
	for _, rel := range files {
		f, err := t.file(rel)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			var last []ast.Expr
			for i, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				if len(vs.Values) > 0 {
					last = vs.Values
				}
				for j, n := range vs.Names {
					if j < len(last) {
						specs[n.Name] = spec{last[j], int64(i)}
					}
				}
			}
		}
	}
	t.consts = map[string]constant.Value{}
	busy := map[string]bool{}
	var eval func(e ast.Expr, iota int64) constant.Value
	eval = func(e ast.Expr, iota int64) constant.Value {
		switch e := e.(type) {
		case *ast.BasicLit:
			return constant.MakeFromLiteral(e.Value, e.Kind, 0)
		case *ast.ParenExpr:
			return eval(e.X, iota)
		case *ast.Ident:
			if e.Name == "iota" {
				return constant.MakeInt64(iota)
			}
			if v, ok := t.consts[e.Name]; ok {
				return v
			}
			s, ok := specs[e.Name]
			if !ok || busy[e.Name] {
				return constant.MakeUnknown()
			}
			busy[e.Name] = true
			v := eval(s.expr, s.iota)
			busy[e.Name] = false
			t.consts[e.Name] = v
			return v
		case *ast.UnaryExpr:
			x := eval(e.X, iota)
			if x.Kind() == constant.Unknown {
				return x
			}
			return constant.UnaryOp(e.Op, x, 0)
		case *ast.BinaryExpr:
			x, y := eval(e.X, iota), eval(e.Y, iota)
			if x.Kind() == constant.Unknown || y.Kind() == constant.Unknown {
				return constant.MakeUnknown()
			}
			switch e.Op {
			case token.SHL, token.SHR:
				s, ok := constant.Uint64Val(y)
				if !ok {
					return constant.MakeUnknown()
				}
				return constant.Shift(x, e.Op, uint(s))
			case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
				return constant.MakeBool(constant.Compare(x, e.Op, y))
			case token.QUO:
				if x.Kind() == constant.Int && y.Kind() == constant.Int {
					return constant.BinaryOp(x, token.QUO_ASSIGN, y)
				}
			}
			return constant.BinaryOp(x, e.Op, y)
		case *ast.CallExpr: // a conversion such as uint32(x) or SockType(1)
			if len(e.Args) == 1 {
				return eval(e.Args[0], iota)
			}
		}
		return constant.MakeUnknown()
	}
	for name, s := range specs {
		if _, done := t.consts[name]; !done {
			busy[name] = true
			t.consts[name] = eval(s.expr, s.iota)
			busy[name] = false
		}
	}
	return nil
}

// Value resolves a constant name as gVisor defines it in pkg/abi/linux,
// falling back to the Linux headers' value.
func (t *Tree) Value(name string) (uint64, bool) {
	if v, ok := t.consts[name]; ok && v.Kind() == constant.Int {
		if u, ok := constant.Uint64Val(v); ok {
			return u, true
		}
		if i, ok := constant.Int64Val(v); ok {
			return uint64(i), true
		}
	}
	return sysargs.Value(t.Arch, name)
}

// constName returns the constant a case expression names ("linux.PR_SET_MM"
// -> "PR_SET_MM"), or "".
func constName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.Ident:
		return e.Name
	case *ast.ParenExpr:
		return constName(e.X)
	case *ast.CallExpr:
		if len(e.Args) == 1 {
			return constName(e.Args[0])
		}
	}
	return ""
}
