// Package cli is gvcheck's command line: subcommands, flags and the
// messages people read. It is the only package that prints to the user.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gvcheck/gvcheck/internal/buildinfo"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/sigstate"
)

// Version is gvcheck's version as reports name it: from the build
// information the Go toolchain stamps, or -ldflags (package buildinfo).
var Version = buildinfo.Read().Short()

// env is what a command may touch of the outside world, so that tests can
// run the CLI in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// Main runs gvcheck with args (without the program name) on the process's
// standard streams and returns the process exit status.
//
// When the traced program died of a signal, Main dies of the same signal
// (as strace does) so that a shell sees it: Ctrl-C then stops a script,
// and SIGQUIT's "Quit" is printed.
func Main(ctx context.Context, args []string) int {
	code, sig := run(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	if sig != 0 {
		sigstate.Reraise(sig)
	}
	return code
}

// Run is Main with explicit streams; it returns 128+signal where Main
// would die of the signal.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	code, _ := run(ctx, args, stdin, stdout, stderr)
	return code
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, syscall.Signal) {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK, 0
	}
	if strings.HasPrefix(err.Error(), "unknown command") {
		// cobra reports unknown subcommands as plain errors, suggestions
		// folded in; a shell says 127 for a command it cannot find.
		err = unknownCommand(root, args)
	}
	var ee *exitError
	var se *signalExit
	if !errors.As(err, &ee) && !errors.As(err, &se) {
		// Messages quote file names and command lines: a terminal must not
		// act on what they hold.
		fmt.Fprintf(e.stderr, "gvcheck: error: %s\n", report.Escape(oneLine(err.Error())))
		var he *hintError
		if errors.As(err, &he) && he.hint != "" {
			fmt.Fprintf(e.stderr, "gvcheck: hint: %s\n", report.Escape(he.hint))
		}
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(e.stderr, "run '%s --help' for usage\n", commandPath(root, args))
		}
	}
	if se != nil {
		return exitCode(err), se.sig
	}
	return exitCode(err), 0
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func commandPath(root *cobra.Command, args []string) string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return root.CommandPath()
	}
	return cmd.CommandPath()
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "gvcheck",
		Short: "Will this application run on gVisor?",
		Long: `gvcheck answers "will this application run on gVisor?" and, when it won't, says why.

It observes a program on an ordinary Linux host (gvcheck run / attach), or reads
evidence already recorded (gvcheck check: strace logs, name lists, seccomp
profiles), and judges it against an embedded database of gVisor's syscall
tables, version by version.

` + exitStatusHelp,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(flagError)
	root.SetVersionTemplate("gvcheck {{.Version}}\n")
	root.AddCommand(newRunCmd(e), newAttachCmd(e), newCheckCmd(e), newProbeCmd(e), newVerifyCmd(e), newDBCmd(e), newVersionCmd(e))
	completeFlagValues(root)
	addExitHelp(root)
	return root
}

// Command returns gvcheck's command tree, as it runs, for generators of
// its documentation (man pages).
func Command() *cobra.Command {
	root := newRoot(&env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	root.InitDefaultCompletionCmd()
	addExitHelp(root)
	return root
}

// addExitHelp states the exit rule in the help of every command that runs
// and does not state it yet.
func addExitHelp(c *cobra.Command) {
	if c.Runnable() && !strings.Contains(c.Long, "Exit status") {
		long := c.Long
		if long == "" {
			long = c.Short + "."
		}
		c.Long = long + "\n\n" + exitStatusHelp
	}
	for _, sub := range c.Commands() {
		addExitHelp(sub)
	}
}
