package extract

import (
	"strings"

	"github.com/gvcheck/gvcheck/internal/rules"
)

// curated adds what the source does not make mechanical, each citing the
// file it was read from; the flag-dependent ones are only added when the
// version has the flag.
func (t *Tree) curated(res *Result) error {
	if strings.Contains(string(t.runscFlags()), `"iouring"`) {
		// pkg/sentry/syscalls/linux/sys_iouring.go: IOUringSetup returns
		// ENOSYS unless Kernel.IOUringEnabled (runsc --iouring).
		for _, s := range []string{"io_uring_setup", "io_uring_enter", "io_uring_register"} {
			res.Rules = append(res.Rules, rules.Rule{Syscall: s, Key: "(any)", Errno: "ENOSYS", NeedsFlag: "--iouring",
				Note:   "io_uring is off unless runsc runs with --iouring (experimental)",
				Source: "pkg/sentry/syscalls/linux/sys_iouring.go (curated)"})
		}
	}
	return nil
}
