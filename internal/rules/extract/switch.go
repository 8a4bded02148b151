package extract

import (
	"go/ast"
	"go/token"
	"regexp"
	"strings"
)

// Outcome is how a switch case ends for the caller.
type Outcome struct {
	Supported bool
	Ignored   bool   // succeeds without effect (gVisor logs it as unimplemented)
	Errno     string // for !Supported && !Ignored
	Unimpl    bool   // gVisor reports the case as unimplemented somewhere inside
}

// Case is one case clause (or the default, Names == nil) of a switch.
type Case struct {
	Names []string // constant names of the case expressions
	Outcome
	Sub []Case // nested switch on a further argument (prctl PR_SET_MM)
}

// unimplCall matches the calls gVisor makes to report an unsupported
// argument (EmitUnimplementedEvent and the socket-option metrics and
// events of different versions).
var unimplCall = regexp.MustCompile(`(?i)unimplemented|badsetsocketoption|badgetsocketoption|unsupported`)

// findSwitch returns the first switch in body, outermost first, whose tag
// is rendered as tag (e.g. "cmd", "args[0].Int()").
func findSwitch(body *ast.BlockStmt, tag string) (*ast.SwitchStmt, []ast.Stmt) {
	// Top-level statements first: Fcntl has an inner "switch cmd" guard.
	for i, s := range body.List {
		if sw, ok := s.(*ast.SwitchStmt); ok && sw.Tag != nil && render(sw.Tag) == tag {
			return sw, body.List[i+1:]
		}
	}
	var found *ast.SwitchStmt
	ast.Inspect(body, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		if sw, ok := n.(*ast.SwitchStmt); ok && sw.Tag != nil && render(sw.Tag) == tag {
			found = sw
			return false
		}
		return true
	})
	return found, nil
}

// findSwitches returns the consecutive top-level switches on tag (or the
// first nested one), each with what follows it.
func findSwitches(body *ast.BlockStmt, tag string) ([]*ast.SwitchStmt, [][]ast.Stmt) {
	var sws []*ast.SwitchStmt
	var tails [][]ast.Stmt
	for i, s := range body.List {
		if sw, ok := s.(*ast.SwitchStmt); ok && sw.Tag != nil && render(sw.Tag) == tag {
			sws = append(sws, sw)
			tails = append(tails, body.List[i+1:])
		}
	}
	if sws != nil {
		return sws, tails
	}
	if sw, tail := findSwitch(body, tag); sw != nil {
		return []*ast.SwitchStmt{sw}, [][]ast.Stmt{tail}
	}
	return nil, nil
}

// render prints a (simple) expression as Go source.
func render(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return render(e.X) + "." + e.Sel.Name
	case *ast.IndexExpr:
		return render(e.X) + "[" + render(e.Index) + "]"
	case *ast.BasicLit:
		return e.Value
	case *ast.CallExpr:
		var args []string
		for _, a := range e.Args {
			args = append(args, render(a))
		}
		return render(e.Fun) + "(" + strings.Join(args, ", ") + ")"
	case *ast.ParenExpr:
		return "(" + render(e.X) + ")"
	case *ast.BinaryExpr:
		return render(e.X) + " " + e.Op.String() + " " + render(e.Y)
	case *ast.StarExpr:
		return "*" + render(e.X)
	case *ast.UnaryExpr:
		return e.Op.String() + render(e.X)
	}
	return "?"
}

// Cases classifies every clause of sw. tail is what follows the switch in
// its block (where a clause that does not return continues). subTags
// names the cases whose nested switch (tag) refines the key: prctl's
// PR_SET_MM keys on its second argument too, as internal/sysargs does.
func (t *Tree) Cases(sw *ast.SwitchStmt, tail []ast.Stmt, subTags map[string]string) []Case {
	clauses := make([]*ast.CaseClause, len(sw.Body.List))
	for i, s := range sw.Body.List {
		clauses[i] = s.(*ast.CaseClause)
	}
	var out []Case
	for i, cc := range clauses {
		c := Case{Outcome: t.clauseOutcome(clauses, i, tail)}
		for _, e := range cc.List {
			if n := constName(e); n != "" {
				c.Names = append(c.Names, n)
			}
		}
		if tag, ok := subTags[firstName(c.Names)]; ok {
			if sub, subTail := findSwitch(&ast.BlockStmt{List: cc.Body}, tag); sub != nil {
				// The clause's own outcome, for keys without the further
				// argument, is what the nested default gives.
				for _, s := range t.Cases(sub, subTail, nil) {
					if s.Names == nil {
						c.Outcome = s.Outcome
					} else {
						c.Sub = append(c.Sub, s)
					}
				}
			}
		}
		if cc.List != nil && len(c.Names) == 0 {
			continue // cases on non-constant expressions
		}
		out = append(out, c)
	}
	return out
}

func (t *Tree) clauseOutcome(clauses []*ast.CaseClause, i int, tail []ast.Stmt) Outcome {
	body := clauses[i].Body
	unimpl := containsUnimpl(body)
	if n := len(body); n > 0 {
		if br, ok := body[n-1].(*ast.BranchStmt); ok && br.Tok == token.FALLTHROUGH && i+1 < len(clauses) {
			o := t.clauseOutcome(clauses, i+1, tail)
			o.Unimpl = o.Unimpl || unimpl
			return o
		}
	}
	o := outcomeOf(body, tail)
	o.Unimpl = o.Unimpl || unimpl
	return o
}

