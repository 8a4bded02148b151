package cli

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/ingest"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// completeFlagValues teaches shell completion (gvcheck completion
// bash|zsh|fish|powershell) the values of every flag that takes one of a
// known set, on every command that has the flag.
func completeFlagValues(root *cobra.Command) {
	fixed := func(vals ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp)
	}
	byFlag := map[string]cobra.CompletionFunc{
		"gvisor":       completeVersions,
		"fail-on":      fixed("needs-option\tthe default: fail on an at-risk verdict", "partial", "unsupported-argument", "unimplemented", "never\tonly errors fail"),
		"input-format": fixed(formatNames(ingest.Formats)...),
		"arch":         fixed(archNames()...),
		"platform":     fixed("systrap", "ptrace", "kvm"),
		"backend":      fixed("auto", "ebpf", "ptrace"),
		"probe":        fixed("auto", "always", "never"),
		"explain":      fixed("auto", "always", "never"),
		"support":      fixed("full", "partial", "unimplemented"),
		"caps":         fixed("own", "all", "none", "docker"),
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, fn := range byFlag {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, fn)
			}
		}
		if c.Flags().Lookup("format") != nil {
			_ = c.RegisterFlagCompletionFunc("format", fixed(formatsOf(c)...))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// formatsOf lists the --format values a command takes.
func formatsOf(c *cobra.Command) []string {
	switch c.CommandPath() {
	case "gvcheck db export":
		return []string{"json", "csv"}
	case "gvcheck version":
		return []string{"text", "json"}
	case "gvcheck probe", "gvcheck verify":
		return []string{"text", "json", "markdown"}
	}
	return reportFormats
}

// reportFormats are the formats of gvcheck.report/v1 reports.
var reportFormats = report.Formats

func formatNames(fs []ingest.Format) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

func archNames() []string {
	out := make([]string, len(sysno.Arches))
	for i, a := range sysno.Arches {
		out[i] = string(a)
	}
	return out
}

// completeVersions offers every embedded gVisor version by release tag
// (the spelling people know), with its date as the description.
func completeVersions(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	out := []cobra.Completion{"latest\tthe newest embedded version", "installed\tthe runsc on PATH"}
	if cmd.Name() == "check" {
		out = append(out, "all\tevery embedded version: a history table")
	}
	vs := compat.Versions()
	slices.Reverse(vs) // newest first
	for _, v := range vs {
		name := v.Tag
		if name == "" || strings.HasPrefix(v.ID, "docs-") {
			name = v.ID
		}
		out = append(out, cobra.CompletionWithDesc(name, v.Date.Format("2006-01-02")+" "+v.ID))
	}
	return filterPrefix(out, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeSyscalls offers syscall names of both architectures (db show).
func completeSyscalls(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	seen := map[string]bool{}
	var out []cobra.Completion
	for _, a := range sysno.Arches {
		for _, nr := range sysno.Numbers(a) {
			n := sysno.Name(a, nr)
			if !seen[n] && strings.HasPrefix(n, strings.ToLower(toComplete)) {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

func filterPrefix(vals []cobra.Completion, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, v := range vals {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}
