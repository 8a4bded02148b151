package extract

import (
	"fmt"
	"go/ast"
	"go/token"
	"path"
	"sort"
	"strings"

	"github.com/gvcheck/gvcheck/internal/rules"
)

// pathRoots are the kernfs constructors whose map literals name the static
// entries of a directory (nested literals are subdirectories).
var pathRoots = []struct {
	file, fn, dir string
	rootKey       string // only literals with this key (the root one)
}{
	{"pkg/sentry/fsimpl/proc/tasks.go", "newTasksInode", "/proc", ""},
	{"pkg/sentry/fsimpl/proc/task.go", "newTaskInode", "/proc/[pid]", ""},
	{"pkg/sentry/fsimpl/proc/tasks_sys.go", "newSysDir", "/proc/sys", ""},
	{"pkg/sentry/fsimpl/proc/tasks_sys.go", "newSysNetDir", "/proc/sys/net", ""},
	{"pkg/sentry/fsimpl/proc/task_net.go", "newTaskNetDir", "/proc/[pid]/net", ""},
	{"pkg/sentry/fsimpl/sys/sys.go", "GetFilesystem", "/sys", "kernel"},
}

// deviceFiles register the /dev nodes of the default configuration
// (GPU/TPU/RDMA proxies need runsc flags and are left out).
var deviceFiles = []string{
	"pkg/sentry/devices/memdev/memdev.go", "pkg/sentry/devices/ttydev/ttydev.go",
	"pkg/sentry/devices/tundev/tundev.go", "pkg/sentry/fsimpl/fuse/register.go", "pkg/sentry/fsimpl/dev/dev.go",
	"pkg/sentry/fsimpl/devtmpfs/devtmpfs.go", "pkg/sentry/fsimpl/fuse/dev.go",
}

func (t *Tree) paths(res *Result) error {
	got := map[string]rules.Path{}
	add := func(p string, dir bool, src string) {
		if old, ok := got[p]; ok {
			dir = dir || old.Dir
			src = old.Source
		}
		got[p] = rules.Path{Path: p, Dir: dir, Source: src}
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			if _, ok := got[d]; !ok {
				got[d] = rules.Path{Path: d, Dir: true, Source: src}
			} else if !got[d].Dir {
				pd := got[d]
				pd.Dir = true
				got[d] = pd
			}
		}
	}
	for _, r := range pathRoots {
		fd, file, err := t.FuncDecl(r.fn, r.file)
		if err != nil {
			return err
		}
		src := r.file + ":" + r.fn
		f, _ := t.file(file)
		w := &mapWalker{t: t, file: f, vars: map[string]*ast.CompositeLit{}, prefix: map[string]string{}, add: add, src: src,
			// sysfs adds entries under if only for runsc options (TPU,
			// RDMA, kcov, product name); procfs's conditions hold by default.
			skipConditional: strings.HasPrefix(r.dir, "/sys")}
		w.collectVars(fd.Body)
		w.prefix["contents"] = r.dir
		bound := map[*ast.CompositeLit]bool{}
		for _, cl := range w.vars {
			bound[cl] = true
		}
		var lits []*ast.CompositeLit
		ast.Inspect(fd.Body, func(nd ast.Node) bool {
			if cl, ok := nd.(*ast.CompositeLit); ok && isStringMap(cl) {
				if !bound[cl] && (r.rootKey == "" || hasKey(cl, r.rootKey)) {
					lits = append(lits, cl)
				}
				return false // nested literals are walked with their parent
			}
			return true
		})
		if vl, ok := w.vars["contents"]; ok {
			lits = append(lits, vl)
		}
		for _, cl := range lits {
			w.walk(cl, r.dir)
		}
		w.assignments(fd.Body)
		if w.n == 0 {
			return fmt.Errorf("%s: no entries found", src)
		}
	}
	// /proc/self and /proc/thread-self are symlinks the proc root adds
	// itself (tasks.go: Lookup).
	add("/proc/self", true, "pkg/sentry/fsimpl/proc/tasks.go:Lookup")
	add("/proc/thread-self", true, "pkg/sentry/fsimpl/proc/tasks.go:Lookup")
	for _, rel := range deviceFiles {
		f, err := t.file(rel)
		if err != nil {
			return err
		}
		if f == nil {
			continue
		}
		ast.Inspect(f, func(nd ast.Node) bool {
			switch nd := nd.(type) {
			case *ast.KeyValueExpr:
				if id, ok := nd.Key.(*ast.Ident); ok && (id.Name == "Pathname" || id.Name == "source") {
					if s, ok := stringLit(nd.Value); ok {
						add("/dev/"+s, false, rel)
					}
				}
			case *ast.CallExpr:
				// Older versions: dev.CreateDeviceFile(ctx, "tty", ...).
				if se, ok := nd.Fun.(*ast.SelectorExpr); ok && se.Sel.Name == "CreateDeviceFile" && len(nd.Args) > 1 {
					if s, ok := stringLit(nd.Args[1]); ok {
						add("/dev/"+s, false, rel)
					}
				}
			case *ast.CompositeLit:
				// memdev's table {nullDevice{}, "null"} or {minor: "null"};
				// the userspace setup's []string{"shm", "pts"}.
				if strings.HasSuffix(rel, "memdev.go") || isStringSlice(nd) {
					for _, e := range nd.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok {
							if _, isMap := nd.Type.(*ast.MapType); !isMap {
								continue // a struct field such as GroupName: "mem"
							}
							e = kv.Value
						}
						if s, ok := stringLit(e); ok && !strings.ContainsAny(s, " %/") && s != "" {
							add("/dev/"+s, isStringSlice(nd), rel)
						}
					}
				}
			}
			return true
		})
	}
	if _, ok := got["/dev/null"]; !ok {
		return fmt.Errorf("/dev/null not found: device layout unknown")
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		res.Paths = append(res.Paths, got[k])
	}
	return nil
}

