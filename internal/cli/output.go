package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gvcheck/gvcheck/internal/outfile"
	"github.com/gvcheck/gvcheck/internal/report"
)

// outputFlags choose the report format and where it goes.
type outputFlags struct {
	format string
	file   string
	all    bool
	failOn string
}

// register adds --format and --output; the report goes to dest without
// --output (default: standard output).
func (o *outputFlags) register(fs *pflag.FlagSet, dest ...string) {
	to := "standard output"
	if len(dest) > 0 {
		to = dest[0]
	}
	fs.StringVarP(&o.format, "format", "f", "text", "report format: "+strings.Join(report.Formats, ", "))
	fs.StringVarP(&o.file, "output", "o", "", "write the report to this file instead of "+to)
}

func (o *outputFlags) validate() error {
	if o.format == "md" || slices.Contains(report.Formats, o.format) {
		return nil
	}
	return usagef("--format: unknown format %q (want %s)", o.format, strings.Join(report.Formats, ", "))
}

// writeTo writes via fn to --output (see package outfile: atomically for
// a file, so a failed run leaves no half report, in place for a device or
// FIFO, never through a link someone else planted) or to w.
func (o *outputFlags) writeTo(w io.Writer, fn func(io.Writer) error) error {
	if o.file == "" || o.file == "-" {
		return fn(w)
	}
	if err := outfile.Write(o.file, fn); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
