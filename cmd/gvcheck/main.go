// Command gvcheck answers "will this application run on gVisor?".
package main

import (
	"context"
	"os"

	"github.com/gvcheck/gvcheck/internal/cli"
	"github.com/gvcheck/gvcheck/internal/policy"
)

func main() {
	// gvcheck re-executes itself to install a seccomp filter between fork
	// and exec of a traced program; in that role it never returns.
	if policy.ShimMain() {
		return
	}
	os.Exit(cli.Main(context.Background(), os.Args[1:]))
}
