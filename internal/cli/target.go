package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/filecap"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// targetFlags name the gVisor that evidence is judged against.
type targetFlags struct {
	gvisor     string
	tableFile  string
	arch       string
	runsc      string
	runscFlags []string
	platform   string
}

func (t *targetFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&t.gvisor, "gvisor", "latest", "gVisor version: latest, a release tag (release-20230920.0), a date (2023-10-01), a module version, docs-2020-04-23, or installed (the runsc on PATH)")
	fs.StringVar(&t.tableFile, "gvisor-table", "", "judge against this table, as printed by 'runsc help syscalls -format=json'")
	fs.StringVar(&t.arch, "arch", "", "architecture of the target table: amd64 or arm64 (default: the evidence's, else the host's)")
	fs.StringVar(&t.runsc, "runsc", "", "runsc binary for --gvisor=installed (default: runsc on PATH)")
	fs.StringArrayVar(&t.runscFlags, "runsc-flag", nil, "a runsc option the sandbox will run with, e.g. --net-raw (repeatable)")
	fs.Var(&splitFlag{&t.runscFlags}, "runsc-flags", "runsc options the sandbox will run with, space-separated, e.g. '--net-raw --iouring'")
	fs.StringVar(&t.platform, "platform", "", "runsc platform: systrap, ptrace or kvm")
}

// splitFlag appends the space-separated words of each value to a list.
type splitFlag struct{ list *[]string }

func (s *splitFlag) String() string {
	if s.list == nil {
		return ""
	}
	return strings.Join(*s.list, " ")
}
func (s *splitFlag) Set(v string) error {
	*s.list = append(*s.list, strings.Fields(v)...)
	return nil
}
func (s *splitFlag) Type() string { return "flags" }

// validate checks the target flags before any evidence is read, so that a
// typo is reported as such rather than after a long parse.
func (t *targetFlags) validate() error {
	if _, err := t.options(); err != nil {
		return err
	}
	if _, err := t.archFor(); err != nil {
		return err
	}
	if t.tableFile == "" && t.gvisor != "installed" {
		if _, err := compat.ResolveVersion(t.gvisor); err != nil {
			return &usageError{fmt.Errorf("--gvisor: %w", err)}
		}
	}
	return nil
}

// archFor returns the --arch value, or "" to let the evidence decide.
func (t *targetFlags) archFor() (sysno.Arch, error) {
	if t.arch == "" {
		return "", nil
	}
	a, err := sysno.ParseArch(t.arch)
	if err != nil {
		return "", &usageError{fmt.Errorf("--arch: %w", err)}
	}
	return a, nil
}

// options returns the runsc flags with --platform folded in.
func (t *targetFlags) options() ([]string, error) {
	flags := slices.Clone(t.runscFlags)
	for _, f := range flags {
		if !strings.HasPrefix(f, "-") {
			return nil, usagef("--runsc-flags: %q is not a flag (runsc options start with -)", f)
		}
	}
	if t.platform != "" {
		switch t.platform {
		case "systrap", "ptrace", "kvm":
		default:
			return nil, usagef("--platform: unknown platform %q (want systrap, ptrace or kvm)", t.platform)
		}
		flags = append(flags, "--platform="+t.platform)
	}
	return flags, nil
}

// target is a resolved gVisor target: its syscall table, the argument and
// path rules of the same version, and the runsc options it runs with.
type target struct {
	table  *compat.Table
	rules  *rules.Set
	flags  []string
	report report.Target
	// fileCaps reads executables' file capabilities (nil: the host's), and
	// sandboxCaps are the capabilities the sandbox holds (nil: runsc do's);
	// a container image sets both.
	fileCaps    func(string) (filecap.Caps, bool)
	sandboxCaps []string
	mounts      []string
}

// analyze judges p against the target.
func (t *target) analyze(p *profile.Profile) *analyze.Result {
	return analyze.AnalyzeWith(p, t.table, t.options())
}

