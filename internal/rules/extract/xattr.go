package extract

import (
	"fmt"
	"go/ast"

	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysargs"
)

// xattrWriters are the calls that set or remove an extended attribute,
// keyed by the attribute's namespace (sysargs).
var xattrWriters = []string{"setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr"}

// Where gVisor decides which attribute namespaces may be written: the VFS's
// common check (2023 on), the gofer's own (host files, from 2021), and
// before those the VFS1 syscalls and the filesystems, which took user.* only.
const (
	vfsPermissions = "pkg/sentry/vfs/permissions.go"
	goferFile      = "pkg/sentry/fsimpl/gofer/gofer.go"
	vfs1Xattr      = "pkg/sentry/syscalls/linux/sys_xattr.go"
)

var xattrPrefixes = map[string]string{"security.": "XATTR_SECURITY_PREFIX", "trusted.": "XATTR_TRUSTED_PREFIX", "system.": "XATTR_SYSTEM_PREFIX"}

// xattrs derives which attribute namespaces gVisor refuses to write where
// Linux writes them. Writes to security.* fail with EOPNOTSUPP in every
// version (Linux lets a security module or the filesystem take them);
// security.capability, file capabilities, is let through from the version
// whose VFS check says so; the oldest versions took user.* alone.
func (t *Tree) xattrs(res *Result) error {
	refuse := map[string]string{} // attribute name → where the refusal is
	capabilityOK := ""
	if fd, _, err := t.FuncDecl("CheckXattrPermissions", vfsPermissions); err == nil {
		for _, cc := range caseClauses(fd.Body) {
			if !mentions(cc.List, "XATTR_SECURITY_PREFIX") || !returnsErrno(cc.Body, "EOPNOTSUPP") {
				continue
			}
			refuse["security."] = vfsPermissions + ":CheckXattrPermissions"
			if mentions(cc.Body, "XATTR_SECURITY_CAPABILITY") {
				capabilityOK = vfsPermissions + ":CheckXattrPermissions"
			}
		}
	}
	if len(refuse) == 0 {
		for _, file := range []string{goferFile, vfs1Xattr} {
			f, err := t.file(file)
			if err != nil {
				return err
			}
			if f == nil {
				continue
			}
			for _, is := range ifStmts(f) {
				if !returnsErrno(is.Body.List, "EOPNOTSUPP") {
					continue
				}
				switch {
				case negatedPrefix(is.Cond, "XATTR_USER_PREFIX"):
					// Only user.* is taken: every other namespace fails.
					for _, ns := range []string{"security.", "trusted.", "system."} {
						if refuse[ns] == "" {
							refuse[ns] = file
						}
					}
				default:
					for ns, prefix := range xattrPrefixes {
						if mentions(is.Cond, prefix) && refuse[ns] == "" {
							refuse[ns] = file
						}
					}
				}
			}
		}
	}
	if len(refuse) == 0 {
		res.Warnings = append(res.Warnings, "xattrs: no refused attribute namespace found")
		return nil
	}
	add := func(name string, r rules.Rule) error {
		key, vals, ok := sysargs.XattrKey(name)
		if !ok {
			return fmt.Errorf("xattrs: %q has no key", name)
		}
		for _, sys := range xattrWriters {
			r.Syscall, r.Key, r.Values = sys, key, vals
			res.Rules = append(res.Rules, r)
		}
		return nil
	}
	for _, ns := range []string{"security.", "trusted.", "system."} {
		src := refuse[ns]
		if src == "" {
			continue
		}
		note := "gVisor does not write attributes in the " + ns + "* namespace"
		if ns == "security." && capabilityOK != "" {
			note += " (security.capability aside)"
		}
		if err := add(ns, rules.Rule{Errno: "EOPNOTSUPP", Note: note, Source: src}); err != nil {
			return err
		}
	}
	if refuse["security."] != "" {
		r := rules.Rule{Errno: "EOPNOTSUPP", Note: "gVisor does not write file capabilities", Source: refuse["security."]}
		if capabilityOK != "" {
			r = rules.Rule{Supported: true, Note: "file capabilities are written to files of the sandbox's own filesystems, not to host files without an overlay", Source: capabilityOK}
		}
		if err := add("security.capability", r); err != nil {
			return err
		}
	}
	return nil
}

// caseClauses lists the case clauses of the switches in body.
func caseClauses(body ast.Node) []*ast.CaseClause {
	var out []*ast.CaseClause
	ast.Inspect(body, func(n ast.Node) bool {
		if cc, ok := n.(*ast.CaseClause); ok {
			out = append(out, cc)
		}
		return true
	})
	return out
}

func ifStmts(f *ast.File) []*ast.IfStmt {
	var out []*ast.IfStmt
	ast.Inspect(f, func(n ast.Node) bool {
		if is, ok := n.(*ast.IfStmt); ok {
			out = append(out, is)
		}
		return true
	})
	return out
}

// mentions reports whether any of nodes (an ast.Node or a slice of
// expressions or statements) names the identifier or selector name.
func mentions(nodes any, name string) bool {
	found := false
	visit := func(n ast.Node) {
		ast.Inspect(n, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Ident:
				found = found || x.Name == name
			case *ast.SelectorExpr:
				found = found || x.Sel.Name == name
			}
			return !found
		})
	}
	switch ns := nodes.(type) {
	case ast.Node:
		visit(ns)
	case []ast.Expr:
		for _, n := range ns {
			visit(n)
		}
	case []ast.Stmt:
		for _, n := range ns {
			visit(n)
		}
	}
	return found
}

// returnsErrno reports whether stmts return errno, directly or in a nested
// statement.
func returnsErrno(stmts []ast.Stmt, errno string) bool {
	found := false
	for _, s := range stmts {
		ast.Inspect(s, func(n ast.Node) bool {
			if r, ok := n.(*ast.ReturnStmt); ok && errnoOf(r) == errno {
				found = true
			}
			return !found
		})
	}
	return found
}

// negatedPrefix reports whether cond is !strings.HasPrefix(..., PREFIX).
func negatedPrefix(cond ast.Expr, prefix string) bool {
	u, ok := cond.(*ast.UnaryExpr)
	if !ok || u.Op.String() != "!" {
		return false
	}
	call, ok := u.X.(*ast.CallExpr)
	if !ok || len(call.Args) != 2 {
		return false
	}
	if se, ok := call.Fun.(*ast.SelectorExpr); !ok || se.Sel.Name != "HasPrefix" {
		return false
	}
	return mentions(call.Args[1], prefix)
}
