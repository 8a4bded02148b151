package extract

import (
	"fmt"
	"go/ast"
	"go/token"

	"github.com/gvcheck/gvcheck/internal/rules"
)

// flagMask is a syscall whose gVisor implementation rejects flags outside
// an allowed set ("if flags&^(A|B) != 0 { return EINVAL }"), with the
// flags Linux defines for that argument: those outside the set are rules.
type flagMask struct {
	syscall, fn string
	flags       []string
	// optional: versions without the function (or the check) are not an
	// error, only a warning.
	optional bool
}

var flagMasks = []flagMask{
	{syscall: "mremap", fn: "Mremap", flags: []string{"MREMAP_MAYMOVE", "MREMAP_FIXED", "MREMAP_DONTUNMAP"}},
	// include/uapi/linux/memfd.h. gVisor has memfd_create since 2019, in
	// VFS2's files from 2020 on.
	{syscall: "memfd_create", fn: "MemfdCreate", optional: true,
		flags: []string{"MFD_CLOEXEC", "MFD_ALLOW_SEALING", "MFD_HUGETLB", "MFD_NOEXEC_SEAL", "MFD_EXEC"}},
}

// flagMasks derives a Bit rule per flag of every flagMask.
func (t *Tree) flagMasks(res *Result) error {
	files, err := t.syscallFiles()
	if err != nil {
		return err
	}
	for _, fm := range flagMasks {
		allowed, errno, src, err := t.allowedFlags(fm.fn, files)
		if err != nil {
			if fm.optional {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %v", fm.syscall, err))
				continue
			}
			return err
		}
		for _, n := range fm.flags {
			v, ok := t.Value(n)
			if !ok {
				continue
			}
			r := rules.Rule{Syscall: fm.syscall, Key: n, Values: []uint64{v}, Bit: true, Supported: allowed[n], Source: src}
			if !allowed[n] {
				r.Errno, r.Note = errno, "gVisor rejects this flag"
			}
			res.Rules = append(res.Rules, r)
		}
	}
	return nil
}

// allowedFlags finds fn's first "x&^MASK != 0" test that returns an errno,
// and returns the constants MASK names (through package-level constants
// such as memfdAllFlags) and the errno.
func (t *Tree) allowedFlags(fn string, files []string) (map[string]bool, string, string, error) {
	fd, file, err := t.FuncDecl(fn, files...)
	if err != nil {
		return nil, "", "", err
	}
	var mask ast.Expr
	errno := ""
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		is, ok := n.(*ast.IfStmt)
		if !ok || errno != "" {
			return errno == ""
		}
		m := andNotMask(is.Cond)
		if m == nil {
			return true
		}
		for _, s := range is.Body.List {
			if r, ok := s.(*ast.ReturnStmt); ok {
				if e := errnoOf(r); e != "" {
					errno, mask = e, m
				}
			}
		}
		return errno == ""
	})
	if errno == "" {
		return nil, "", "", fmt.Errorf("%s: %s: no flag check found", file, fn)
	}
	allowed := map[string]bool{}
	t.maskNames(mask, files, allowed, 0)
	return allowed, errno, rel(file) + ":" + fd.Name.Name, nil
}

// andNotMask returns MASK of a condition "x&^MASK != 0", or nil.
func andNotMask(cond ast.Expr) ast.Expr {
	be, ok := cond.(*ast.BinaryExpr)
	if !ok || be.Op != token.NEQ {
		return nil
	}
	if lit, ok := be.Y.(*ast.BasicLit); !ok || lit.Value != "0" {
		return nil
	}
	x := be.X
	for {
		p, ok := x.(*ast.ParenExpr)
		if !ok {
			break
		}
		x = p.X
	}
	and, ok := x.(*ast.BinaryExpr)
	if !ok || and.Op != token.AND_NOT {
		return nil
	}
	return and.Y
}

// maskNames adds the linux.* constants e names to out, following
// identifiers to the package-level constants of files that define them.
func (t *Tree) maskNames(e ast.Expr, files []string, out map[string]bool, depth int) {
	if depth > 8 {
		return
	}
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && x.Name == "linux" {
				out[n.Sel.Name] = true
			}
			return false
		case *ast.Ident:
			if v := t.packageConst(n.Name, files); v != nil {
				t.maskNames(v, files, out, depth+1)
			}
		}
		return true
	})
}

// packageConst returns the value expression of the package-level constant
// name in files, or nil.
func (t *Tree) packageConst(name string, files []string) ast.Expr {
	for _, rel := range files {
		f, err := t.file(rel)
		if err != nil || f == nil {
			continue
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for j, id := range vs.Names {
					if id.Name == name && j < len(vs.Values) {
						return vs.Values[j]
					}
				}
			}
		}
	}
	return nil
}