// outcomeOf classifies a statement list: an unconditional errno return
// (possibly after reporting the call as unimplemented) is unsupported; a
// report followed by a nil return is "ignored"; anything else supported.
func outcomeOf(body, tail []ast.Stmt) Outcome {
	reported := false
	for _, s := range body {
		switch s := s.(type) {
		case *ast.ExprStmt:
			if containsUnimpl([]ast.Stmt{s}) {
				reported = true
				continue
			}
			if isLogging(s.X) {
				continue
			}
			return Outcome{Supported: true, Unimpl: reported}
		case *ast.ReturnStmt:
			if errno := errnoOf(s); errno != "" {
				return Outcome{Errno: errno, Unimpl: reported}
			}
			if reported && returnsNil(s) {
				return Outcome{Ignored: true, Unimpl: true}
			}
			return Outcome{Supported: true, Unimpl: reported}
		case *ast.EmptyStmt:
		case *ast.IfStmt:
			// A conditional early exit (argument validation, a custom
			// handler that may take the case) does not decide the case.
			if s.Else == nil && endsInReturn(s.Body.List) {
				continue
			}
			return Outcome{Supported: true, Unimpl: reported}
		default:
			return Outcome{Supported: true, Unimpl: reported}
		}
	}
	if tail != nil {
		o := outcomeOf(tail, nil)
		if reported && o.Supported && !o.Unimpl {
			o = Outcome{Ignored: true, Unimpl: true}
		}
		o.Unimpl = o.Unimpl || reported
		return o
	}
	return Outcome{Supported: !reported, Ignored: reported, Unimpl: reported}
}

func containsUnimpl(stmts []ast.Stmt) bool {
	found := false
	for _, s := range stmts {
		ast.Inspect(s, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok {
				name := ""
				switch f := c.Fun.(type) {
				case *ast.SelectorExpr:
					name = f.Sel.Name
				case *ast.Ident:
					name = f.Name
				}
				if unimplCall.MatchString(name) {
					found = true
				}
			}
			return !found
		})
	}
	return found
}

// errnoOf returns the errno a return statement returns unconditionally, or "".
func errnoOf(r *ast.ReturnStmt) string {
	if len(r.Results) == 0 {
		return ""
	}
	return errnoExpr(r.Results[len(r.Results)-1])
}

func errnoExpr(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		pkg, ok := e.X.(*ast.Ident)
		if !ok {
			return ""
		}
		switch pkg.Name {
		case "linuxerr", "syserror", "syscall", "unix", "errno":
			if strings.HasPrefix(e.Sel.Name, "E") {
				return canonErrno(e.Sel.Name)
			}
		case "syserr":
			return syserrErrno[e.Sel.Name]
		}
	case *ast.CallExpr: // syserr.FromError(linuxerr.EINVAL) and the like
		for _, a := range e.Args {
			if s := errnoExpr(a); s != "" {
				return s
			}
		}
	case *ast.ParenExpr:
		return errnoExpr(e.X)
	}
	return ""
}

func returnsNil(r *ast.ReturnStmt) bool {
	if len(r.Results) == 0 {
		return true
	}
	id, ok := r.Results[len(r.Results)-1].(*ast.Ident)
	return ok && id.Name == "nil"
}

// syserrErrno maps pkg/syserr's errors to errnos (pkg/syserr/syserr.go,
// netstack.go: each is New/newWithHost(..., errno.EXXX)). Filled from the
// source by loadSyserr; these entries are the fallback.
var syserrErrno = map[string]string{
	"ErrProtocolNotAvailable": "ENOPROTOOPT", "ErrInvalidArgument": "EINVAL", "ErrNotSupported": "EOPNOTSUPP",
	"ErrAddressFamilyNotSupported": "EAFNOSUPPORT", "ErrProtocolNotSupported": "EPROTONOSUPPORT",
	"ErrNotPermitted": "EPERM", "ErrSocketNotSupported": "ESOCKTNOSUPPORT", "ErrInvalidEndpointState": "EINVAL",
	"ErrNoDevice": "ENODEV", "ErrNotTTY": "ENOTTY", "ErrPermissionDenied": "EACCES",
}

// loadSyserr reads pkg/syserr's error variables.
func (t *Tree) loadSyserr() error {
	files, err := t.goFiles("pkg/syserr")
	if err != nil {
		return err
	}
	for _, rel := range files {
		f, err := t.file(rel)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i >= len(vs.Values) || !strings.HasPrefix(n.Name, "Err") {
						continue
					}
					ast.Inspect(vs.Values[i], func(nd ast.Node) bool {
						if se, ok := nd.(*ast.SelectorExpr); ok {
							if x, ok := se.X.(*ast.Ident); ok && (x.Name == "errno" || x.Name == "linux") && strings.HasPrefix(se.Sel.Name, "E") {
								syserrErrno[n.Name] = canonErrno(se.Sel.Name)
								return false
							}
						}
						return true
					})
				}
			}
		}
	}
	return nil
}

func firstName(n []string) string {
	if len(n) == 0 {
		return ""
	}
	return n[0]
}

func endsInReturn(l []ast.Stmt) bool {
	if len(l) == 0 {
		return false
	}
	_, ok := l[len(l)-1].(*ast.ReturnStmt)
	return ok
}

// canonErrno names aliases as strerrorname_np(3) and strace do.
func canonErrno(e string) string {
	switch e {
	case "ENOTSUP":
		return "EOPNOTSUPP"
	case "EWOULDBLOCK":
		return "EAGAIN"
	case "EDEADLOCK":
		return "EDEADLK"
	}
	return e
}

// isLogging: log.Debugf(...) and the like decide nothing.
func isLogging(e ast.Expr) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	se, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	if id, ok := se.X.(*ast.Ident); ok && id.Name == "log" {
		return true
	}
	return strings.HasSuffix(se.Sel.Name, "Logger") || strings.HasSuffix(se.Sel.Name, "f") && strings.Contains(render(se.X), "Logger")
}
