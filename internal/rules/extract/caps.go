package extract

import (
	"fmt"
	"go/ast"
	"sort"
	"strings"

	"github.com/gvcheck/gvcheck/internal/rules"
)

// capabilities derives the capability sets a sandboxed process starts with:
// "runsc do" grants every capability runsc knows (runsc/cmd/do.go:
// specutils.AllCapabilities, i.e. the keys of specutils.capFromName), and
// the spec "runsc spec" writes grants its Bounding list (runsc/cmd/spec.go).
// specutils.Capabilities strips CAP_NET_RAW from both unless --net-raw.
func (t *Tree) capabilities(res *Result) error {
	specutils := "runsc/specutils/specutils.go"
	f, err := t.file(specutils)
	if err != nil || f == nil {
		return fmt.Errorf("%s: %v", specutils, err)
	}
	var all []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) == 0 || vs.Names[0].Name != "capFromName" || len(vs.Values) == 0 {
			return true
		}
		if cl, ok := vs.Values[0].(*ast.CompositeLit); ok {
			for _, e := range cl.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if s, ok := stringLit(kv.Key); ok {
						all = append(all, s)
					}
				}
			}
		}
		return false
	})
	if len(all) == 0 {
		return fmt.Errorf("%s: capFromName not found", specutils)
	}
	sort.Strings(all)
	stripsRaw := false
	if fd, _, err := t.FuncDecl("Capabilities", specutils); err == nil {
		stripsRaw = refs(fd.Body)["CAP_NET_RAW"]
	}
	var spec []string
	if sf, err := t.file("runsc/cmd/spec.go"); err == nil && sf != nil {
		ast.Inspect(sf, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok || spec != nil {
				return spec == nil
			}
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "Bounding" {
				if cl, ok := kv.Value.(*ast.CompositeLit); ok {
					spec = []string{}
					for _, e := range cl.Elts {
						if s, ok := stringLit(e); ok {
							spec = append(spec, s)
						}
					}
				}
			}
			return true
		})
	}
	raw := ""
	if stripsRaw {
		raw = "--net-raw"
	}
	res.Caps = rules.CapDefaults{Do: all, Spec: spec, NetRawFlag: raw,
		Source: "runsc/cmd/do.go:AllCapabilities, runsc/cmd/spec.go, " + specutils + ":Capabilities"}
	return nil
}

// mremapFlags: Mremap rejects flags outside an allowed set ("if
// flags&^(MREMAP_MAYMOVE|MREMAP_FIXED) != 0 { return EINVAL }").
func (t *Tree) mremapFlags(res *Result) error {
	files, err := t.syscallFiles()
	if err != nil {
		return err
	}
	fd, file, err := t.FuncDecl("Mremap", files...)
	if err != nil {
		return err
	}
	allowed, errno := map[string]bool{}, ""
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		is, ok := n.(*ast.IfStmt)
		if !ok || errno != "" || !strings.Contains(render(is.Cond), "&^") {
			return true
		}
		for _, s := range is.Body.List {
			if r, ok := s.(*ast.ReturnStmt); ok {
				errno = errnoOf(r)
			}
		}
		if errno != "" {
			allowed = refs(is.Cond)
		}
		return errno == ""
	})
	if errno == "" {
		return fmt.Errorf("%s: Mremap: no flag check found", file)
	}
	src := rel(file) + ":Mremap"
	for _, n := range []string{"MREMAP_MAYMOVE", "MREMAP_FIXED", "MREMAP_DONTUNMAP"} {
		v, ok := t.Value(n)
		if !ok {
			continue
		}
		r := rules.Rule{Syscall: "mremap", Key: n, Values: []uint64{v}, Bit: true, Supported: allowed[n], Source: src}
		if !allowed[n] {
			r.Errno, r.Note = errno, "gVisor rejects this flag"
		}
		res.Rules = append(res.Rules, r)
	}
	return nil
}
