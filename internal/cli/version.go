package cli

import (
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gvcheck/gvcheck/internal/buildinfo"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/rules"
)

// versionInfo is what 'gvcheck version -f json' prints.
type versionInfo struct {
	Version  string             `json:"version"`
	Revision string             `json:"revision,omitempty"`
	Time     *time.Time         `json:"time,omitempty"`
	Modified bool               `json:"modified"`
	Go       string             `json:"go"`
	Static   bool               `json:"static"`
	Platform string             `json:"platform"`
	Database []dbVersion        `json:"database"`
	Modules  []compat.ModuleSum `json:"generated_from"`
	Rules    int                `json:"rule_versions"`
}

type dbVersion struct {
	ID   string `json:"id"`
	Tag  string `json:"tag,omitempty"`
	Date string `json:"date"`
	Sum  string `json:"sum,omitempty"`
}

func newVersionCmd(e *env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print gvcheck's version, source revision and embedded database versions",
		Long: `Print gvcheck's version and source revision (stamped by the Go toolchain
when built from a checkout or installed as a module, or set with -ldflags),
the toolchain, and every gVisor version in the embedded database with the
go.sum hash of the module it was generated from.

` + exitStatusHelp,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readVersion()
			switch format {
			case "json":
				return report.WriteJSONValue(e.stdout, v)
			case "text":
				return writeVersion(e.stdout, v)
			}
			return usagef("--format: unknown format %q (want text or json)", format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "text or json")
	return cmd
}

func readVersion() versionInfo {
	bi := buildinfo.Read()
	v := versionInfo{Version: bi.Version, Revision: bi.Revision, Modified: bi.Modified, Go: bi.Go,
		Static: bi.Static, Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Modules: compat.Provenance(), Rules: len(rules.Versions())}
	if !bi.Time.IsZero() {
		t := bi.Time
		v.Time = &t
	}
	sums := map[string]string{}
	for _, m := range v.Modules {
		sums[m.Version] = m.Sum
	}
	for _, dv := range compat.Versions() {
		v.Database = append(v.Database, dbVersion{ID: dv.ID, Tag: dv.Tag, Date: dv.Date.Format("2006-01-02"), Sum: sums[dv.ID]})
	}
	return v
}

func writeVersion(w io.Writer, v versionInfo) error {
	fmt.Fprintf(w, "gvcheck %s\n", v.Version)
	rev := v.Revision
	switch {
	case rev == "":
		rev = "unknown: no VCS stamp (built outside a git checkout, in a linked worktree, or with -buildvcs=false; GOFLAGS may set it); go build -buildvcs=true stamps it, or set it with -ldflags (README, Install)"
	case v.Time != nil:
		rev += " (" + v.Time.Format(time.RFC3339) + ")"
	}
	if v.Modified {
		rev += ", with uncommitted changes"
	}
	fmt.Fprintf(w, "revision: %s\n", rev)
	link := "cgo"
	if v.Static {
		link = "static"
	}
	fmt.Fprintf(w, "built:    %s, %s, %s\n", v.Go, v.Platform, link)
	fmt.Fprintf(w, "database: %d gVisor versions (argument rules for %d), generated from gvisor.dev/gvisor:\n", len(v.Database), v.Rules)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  DATE\tRELEASE TAG\tVERSION\tGO.SUM HASH")
	for _, d := range v.Database {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", d.Date, dash(d.Tag), d.ID, dash(d.Sum))
	}
	return tw.Flush()
}
