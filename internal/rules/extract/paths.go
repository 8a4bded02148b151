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
	assigns       bool   // also contents["name"] = ... assignments in the function
	rootKey       string // only literals with this key (the root one)
}{
	{"pkg/sentry/fsimpl/proc/tasks.go", "newTasksInode", "/proc", true, ""},
	{"pkg/sentry/fsimpl/proc/task.go", "newTaskInode", "/proc/[pid]", true, ""},
	{"pkg/sentry/fsimpl/proc/tasks_sys.go", "newSysDir", "/proc/sys", false, ""},
	{"pkg/sentry/fsimpl/proc/tasks_sys.go", "newSysNetDir", "/proc/sys/net", false, ""},
	{"pkg/sentry/fsimpl/proc/task_net.go", "newTaskNetDir", "/proc/[pid]/net", false, ""},
	{"pkg/sentry/fsimpl/sys/sys.go", "GetFilesystem", "/sys", false, "kernel"},
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
		fd, _, err := t.FuncDecl(r.fn, r.file)
		if err != nil {
			return err
		}
		src := r.file + ":" + r.fn
		n := 0
		var lits []*ast.CompositeLit
		ast.Inspect(fd.Body, func(nd ast.Node) bool {
			if cl, ok := nd.(*ast.CompositeLit); ok && isStringMap(cl) {
				if r.rootKey == "" || hasKey(cl, r.rootKey) {
					lits = append(lits, cl)
				}
				return false // nested literals are walked with their parent
			}
			return true
		})
		for _, cl := range lits {
			n += t.walkMap(cl, r.dir, src, add)
		}
		if r.assigns {
			ast.Inspect(fd.Body, func(nd ast.Node) bool {
				as, ok := nd.(*ast.AssignStmt)
				if !ok || as.Tok != token.ASSIGN || len(as.Lhs) != 1 {
					return true
				}
				if ix, ok := as.Lhs[0].(*ast.IndexExpr); ok {
					if s, ok := stringLit(ix.Index); ok {
						add(r.dir+"/"+s, looksLikeDir(as.Rhs[0]), src)
						n++
					}
				}
				return true
			})
		}
		if n == 0 {
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

func (t *Tree) walkMap(cl *ast.CompositeLit, dir, src string, add func(string, bool, string)) int {
	n := 0
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
		var nested []*ast.CompositeLit
		ast.Inspect(kv.Value, func(nd ast.Node) bool {
			if c, ok := nd.(*ast.CompositeLit); ok && isStringMap(c) {
				nested = append(nested, c)
				return false
			}
			return true
		})
		add(p, len(nested) > 0 || looksLikeDir(kv.Value), src)
		n++
		for _, c := range nested {
			n += t.walkMap(c, p, src, add)
		}
	}
	return n
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