func isStringMap(cl *ast.CompositeLit) bool {
	mt, ok := cl.Type.(*ast.MapType)
	if !ok {
		return false
	}
	id, ok := mt.Key.(*ast.Ident)
	return ok && id.Name == "string"
}

func isStringSlice(cl *ast.CompositeLit) bool {
	at, ok := cl.Type.(*ast.ArrayType)
	if !ok {
		return false
	}
	id, ok := at.Elt.(*ast.Ident)
	return ok && id.Name == "string"
}

// mapWalker walks nested string-keyed map literals as directories. Maps
// bound to variables (task.go: nsEntries; sys.go: classSub, kernelSub :=
// kernelDir(...)) are walked where the variable is used, and
// x["name"] = ... assignments add to the directory x fills.
type mapWalker struct {
	t      *Tree
	file   *ast.File
	vars   map[string]*ast.CompositeLit // maps bound to variables
	prefix map[string]string            // variable -> directory it fills
	add    func(string, bool, string)
	src    string
	n      int

	skipConditional bool
}

// conditional lists the nodes inside if statements of body.
func conditional(body ast.Node) map[ast.Node]bool {
	out := map[ast.Node]bool{}
	ast.Inspect(body, func(nd ast.Node) bool {
		if is, ok := nd.(*ast.IfStmt); ok {
			ast.Inspect(is.Body, func(x ast.Node) bool {
				if x != nil {
					out[x] = true
				}
				return true
			})
			if is.Else != nil {
				ast.Inspect(is.Else, func(x ast.Node) bool {
					if x != nil {
						out[x] = true
					}
					return true
				})
			}
		}
		return true
	})
	return out
}

func (w *mapWalker) collectVars(body *ast.BlockStmt) {
	ast.Inspect(body, func(nd ast.Node) bool {
		as, ok := nd.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		id, ok := as.Lhs[0].(*ast.Ident)
		if !ok {
			return true
		}
		switch rhs := as.Rhs[0].(type) {
		case *ast.CompositeLit:
			if isStringMap(rhs) {
				w.vars[id.Name] = rhs
			}
		case *ast.CallExpr:
			if cl := w.funcMap(rhs); cl != nil {
				w.vars[id.Name] = cl
			} else if fn, ok := rhs.Fun.(*ast.Ident); ok && fn.Name == "make" {
				w.vars[id.Name] = &ast.CompositeLit{}
			}
		}
		return true
	})
}

