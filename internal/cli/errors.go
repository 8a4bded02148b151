package cli

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// Exit statuses shared by every subcommand.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2
	ExitFindings = 3
	// ExitNotFound is a shell's status for a command it cannot find: an
	// unknown subcommand, or a program to run that does not exist.
	ExitNotFound = 127
)

// usageError marks errors in how gvcheck was called (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitError carries a chosen exit status with no message, e.g. findings
// above --fail-on or the traced program's own exit status.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// signalExit is the traced program's death by a signal: Main dies of the
// same signal, as a shell expects (Run returns 128+signal).
type signalExit struct{ sig syscall.Signal }

func (e *signalExit) Error() string { return "killed by " + unix.SignalName(e.sig) }

// statusError is an error reported with a status of its own, such as a
// shell's 127 for a command that does not exist.
type statusError struct {
	err  error
	code int
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// hintError adds a line telling the user what to do.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error {
	if err == nil || hint == "" {
		return err
	}
	return &hintError{err: err, hint: hint}
}

// needsCommand checks that a subcommand running a program was given one.
func needsCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return usagef("%s needs a command: gvcheck %s [flags] -- CMD [ARGS...]", cmd.Name(), cmd.Name())
	}
	return nil
}

func exitCode(err error) int {
	var ee *exitError
	var ue *usageError
	var se *signalExit
	var st *statusError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &st):
		return st.code
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &se):
		return 128 + int(se.sig)
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitError
}