func (t *target) options() analyze.Options {
	fc := t.fileCaps
	if fc == nil {
		fc = hostFileCaps
	}
	return analyze.Options{Rules: t.rules, RunscFlags: t.flags, FileCaps: fc, SandboxCaps: t.sandboxCaps, Mounts: t.mounts}
}

// resolve loads the target for arch (the evidence's architecture).
func (t *targetFlags) resolve(ctx context.Context, arch sysno.Arch) (*target, error) {
	table, tgt, err := t.resolveTable(ctx, arch)
	if err != nil {
		return nil, err
	}
	// A runsc table from a file or an installed binary borrows the rules of
	// the embedded version with the same table, else of the newest.
	ruleVersion := table.Version.ID
	if table.Version.ID == "installed" || strings.HasPrefix(table.Version.ID, "file:") {
		ruleVersion = compat.Latest().ID
		if ms := compat.Matching(table); len(ms) > 0 {
			ruleVersion = ms[len(ms)-1].Version.ID
		}
	}
	set, _ := rules.For(ruleVersion, table.Arch)
	return &target{table: table, rules: set, flags: tgt.RunscFlags, report: tgt}, nil
}

func (t *targetFlags) resolveTable(ctx context.Context, arch sysno.Arch) (*compat.Table, report.Target, error) {
	flags, err := t.options()
	if err != nil {
		return nil, report.Target{}, err
	}
	if arch == "" {
		arch = sysno.Host()
	}
	var table *compat.Table
	switch {
	case t.tableFile != "":
		table, err = compat.ReadRunscTableFile(t.tableFile, arch)
		if err != nil {
			return nil, report.Target{}, fmt.Errorf("--gvisor-table: %w", err)
		}
	case t.gvisor == "installed":
		table, err = compat.InstalledTable(ctx, t.runsc, arch)
		if err != nil {
			return nil, report.Target{}, withHint(fmt.Errorf("--gvisor=installed: %w", err),
				"install a static runsc (CGO_ENABLED=0 go install gvisor.dev/gvisor/runsc@latest) or name an embedded version with --gvisor")
		}
	default:
		v, err := compat.ResolveVersion(t.gvisor)
		if err != nil {
			return nil, report.Target{}, &usageError{fmt.Errorf("--gvisor: %w", err)}
		}
		table, err = compat.Load(v, arch, v.VariantFor(flags))
		if err != nil {
			return nil, report.Target{}, fmt.Errorf("load gVisor %s %s table: %w", v.ID, arch, err)
		}
	}
	v := table.Version
	return table, report.Target{
		GVisor: v.ID, Tag: v.Tag, Date: v.Date, Arch: string(table.Arch), Variant: table.Variant,
		RunscFlags: flags, Source: v.Source,
	}, nil
}

// hostFileCaps reads an executable's file capabilities from this host: the
// evidence names the programs it ran, usually here.
func hostFileCaps(path string) (filecap.Caps, bool) {
	c, ok, err := filecap.Read(path)
	return c, ok && err == nil
}

// unsupportedCall reports whether the target lacks what call c asks: an
// unimplemented syscall, or a key argument its rules say it refuses.
func (t *target) unsupportedCall(c profile.Call) bool {
	if c.Nr >= 0 && t.table.Lookup(c.Nr).Support == compat.Unimplemented {
		return true
	}
	if t.rules == nil || len(c.KeyValues) == 0 {
		return false
	}
	v, _ := t.rules.Judge(c.Name, c.KeyValues, t.flags)
	return v == rules.AnswerUnsupported || v == rules.AnswerNeedsFlag
}

// stubCall reports whether the target gVisor documents name as a stub (its
// note starts "Stub implementation"): whatever it returns says nothing of
// the host, and a program that prints it prints something else.
func (t *target) stubCall(name string) bool {
	nr, ok := sysno.Number(t.table.Arch, name)
	if !ok {
		return false
	}
	en := t.table.Lookup(nr)
	return en.Support != compat.Full && strings.HasPrefix(en.Note, "Stub implementation")
}

// runscPath names the runsc that runs programs.
func (t *targetFlags) runscPath() string {
	if t.runsc != "" {
		return t.runsc
	}
	return "runsc"
}