// funcMap returns the first string-keyed map literal of a same-file
// function a call invokes (kernelDir(ctx, fs, creds), cpuDir(...)).
func (w *mapWalker) funcMap(c *ast.CallExpr) *ast.CompositeLit {
	id, ok := c.Fun.(*ast.Ident)
	if !ok || w.file == nil {
		return nil
	}
	for _, d := range w.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != id.Name || fd.Recv != nil || fd.Body == nil {
			continue
		}
		var found *ast.CompositeLit
		cond := map[ast.Node]bool{}
		if w.skipConditional {
			cond = conditional(fd.Body)
		}
		ast.Inspect(fd.Body, func(nd ast.Node) bool {
			if cl, ok := nd.(*ast.CompositeLit); ok && isStringMap(cl) && found == nil && !cond[cl] {
				found = cl
			}
			return found == nil
		})
		return found
	}
	return nil
}

// children finds the maps an entry's value expression fills a directory
// with: nested literals, map variables, and same-file builder functions.
func (w *mapWalker) children(e ast.Expr, dir string) []*ast.CompositeLit {
	var out []*ast.CompositeLit
	ast.Inspect(e, func(nd ast.Node) bool {
		switch nd := nd.(type) {
		case *ast.CompositeLit:
			if isStringMap(nd) {
				out = append(out, nd)
				return false
			}
		case *ast.Ident:
			if v, ok := w.vars[nd.Name]; ok {
				if _, seen := w.prefix[nd.Name]; !seen {
					w.prefix[nd.Name] = dir
					out = append(out, v)
				}
			}
		case *ast.CallExpr:
			if cl := w.funcMap(nd); cl != nil {
				out = append(out, cl)
			}
		}
		return true
	})
	return out
}

func (w *mapWalker) walk(cl *ast.CompositeLit, dir string) {
	for _, e := range cl.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		name, ok := stringLit(kv.Key)
		if !ok {
			continue
		}
		p := dir + "/" + name
		nested := w.children(kv.Value, p)
		w.add(p, len(nested) > 0 || looksLikeDir(kv.Value), w.src)
		w.n++
		for _, c := range nested {
			w.walk(c, p)
		}
	}
}

// assignments applies x["name"] = value for variables whose directory is
// known, until nothing changes (devicesSub["system"] = newDir(systemSub)).
func (w *mapWalker) assignments(body *ast.BlockStmt) {
	done := map[*ast.AssignStmt]bool{}
	cond := map[ast.Node]bool{}
	if w.skipConditional {
		cond = conditional(body)
	}
	for changed := true; changed; {
		changed = false
		ast.Inspect(body, func(nd ast.Node) bool {
			as, ok := nd.(*ast.AssignStmt)
			if !ok || done[as] || cond[as] || as.Tok != token.ASSIGN || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
				return true
			}
			ix, ok := as.Lhs[0].(*ast.IndexExpr)
			if !ok {
				return true
			}
			id, _ := ix.X.(*ast.Ident)
			name, isStr := stringLit(ix.Index)
			if id == nil || !isStr {
				return true
			}
			dir, ok := w.prefix[id.Name]
			if !ok {
				return true
			}
			done[as] = true
			changed = true
			p := dir + "/" + name
			nested := w.children(as.Rhs[0], p)
			w.add(p, len(nested) > 0 || looksLikeDir(as.Rhs[0]), w.src)
			w.n++
			for _, c := range nested {
				w.walk(c, p)
			}
			return true
		})
	}
}

// looksLikeDir: kernfs directories are built by functions named *Dir*
// (newStaticDir, newDir, newTaskOwnedDir, newSubtasks, newFDDirInode, ...).
func looksLikeDir(e ast.Expr) bool {
	dir := false
	ast.Inspect(e, func(nd ast.Node) bool {
		if c, ok := nd.(*ast.CallExpr); ok {
			name := ""
			switch f := c.Fun.(type) {
			case *ast.SelectorExpr:
				name = f.Sel.Name
			case *ast.Ident:
				name = f.Name
			}
			if strings.Contains(name, "Dir") || strings.Contains(name, "Subtasks") {
				dir = true
			}
		}
		return !dir
	})
	return dir
}

// Roots are the trees the path rules describe.
var Roots = []string{"/proc", "/sys", "/dev"}

func hasKey(cl *ast.CompositeLit, key string) bool {
	for _, e := range cl.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if s, ok := stringLit(kv.Key); ok && s == key {
				return true
			}
		}
	}
	return false
}
