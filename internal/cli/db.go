package cli

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

func newDBCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Query the embedded gVisor compatibility database",
		Long: `Query the embedded gVisor compatibility database: the syscall tables of every
embedded gVisor version, for amd64 and arm64, generated from gVisor's source.

` + exitStatusHelp,
		RunE: subcommandsOnly,
	}
	cmd.AddCommand(newDBVersionsCmd(e), newDBShowCmd(e), newDBListCmd(e), newDBDiffCmd(e), newDBExportCmd(e))
	return cmd
}

func newDBVersionsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "versions",
		Short: "List the embedded gVisor versions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "DATE\tRELEASE TAG\tVERSION\tAMD64\tARM64\tNOTES")
			for _, v := range compat.Versions() {
				counts := make([]string, 0, 2)
				for _, a := range sysno.Arches {
					t, err := compat.Load(v, a, "")
					if err != nil {
						counts = append(counts, "-")
						continue
					}
					counts = append(counts, fmt.Sprint(t.Len()))
				}
				var notes []string
				if v.NamesOnly {
					notes = append(notes, "names of unimplemented syscalls only")
				}
				if len(v.Variants) > 0 {
					notes = append(notes, "other table with "+strings.Join(v.Variants, ", "))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Date.Format("2006-01-02"), dash(v.Tag), v.ID, counts[0], counts[1], strings.Join(notes, "; "))
			}
			return tw.Flush()
		},
	}
}

