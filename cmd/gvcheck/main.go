// Command gvcheck answers "will this application run on gVisor?".
package main

import (
	"context"
	"os"

	"github.com/gvcheck/gvcheck/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:]))
}
