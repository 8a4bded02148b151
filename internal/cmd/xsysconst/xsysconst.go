// Package xsysconst reads integer constants from the generated source files
// of golang.org/x/sys/unix, for gvcheck's generators: parsing them gives
// every architecture's values in every build, which importing cannot.
package xsysconst

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

// Const is one named integer constant.
type Const struct {
	Name  string
	Value uint64
}

// Module locates a module of the current build: its directory and version.
func Module(path string) (dir, version string, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}\t{{.Version}}", path).Output()
	if err != nil {
		return "", "", fmt.Errorf("locate %s: %w", path, err)
	}
	dir, version, ok := strings.Cut(strings.TrimSpace(string(out)), "\t")
	if !ok || dir == "" {
		return "", "", fmt.Errorf("locate %s: unexpected go list output %q", path, out)
	}
	return dir, version, nil
}

// Parse returns the integer constants of file whose names want accepts,
// sorted by name.
func Parse(file string, want func(name string) bool) ([]Const, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	var res []Const
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i >= len(vs.Values) || !want(n.Name) {
					continue
				}
				if v, ok := literal(vs.Values[i]); ok {
					res = append(res, Const{n.Name, v})
				}
			}
		}
	}
	sort.Slice(res, func(i, j int) bool { return res[i].Name < res[j].Name })
	return res, nil
}

// literal accepts an integer literal, possibly wrapped in a conversion such
// as syscall.Signal(0x11).
func literal(e ast.Expr) (uint64, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.INT {
			return 0, false
		}
		v, err := strconv.ParseUint(e.Value, 0, 64)
		return v, err == nil
	case *ast.CallExpr:
		if len(e.Args) == 1 {
			return literal(e.Args[0])
		}
	}
	return 0, false
}
