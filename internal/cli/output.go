package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

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

// writeTo writes via fn to --output (atomically, so a failed run leaves no
// half report) or to w.
func (o *outputFlags) writeTo(w io.Writer, fn func(io.Writer) error) error {
	if o.file == "" || o.file == "-" {
		return fn(w)
	}
	if st, err := os.Stat(o.file); err == nil && !st.Mode().IsRegular() {
		// A device, pipe or terminal (/dev/null, /dev/stderr, a FIFO) is
		// written in place: renaming over it would replace the node.
		f, err := os.OpenFile(o.file, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if err := fn(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.file), ".gvcheck-report-*")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := fn(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(tmp.Name(), o.file); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
