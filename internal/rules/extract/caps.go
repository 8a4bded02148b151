package extract

import (
	"fmt"
	"go/ast"
	"sort"

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
