package extract

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// FuzzCases feeds arbitrary function bodies to the switch classifier: it
// must never panic, whatever Go source a gVisor version holds.
func FuzzCases(f *testing.F) {
	for _, s := range []string{
		"switch option { case linux.PR_SET_NAME: return 0, nil, nil\ncase linux.PR_SET_MM: switch args[1].Int() { case linux.PR_SET_MM_EXE_FILE: x()\ndefault: return 0, nil, linuxerr.EINVAL }\ndefault: return 0, nil, linuxerr.EINVAL }",
		"switch cmd { case linux.A: t.Kernel().EmitUnimplementedEvent(t, sysno)\nfallthrough\ndefault: return 0, nil, linuxerr.ENOSYS }",
		"switch cmd { case linux.A: fallthrough }",
		"switch name { case linux.SO_X: incrementBadSetSocketOptionMetric(t)\nreturn nil\ndefault: if x { return y } }\nlog.Debugf(\"x\")\nreturn nil",
		"switch cmd := args[1].Uint(); cmd { case 1, linux.B: return 0, syserr.ErrNotSupported }",
	} {
		f.Add(s)
	}
	tr := &Tree{Arch: sysno.AMD64, fset: token.NewFileSet()}
	f.Fuzz(func(t *testing.T, body string) {
		file, err := parser.ParseFile(tr.fset, "f.go", "package p\nfunc F() {\n"+body+"\n}\n", 0)
		if err != nil || len(file.Decls) == 0 {
			return
		}
		fd, ok := file.Decls[len(file.Decls)-1].(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			return
		}
		for _, tag := range []string{"option", "cmd", "name", "args[1].Int()"} {
			sws, tails := findSwitches(fd.Body, tag)
			for i, sw := range sws {
				tr.Cases(sw, tails[i], map[string]string{"PR_SET_MM": "args[1].Int()"})
			}
		}
		rejectedFlags(fd.Body)
		conditionalFlags(fd.Body)
	})
}
