package extract

import (
	"fmt"
	"go/ast"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gvcheck/gvcheck/internal/rules"
)

var platformFlag = regexp.MustCompile(`"platform",\s*"(\w+)"`)

// rseq: rseq(2) works only when the platform detects CPU preemption
// (pkg/sentry/kernel/rseq.go: RSeqAvailable); platforms that embed
// platform.NoCPUPreemptionDetection answer ENOSYS (sys_rseq.go). The default
// platform is the --platform default in runsc/config/flags.go.
func (t *Tree) rseq(res *Result) error {
	flags := t.runscFlags()
	m := platformFlag.FindSubmatch(flags)
	if m == nil {
		return fmt.Errorf("runsc: no --platform default in %v", runscFlagFiles)
	}
	def := string(m[1])
	var with []string
	defOK := false
	for _, p := range []string{"systrap", "ptrace", "kvm"} {
		files, err := t.goFiles("pkg/sentry/platform/" + p)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			continue
		}
		detects := true
		for _, rel := range files {
			f, err := t.file(rel)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if se, ok := n.(*ast.SelectorExpr); ok && se.Sel.Name == "NoCPUPreemptionDetection" {
					detects = false
				}
				return detects
			})
		}
		if detects {
			with = append(with, p)
			defOK = defOK || p == def
		}
	}
	r := rules.Rule{Syscall: "rseq", Key: "(any)", Source: "pkg/sentry/kernel/rseq.go:RSeqAvailable, pkg/sentry/platform"}
	switch {
	case defOK:
		r.Supported = true
	case len(with) > 0:
		r.Errno, r.NeedsFlag = "ENOSYS", "--platform="+with[0]
		r.Note = "rseq needs a platform that detects CPU preemption: " + strings.Join(with, ", ") + "; the default is " + def
	default:
		r.Errno, r.Note = "ENOSYS", "no gVisor platform of this version supports rseq"
	}
	res.Rules = append(res.Rules, r)
	return nil
}

// runscFlagFiles define runsc's flags (runsc/main.go before they moved to
// runsc/config in 2020).
var runscFlagFiles = []string{"runsc/config/flags.go", "runsc/main.go"}

func (t *Tree) runscFlags() []byte {
	var all []byte
	for _, f := range runscFlagFiles {
		b, err := os.ReadFile(filepath.Join(t.Dir, f))
		if err == nil {
			all = append(all, b...)
		}
	}
	return all
}