func newDBShowCmd(e *env) *cobra.Command {
	var archFlag string
	var rulesFlag bool
	cmd := &cobra.Command{
		Use:   "show SYSCALL",
		Short: "Show a syscall's support in every embedded version and architecture",
		Long: `Show a syscall's support in every embedded version and architecture, and
its argument rules. SYSCALL is a name in any case (set_robust_list,
SET_ROBUST_LIST, SYS_set_robust_list) or a number, read on --arch (default:
this machine's architecture).`,
		Example: `  gvcheck db show set_robust_list
  gvcheck db show 273
  gvcheck db show --arch arm64 99`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeSyscalls,
		RunE: func(cmd *cobra.Command, args []string) error {
			arches, err := archList(archFlag)
			if err != nil {
				return err
			}
			name, err := syscallArg(args[0], archFlag)
			if err != nil {
				return err
			}
			cells := map[sysno.Arch]map[string]string{}
			var summary []string
			note := ""
			for _, a := range arches {
				hist, err := compat.History(name, a)
				if err != nil {
					continue
				}
				cells[a] = map[string]string{}
				since := ""
				for _, p := range hist {
					cell := entryCell(p.Entry)
					for variant, ve := range p.Variants {
						cell += fmt.Sprintf(" (%s: %s)", variant, entryCell(ve))
					}
					cells[a][p.Version.ID] = cell
					switch {
					case p.Entry.Support == compat.Unimplemented:
						since = ""
					case since == "":
						since = fmt.Sprintf("%s (%s, %s)", p.Version.Date.Format("2006-01-02"), dash(p.Version.Tag), p.Version.ID)
					}
				}
				last := hist[len(hist)-1].Entry
				if note == "" {
					note = last.Note
				}
				if since != "" {
					summary = append(summary, fmt.Sprintf("%s (%s %d): %s in the newest version, since %s", name, a, last.Number, last.Support, since))
				} else {
					summary = append(summary, fmt.Sprintf("%s (%s %d): not implemented in the newest version (%s)", name, a, last.Number, entryCell(last)))
				}
			}
			if len(cells) == 0 {
				return usagef("unknown syscall %q", name)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			header := "DATE\tRELEASE TAG\tVERSION"
			for _, a := range arches {
				header += "\t" + strings.ToUpper(string(a))
			}
			fmt.Fprintln(tw, header)
			for _, v := range compat.Versions() {
				row := fmt.Sprintf("%s\t%s\t%s", v.Date.Format("2006-01-02"), dash(v.Tag), v.ID)
				for _, a := range arches {
					c, ok := cells[a][v.ID]
					if !ok {
						c = "-"
					}
					row += "\t" + c
				}
				fmt.Fprintln(tw, row)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, line := range summary {
				fmt.Fprintln(e.stdout, line)
			}
			if note != "" {
				fmt.Fprintf(e.stdout, "gVisor's note: %s\n", note)
			}
			return showRules(e.stdout, name, arches[0], rulesFlag)
		},
	}
	cmd.Flags().StringVar(&archFlag, "arch", "", "only this architecture (default: both)")
	cmd.Flags().BoolVar(&rulesFlag, "rules", false, "list every argument rule of the newest version, not only unsupported ones")
	return cmd
}

// showRules prints a syscall's argument rules: how many each version has,
// and those of the newest version.
func showRules(w io.Writer, name string, arch sysno.Arch, all bool) error {
	name = sysno.Canonical(arch, name)
	var counts []string
	var newest *rules.Set
	last := -1
	for _, id := range rules.Versions() {
		set, ok := rules.For(id, arch)
		if !ok {
			continue
		}
		if n := len(set.Rules(name)); n > 0 && n != last {
			counts = append(counts, fmt.Sprintf("%d from %s", n, versionDate(id)))
			last = n
		}
		newest = set
	}
	if len(counts) == 0 || newest == nil {
		return nil
	}
	fmt.Fprintf(w, "\nargument rules (%s): %s\n", arch, strings.Join(counts, ", "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ARGUMENT\tUNDER GVISOR\tSOURCE")
	shown := 0
	for _, r := range newest.Rules(name) {
		verdict := "supported"
		switch {
		case r.NeedsFlag != "":
			verdict = dash(r.Errno) + " unless " + r.NeedsFlag
		case r.Ignored:
			verdict = "accepted, no effect"
		case !r.Supported:
			verdict = dash(r.Errno)
		}
		if !all && verdict == "supported" {
			continue
		}
		shown++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Key, verdict, r.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !all {
		fmt.Fprintf(w, "(%d of %d rules: the others are supported; --rules lists all)\n", shown, len(newest.Rules(name)))
	}
	return nil
}

// versionDate shortens a module version to its date for compact lists.
func versionDate(id string) string {
	for _, v := range compat.Versions() {
		if v.ID == id {
			return v.Date.Format("2006-01-02")
		}
	}
	return id
}

func entryCell(en compat.Entry) string {
	switch en.Support {
	case compat.Full:
		return "full"
	case compat.Partial:
		return "partial"
	}
	s := en.Errno
	if en.Cap != "" {
		s += "/EPERM without " + en.Cap
	}
	if !en.InTable {
		s += " (absent)"
	}
	return s
}

func newDBListCmd(e *env) *cobra.Command {
	var target targetFlags
	var support string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a version's syscall table",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var want *compat.Support
			if support != "" {
				s, err := compat.ParseSupport(support)
				if err != nil {
					return &usageError{fmt.Errorf("--support: %w", err)}
				}
				want = &s
			}
			arch, err := target.archFor()
			if err != nil {
				return err
			}
			t, tgt, err := target.resolveTable(cmd.Context(), arch)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "gVisor %s (%s), %s\n", tgt.GVisor, dash(tgt.Tag), tgt.Arch)
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NR\tSYSCALL\tSUPPORT\tERRNO\tNOTE")
			var absent []string
			for _, nr := range sysno.Numbers(t.Arch) {
				en := t.Lookup(nr)
				if !en.InTable {
					absent = append(absent, sysno.Name(t.Arch, nr))
					continue
				}
				if want != nil && en.Support != *want {
					continue
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", nr, sysno.Name(t.Arch, nr), en.Support, dash(entryErrno(en)), en.Note)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(absent) > 0 && (want == nil || *want == compat.Unimplemented) {
				fmt.Fprintf(e.stdout, "absent from this table, so unimplemented (ENOSYS): %s\n", strings.Join(absent, " "))
			}
			return nil
		},
	}
	target.register(cmd.Flags())
	cmd.Flags().StringVar(&support, "support", "", "only syscalls with this support: full, partial or unimplemented")
	return cmd
}

func entryErrno(en compat.Entry) string {
	if en.Support != compat.Unimplemented {
		return ""
	}
	if en.Cap != "" {
		return en.Errno + "/EPERM"
	}
	return en.Errno
}

func newDBDiffCmd(e *env) *cobra.Command {
	var archFlag string
	var notes bool
	cmd := &cobra.Command{
		Use:   "diff V1 V2",
		Short: "Show what changed between two gVisor versions",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			arches, err := archList(archFlag)
			if err != nil {
				return err
			}
			var vs [2]compat.Version
			for i, spec := range args {
				v, err := compat.ResolveVersion(spec)
				if err != nil {
					return &usageError{err}
				}
				vs[i] = v
			}
			compared := 0
			for _, a := range arches {
				t1, err1 := compat.Load(vs[0], a, "")
				t2, err2 := compat.Load(vs[1], a, "")
				if err1 != nil || err2 != nil {
					if len(arches) > 1 {
						continue // e.g. the 2020 documentation has no arm64 table
					}
					return errors.Join(err1, err2)
				}
				compared++
				var changes []compat.Change
				for _, c := range compat.Diff(t1, t2) {
					if notes || c.SupportChanged() || c.Old.Errno != c.New.Errno {
						changes = append(changes, c)
					}
				}
				fmt.Fprintf(e.stdout, "%s: %s -> %s: %s\n", a, vs[0].ID, vs[1].ID, report.Plural(len(changes), "change"))
				tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				for _, c := range changes {
					fmt.Fprintf(tw, "  %d\t%s\t%s\t->\t%s\t%s\n", c.Number, c.Name, entryCell(c.Old), entryCell(c.New), strings.Join(c.Fields, ","))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if compared == 0 {
				return fmt.Errorf("no architecture has a table in both %s and %s", vs[0].ID, vs[1].ID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&archFlag, "arch", "", "only this architecture (default: both)")
	cmd.Flags().BoolVar(&notes, "notes", false, "also list changes of notes and links only")
	return cmd
}

func newDBExportCmd(e *env) *cobra.Command {
	var target targetFlags
	var format string
	var allVersions bool
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export syscall tables as JSON or CSV",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "json" && format != "csv" {
				return usagef("--format: unknown format %q (want json or csv)", format)
			}
			var tables []*compat.Table
			if allVersions {
				arches := sysno.Arches
				if target.arch != "" {
					a, err := target.archFor()
					if err != nil {
						return err
					}
					arches = []sysno.Arch{a}
				}
				for _, v := range compat.Versions() {
					for _, a := range arches {
						t, err := compat.Load(v, a, "")
						if err != nil {
							continue // e.g. the 2020 documentation has no arm64 list
						}
						tables = append(tables, t)
					}
				}
			} else {
				arch, err := target.archFor()
				if err != nil {
					return err
				}
				t, _, err := target.resolveTable(cmd.Context(), arch)
				if err != nil {
					return err
				}
				tables = append(tables, t)
			}
			if format == "json" {
				return exportJSON(e.stdout, tables)
			}
			return exportCSV(e.stdout, tables)
		},
	}
	target.register(cmd.Flags())
	cmd.Flags().StringVarP(&format, "format", "f", "json", "json or csv")
	cmd.Flags().BoolVar(&allVersions, "all-versions", false, "every embedded version (with --arch, one architecture)")
	return cmd
}

type exportedTable struct {
	Version compat.Version `json:"version"`
	Arch    sysno.Arch     `json:"arch"`
	Variant string         `json:"variant,omitempty"`
	Entries []compat.Entry `json:"syscalls"`
}

func allEntries(t *compat.Table) []compat.Entry {
	var out []compat.Entry
	for _, nr := range sysno.Numbers(t.Arch) {
		out = append(out, t.Lookup(nr))
	}
	return out
}

func exportJSON(w io.Writer, tables []*compat.Table) error {
	out := make([]exportedTable, 0, len(tables))
	for _, t := range tables {
		out = append(out, exportedTable{t.Version, t.Arch, t.Variant, allEntries(t)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func exportCSV(w io.Writer, tables []*compat.Table) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"version", "date", "tag", "arch", "number", "name", "support", "errno", "cap", "in_table", "note", "urls"})
	for _, t := range tables {
		for _, en := range allEntries(t) {
			cw.Write([]string{t.Version.ID, t.Version.Date.Format("2006-01-02"), t.Version.Tag, string(t.Arch),
				fmt.Sprint(en.Number), en.Name, en.Support.String(), en.Errno, en.Cap, fmt.Sprint(en.InTable),
				en.Note, strings.Join(en.URLs, " ")})
		}
	}
	cw.Flush()
	return cw.Error()
}

func archList(flag string) ([]sysno.Arch, error) {
	if flag == "" {
		return sysno.Arches, nil
	}
	a, err := sysno.ParseArch(flag)
	if err != nil {
		return nil, &usageError{fmt.Errorf("--arch: %w", err)}
	}
	return []sysno.Arch{a}, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments", cmd.CommandPath())
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

// syscallArg reads db show's argument: a name in any case, with or without
// a SYS_ or __NR_ prefix, or a number on --arch (default: the host's).
func syscallArg(s, archFlag string) (string, error) {
	arch := sysno.Host()
	if archFlag != "" {
		a, err := sysno.ParseArch(archFlag)
		if err != nil {
			return "", &usageError{fmt.Errorf("--arch: %w", err)}
		}
		arch = a
	}
	if nr, err := strconv.ParseInt(s, 0, 32); err == nil {
		if nr < 0 || !sysno.Known(arch, int(nr)) {
			return "", usagef("no %s syscall has number %s", arch, s)
		}
		return sysno.Name(arch, int(nr)), nil
	}
	name := strings.ToLower(s)
	for _, p := range []string{"sys_", "__nr_"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			if _, known := sysno.Number(arch, rest); known {
				name = rest
			}
		}
	}
	return name, nil
}
