package extract

import (
	"fmt"
	"go/ast"

	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysargs"
)

const routeProtocol = "pkg/sentry/socket/netlink/route/protocol.go"

// netlinkSenders are the calls whose key is the netlink message they send.
var netlinkSenders = []string{"sendto", "sendmsg"}

// routeMessages derives which NETLINK_ROUTE requests gVisor answers:
// Protocol.ProcessMessage switches on the message type once for dumps (a
// GET with NLM_F_DUMP) and once for other requests, and answers every type
// neither names with EOPNOTSUPP. The error comes back in the netlink reply;
// the send itself succeeds.
func (t *Tree) routeMessages(res *Result) error {
	fd, _, err := t.FuncDecl("ProcessMessage", routeProtocol)
	if err != nil {
		return err
	}
	var dumps, requests map[uint64]bool
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		is, ok := n.(*ast.IfStmt)
		if !ok || dumps != nil {
			return true
		}
		if !mentions(is.Cond, "NLM_F_DUMP") {
			return true
		}
		dumps = t.typeCases(is.Body)
		if next, ok := is.Else.(*ast.IfStmt); ok && mentions(next.Cond, "NLM_F_REQUEST") {
			requests = t.typeCases(next.Body)
		}
		return false
	})
	if len(dumps) == 0 || len(requests) == 0 {
		return fmt.Errorf("%s: ProcessMessage: no switch on the message type for dumps and requests", routeProtocol)
	}
	src := routeProtocol + ":Protocol.ProcessMessage"
	add := func(typ, flags uint64, r rules.Rule) error {
		const requestFlag = 0x1 // NLM_F_REQUEST
		regs := [6]uint64{1 /* NETLINK_ROUTE plus one */, typ, requestFlag | flags}
		key, vals, ok := sysargs.KeyFromRegs(t.Arch, "sendto", regs)
		if !ok {
			return fmt.Errorf("NETLINK_ROUTE message %#x has no key", typ)
		}
		for _, sys := range netlinkSenders {
			r.Syscall, r.Key, r.Values = sys, key, vals
			res.Rules = append(res.Rules, r)
		}
		return nil
	}
	for _, sys := range netlinkSenders {
		res.Rules = append(res.Rules, rules.Rule{Syscall: sys, Key: "NETLINK_ROUTE,(other message)", Values: []uint64{0},
			Errno: "EOPNOTSUPP", Source: src,
			Note: "gVisor answers this NETLINK_ROUTE request with an EOPNOTSUPP error in its reply (the send succeeds)"})
	}
	for _, typ := range sortedKeys(dumps) {
		if typ%4 != 2 {
			continue // only GET types are dumps
		}
		if err := add(typ, 0x300 /* NLM_F_DUMP */, rules.Rule{Supported: true, Source: src}); err != nil {
			return err
		}
	}
	for _, typ := range sortedKeys(requests) {
		if err := add(typ, 0, rules.Rule{Supported: true, Source: src}); err != nil {
			return err
		}
	}
	return nil
}

// typeCases returns the message types the cases of the switch in body
// name, with a body that does not fail.
func (t *Tree) typeCases(body *ast.BlockStmt) map[uint64]bool {
	out := map[uint64]bool{}
	for _, cc := range caseClauses(body) {
		if returnsErrno(cc.Body, "EOPNOTSUPP") {
			continue
		}
		for _, e := range cc.List {
			if v, ok := t.Value(constName(e)); ok {
				out[v] = true
			}
		}
	}
	return out
}
