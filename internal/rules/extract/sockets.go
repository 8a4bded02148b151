package extract

import (
	"fmt"
	"go/ast"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gvcheck/gvcheck/internal/rules"
)

// Socket domains and types the rules refer to by number.
const (
	afUnix, afInet, afInet6, afNetlink, afPacket = 1, 2, 10, 16, 17
	sockDgram, sockRaw                           = 2, 3
)

// sockets derives socket(2) rules from the providers gVisor registers
// (pkg/sentry/socket/*: socket.RegisterProvider, netlink.RegisterProvider,
// and netstack's provider table). hostinet (--network=host) and plugin
// stacks are not the default and are skipped.
func (t *Tree) sockets(res *Result) error {
	families := map[uint64]string{}
	protocols := map[uint64]string{}
	// guarded: netlink protocols whose constructor refuses unless a
	// feature switch is on (NETLINK_NETFILTER needs nftables), by the
	// guard's name.
	guarded := map[uint64]string{}
	names := map[uint64]string{}
	root := filepath.Join(t.Dir, "pkg/sentry/socket")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(t.Dir, path)
		if d.IsDir() {
			if strings.Contains(r, "hostinet") || strings.Contains(r, "plugin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || !t.forArch(d.Name()) {
			return nil
		}
		f, err := t.file(r)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				fn := ""
				switch f := n.Fun.(type) {
				case *ast.SelectorExpr:
					fn = render(f)
				case *ast.Ident:
					fn = f.Name
				}
				if !strings.Contains(fn, "RegisterProvider") || len(n.Args) == 0 {
					return true
				}
				c := constName(n.Args[0])
				v, ok := t.Value(c)
				if !ok {
					return true
				}
				if strings.HasPrefix(c, "AF_") {
					families[v], names[v] = r+":"+fn, c
				} else if strings.HasPrefix(c, "NETLINK_") && strings.HasPrefix(fn, "netlink.") {
					protocols[v], names[1000+v] = r+":"+fn, c
					if len(n.Args) > 1 {
						if g := constructorGuard(f, n.Args[1]); g != "" {
							guarded[v] = g
						}
					}
				}
			case *ast.KeyValueExpr: // netstack's provider{family: linux.AF_INET, ...}
				if id, ok := n.Key.(*ast.Ident); ok && id.Name == "family" {
					c := constName(n.Value)
					if v, ok := t.Value(c); ok && strings.HasPrefix(c, "AF_") {
						families[v], names[v] = r+":provider", c
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("walk socket providers: %w", err)
	}
	for _, need := range []uint64{afUnix, afInet, afNetlink} {
		if families[need] == "" {
			return fmt.Errorf("socket family %d not registered: provider layout unknown", need)
		}
	}
	if len(protocols) == 0 {
		return fmt.Errorf("no netlink protocols registered: provider layout unknown")
	}
	res.Rules = append(res.Rules, rules.Rule{Syscall: "socket", Key: "(other family)", Supported: false, Errno: "EAFNOSUPPORT",
		Note: "gVisor has no provider for this address family", Source: "pkg/sentry/socket/socket.go:New"})
	fams := sortedKeys(families)
	for _, v := range fams {
		r := rules.Rule{Syscall: "socket", Key: names[v], Values: []uint64{v}, Supported: true, Source: families[v]}
		if v == afNetlink {
			r.Supported, r.Errno = false, "EPROTONOSUPPORT"
			r.Key = "AF_NETLINK,(other protocol)"
			r.Note = "gVisor implements only some netlink protocols"
			r.Source = "pkg/sentry/socket/netlink/provider.go:Socket"
		}
		if v == afPacket {
			// pkg/sentry/socket/netstack/provider.go:packetSocket requires
			// CAP_NET_RAW, which runsc drops unless --net-raw (curated).
			r.Supported, r.Errno, r.NeedsFlag = false, "EPERM", "--net-raw"
			r.Note = "packet sockets need CAP_NET_RAW, which runsc grants only with --net-raw"
			r.Source += " (curated: provider.go:packetSocket)"
		}
		res.Rules = append(res.Rules, r)
		if v == afInet || v == afInet6 {
			// provider.go:getTransportProtocol: SOCK_RAW requires CAP_NET_RAW (curated).
			res.Rules = append(res.Rules, rules.Rule{Syscall: "socket", Key: names[v] + ",SOCK_RAW", Values: []uint64{v, sockRaw},
				Errno: "EPERM", NeedsFlag: "--net-raw", Note: "raw sockets need CAP_NET_RAW, which runsc grants only with --net-raw",
				Source: "pkg/sentry/socket/netstack/provider.go:getTransportProtocol (curated)"})
		}
		if v == afUnix {
			res.Rules = append(res.Rules, rules.Rule{Syscall: "socketpair", Key: names[v], Values: []uint64{v}, Supported: true, Source: families[v]})
		}
	}
	for _, p := range sortedKeys(protocols) {
		for _, typ := range []uint64{sockDgram, sockRaw} {
			tn := map[uint64]string{sockDgram: "SOCK_DGRAM", sockRaw: "SOCK_RAW"}[typ]
			r := rules.Rule{Syscall: "socket", Key: "AF_NETLINK," + tn + "," + names[1000+p],
				Values: []uint64{afNetlink, typ, p}, Supported: true, Source: protocols[p]}
			if g := guarded[p]; g != "" {
				// The constructor answers ErrProtocolNotSupported unless
				// the switch is on; runsc turns it on from a flag.
				r.Supported, r.Errno = false, "EPROTONOSUPPORT"
				r.Note = names[1000+p] + " is refused unless runsc turns on " + strings.TrimSuffix(strings.TrimPrefix(g, "Is"), "Enabled")
				if flag := t.switchFlag(g); flag != "" {
					r.NeedsFlag = "--" + flag
					r.Note += " (--" + flag + ")"
				}
				r.Source += " (guarded by " + g + ")"
			}
			res.Rules = append(res.Rules, r)
		}
	}
	return nil
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// sockoptFunc matches netstack's per-level option handlers.
var sockoptFunc = regexp.MustCompile(`(?i)^(get|set)SockOpt(Socket|TCP|IPv6|IP|ICMPv6|Packet|UDP|Raw)$`)

var sockoptLevel = map[string]struct {
	name  string
	value uint64
}{
	"socket": {"SOL_SOCKET", 1}, "tcp": {"SOL_TCP", 6}, "ipv6": {"SOL_IPV6", 41}, "ip": {"SOL_IP", 0},
	"icmpv6": {"SOL_ICMPV6", 58}, "packet": {"SOL_PACKET", 263}, "udp": {"SOL_UDP", 17}, "raw": {"SOL_RAW", 255},
}

// sockopts derives get/setsockopt rules from the switch over option names
// in each per-level handler of pkg/sentry/socket/netstack/netstack.go (also
// used by unix sockets for SOL_SOCKET).
func (t *Tree) sockopts(res *Result) error {
	rel := "pkg/sentry/socket/netstack/netstack.go"
	f, err := t.file(rel)
	if err != nil || f == nil {
		return fmt.Errorf("%s: %v", rel, err)
	}
	n := 0
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		m := sockoptFunc.FindStringSubmatch(fd.Name.Name)
		if m == nil {
			continue
		}
		sys := strings.ToLower(m[1]) + "sockopt"
		lvl := sockoptLevel[strings.ToLower(m[2])]
		sw, tail := findSwitch(fd.Body, "name")
		if sw == nil {
			continue
		}
		src := rel + ":" + fd.Name.Name
		for _, c := range t.Cases(sw, tail, nil) {
			for _, r := range t.caseRules(res, sys, []uint64{lvl.value}, c, src) {
				if c.Names == nil {
					r.Key = lvl.name + ",(other)"
				} else {
					r.Key = lvl.name + "," + r.Key
				}
				res.Rules = append(res.Rules, r)
				n++
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("%s: no socket option handlers found", rel)
	}
	t.syscallLevelSockopts(res)
	return nil
}

// syscallLevelSockopts adds the SOL_SOCKET options that getsockopt(2)
// answers itself before asking the socket (SO_TYPE, SO_DOMAIN, SO_PROTOCOL
// in getSockOpt of sys_socket.go), replacing the socket's rule for them.
func (t *Tree) syscallLevelSockopts(res *Result) {
	for _, rel := range []string{"pkg/sentry/syscalls/linux/sys_socket.go", "pkg/sentry/syscalls/linux/vfs2/socket.go"} {
		f, err := t.file(rel)
		if err != nil || f == nil {
			continue
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || fd.Name.Name != "getSockOpt" {
				continue
			}
			sw, tail := findSwitch(fd.Body, "name")
			if sw == nil {
				continue
			}
			src := rel + ":" + fd.Name.Name
			for _, c := range t.Cases(sw, tail, nil) {
				if c.Names == nil {
					continue
				}
				for _, r := range t.caseRules(res, "getsockopt", []uint64{1}, c, src) {
					r.Key = "SOL_SOCKET," + r.Key
					r.Supported, r.Ignored, r.Errno = true, false, ""
					res.Rules = slices.DeleteFunc(res.Rules, func(o rules.Rule) bool {
						return o.Syscall == "getsockopt" && slices.Equal(o.Values, r.Values)
					})
					res.Rules = append(res.Rules, r)
				}
			}
			return
		}
	}
}

// ioctlHandlers are the Ioctl implementations of the file kinds whose
// requests are enumerable; a request is supported if any kind handles it.
var ioctlHandlers = []struct{ kind, file string }{
	{"any file", "pkg/sentry/syscalls/linux/sys_file.go"},
	{"any file", "pkg/sentry/syscalls/linux/vfs2/ioctl.go"},
	{"host tty", "pkg/sentry/fsimpl/host/tty.go"},
	{"pty master", "pkg/sentry/fsimpl/devpts/master.go"},
	{"pty replica", "pkg/sentry/fsimpl/devpts/replica.go"},
	{"inet socket", "pkg/sentry/socket/netstack/netstack.go"},
	{"unix socket", "pkg/sentry/socket/unix/unix.go"},
	{"pipe", "pkg/sentry/kernel/pipe/pipe_util.go"},
	{"pipe", "pkg/sentry/kernel/pipe/vfs.go"},
	{"host file", "pkg/sentry/fsimpl/host/host.go"},
	{"overlay file", "pkg/sentry/fsimpl/overlay/regular_file.go"},
	{"tun device", "pkg/sentry/devices/tundev/tundev.go"},
}

var ioctlTags = []string{"args[1].Int()", "args[1].Uint()", "cmd", "arg", "request", "ioctl", "int(args[1].Int())", "uint32(args[1].Int())"}

func (t *Tree) ioctls(res *Result) error {
	type agg struct {
		name   string
		kinds  []string
		unsup  string // errno where no kind supports it
		srcs   []string
		ignore bool
	}
	byVal := map[uint64]*agg{}
	found := 0
	for _, h := range ioctlHandlers {
		f, err := t.file(h.file)
		if err != nil {
			return err
		}
		if f == nil {
			continue
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || fd.Name.Name != "Ioctl" {
				continue
			}
			var sw *ast.SwitchStmt
			var tail []ast.Stmt
			for _, tag := range ioctlTags {
				if sw, tail = findSwitch(fd.Body, tag); sw != nil {
					break
				}
			}
			if sw == nil {
				continue
			}
			found++
			for _, c := range t.Cases(sw, tail, nil) {
				for _, n := range c.Names {
					v, ok := t.Value(n)
					if !ok {
						res.Warnings = append(res.Warnings, fmt.Sprintf("%s: ioctl: unknown constant %s", h.file, n))
						continue
					}
					v &= 0xffffffff
					a := byVal[v]
					if a == nil {
						a = &agg{name: n}
						byVal[v] = a
					}
					if c.Supported {
						a.kinds = append(a.kinds, h.kind)
						a.srcs = append(a.srcs, h.file+":Ioctl")
					} else if a.unsup == "" {
						a.unsup = c.Errno
						a.ignore = c.Ignored
						if len(a.srcs) == 0 {
							a.srcs = append(a.srcs, h.file+":Ioctl")
						}
					}
				}
			}
		}
	}
	if found < 3 {
		return fmt.Errorf("only %d Ioctl switches found: layout unknown", found)
	}
	res.Rules = append(res.Rules, rules.Rule{Syscall: "ioctl", Key: "(other)", Errno: "ENOTTY",
		Note: "no gVisor file implementation handles this request", Source: "pkg/sentry/vfs/file_description_impl_util.go:Ioctl"})
	for _, v := range sortedKeys(byVal) {
		a := byVal[v]
		r := rules.Rule{Syscall: "ioctl", Key: a.name, Values: []uint64{v}, Source: strings.Join(uniq(a.srcs), ", ")}
		if len(a.kinds) > 0 {
			r.Supported = true
			r.Note = "handled for: " + strings.Join(uniq(a.kinds), ", ")
		} else {
			r.Errno, r.Ignored = a.unsup, a.ignore
			r.Note = "recognised but not implemented"
		}
		res.Rules = append(res.Rules, r)
	}
	return nil
}

func uniq(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// constructorGuard returns the feature check ("IsNFTablesEnabled") that the
// protocol constructor named by arg (declared in f) makes before anything
// else, when a failed check refuses the protocol; "" otherwise.
func constructorGuard(f *ast.File, arg ast.Expr) string {
	id, ok := arg.(*ast.Ident)
	if !ok {
		return ""
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != id.Name || fd.Body == nil || len(fd.Body.List) == 0 {
			continue
		}
		ifs, ok := fd.Body.List[0].(*ast.IfStmt)
		if !ok {
			return ""
		}
		neg, ok := ifs.Cond.(*ast.UnaryExpr)
		if !ok {
			return ""
		}
		call, ok := neg.X.(*ast.CallExpr)
		if !ok {
			return ""
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !strings.HasPrefix(sel.Sel.Name, "Is") || !strings.HasSuffix(sel.Sel.Name, "Enabled") {
			return ""
		}
		refuses := false
		ast.Inspect(ifs.Body, func(n ast.Node) bool {
			if se, ok := n.(*ast.SelectorExpr); ok && se.Sel.Name == "ErrProtocolNotSupported" {
				refuses = true
			}
			return !refuses
		})
		if refuses {
			return sel.Sel.Name
		}
	}
	return ""
}

// switchFlag finds the runsc flag behind a feature switch: the config
// field named like the switch ("IsNFTablesEnabled" -> Nftables), by its
// flag tag in runsc/config/config.go.
func (t *Tree) switchFlag(guard string) string {
	feature := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(guard, "Is"), "Enabled"))
	f, err := t.file("runsc/config/config.go")
	if err != nil {
		return ""
	}
	flag := ""
	ast.Inspect(f, func(n ast.Node) bool {
		field, ok := n.(*ast.Field)
		if !ok || field.Tag == nil || len(field.Names) != 1 || strings.ToLower(field.Names[0].Name) != feature {
			return true
		}
		if m := regexp.MustCompile(`flag:"([^"]+)"`).FindStringSubmatch(field.Tag.Value); m != nil {
			flag = m[1]
		}
		return false
	})
	return flag
}
