package extract

import (
	"fmt"
	"go/ast"
	"go/token"
	"io/fs"
	"strconv"
)

// vfs2Default tells whether runsc applies the VFS2 overrides by default
// (the "vfs2" flag's default value) and whether it applies them only when
// the flag is on (conditional) or always. how summarises the evidence.
func vfs2Default(dir fs.FS) (def, conditional bool, how string, err error) {
	found := false
	for _, rel := range []string{"runsc/config/flags.go", "runsc/main.go"} {
		if !exists(dir, rel) {
			continue
		}
		p, err := parseFile(dir, rel)
		if err != nil {
			return false, false, "", err
		}
		ast.Inspect(p.file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || found || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Bool" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if name, _ := strconv.Unquote(lit.Value); name != "vfs2" {
				return true
			}
			if id, ok := call.Args[1].(*ast.Ident); ok && (id.Name == "true" || id.Name == "false") {
				def = id.Name == "true"
				found = true
			}
			return true
		})
		if found {
			how = fmt.Sprintf("%s: vfs2 flag defaults to %t", rel, def)
			break
		}
	}
	if !found {
		return false, false, "", fmt.Errorf("VFS2 overrides present but no vfs2 flag found in runsc")
	}

	rel := "runsc/boot/loader.go"
	p, err := parseFile(dir, rel)
	if err != nil {
		return false, false, "", err
	}
	var stack []ast.Node
	calls := 0
	ast.Inspect(p.file, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Override" {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "vfs2" {
			return true
		}
		calls++
		for _, a := range stack {
			if _, ok := a.(*ast.IfStmt); ok {
				conditional = true
			}
		}
		return true
	})
	if calls == 0 {
		return false, false, "", fmt.Errorf("%s: VFS2 overrides present but runsc never calls vfs2.Override", rel)
	}
	if conditional {
		how += "; " + rel + " applies them only with the flag on"
	} else {
		how += "; " + rel + " always applies them"
	}
	return def, conditional, how, nil
}
