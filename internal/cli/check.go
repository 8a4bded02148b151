package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/gvisor"
	"github.com/gvcheck/gvcheck/internal/ingest"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/report"
)

func newCheckCmd(e *env) *cobra.Command {
	var (
		target    targetFlags
		out       outputFlags
		inFormat  string
		workloads bool
		bl        baselineFlags
		img       imageFlags
		imgSource string
	)
	cmd := &cobra.Command{
		Use:   "check [FILE|DIR|-]...",
		Short: "Judge recorded evidence: strace logs, name lists, seccomp profiles, saved profiles",
		Long: `Judge recorded evidence against a gVisor version.

Inputs (format detected, or forced with --input-format):
  strace logs        any mix of -f, -ff (a directory of per-pid files), -t/-tt/-ttt/-r,
                     -T, -n, -y/-yy, -X, unfinished/resumed pairs, signals, exits
  strace -c tables   summary tables of -c, -C and -w
  name lists         one syscall name per line (the output of sed 's/(.*//' | sort | uniq)
  seccomp profiles   OCI/Docker seccomp JSON, Kubernetes SeccompProfile objects
  gvcheck profiles   saved with 'gvcheck run --save'
With no file, or "-", standard input is read. Several inputs merge into one
workload; --workloads reports each input (and each object of a list) on its own row.
--gvisor all adds the verdict in every embedded gVisor version and names the
first from which the evidence stays compatible.

--image judges a container image from its files alone: programs whose file
capabilities the sandbox cannot grant, set-user-ID programs, the C library
and its version, Go programs and their Go version, what runs the
entrypoint, and the container settings given (--cap-add, --privileged,
--network, --seccomp).

Kubernetes workload manifests (Pod, Deployment, StatefulSet, DaemonSet,
ReplicaSet, Job, CronJob; YAML, several objects per file) are judged for a
gVisor runtime class, one row per container: added capabilities runsc does
not grant, privileged mode, the host's network, PID and IPC namespaces, host
paths, seccomp and AppArmor profiles, each with the gVisor source it rests
on. With --image-source docker each container's image is checked too, from
the local Docker Engine.

` + exitStatusHelp,
		Example: `  strace -f -o app.log ./app && gvcheck check app.log
  gvcheck check --gvisor docs-2020-04-23 syscalls_nmap
  gvcheck check --workloads --format markdown profiles/*.yaml
  gvcheck check --image docker:myapp:latest
  gvcheck check --image-source docker deploy.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			// --gvisor all: the newest version's report with the verdict in
			// every embedded version.
			showHistory := target.gvisor == allVersions
			if showHistory {
				if target.tableFile != "" || workloads {
					return usagef("--gvisor all judges one piece of evidence against the embedded versions: not with --gvisor-table or --workloads")
				}
				target.gvisor = "latest"
			}
			if err := target.validate(); err != nil {
				return err
			}
			failOn, err := analyze.ParseLevel(out.failOn)
			if err != nil {
				return &usageError{fmt.Errorf("--fail-on: %w", err)}
			}
			format, err := ingest.ParseFormat(inFormat)
			if err != nil {
				return &usageError{fmt.Errorf("--input-format: %w", err)}
			}
			arch, err := target.archFor()
			if err != nil {
				return err
			}
			if err := img.check(cmd); err != nil {
				return err
			}
			if img.used() && len(args) == 0 {
				tg, err := target.resolve(cmd.Context(), arch)
				if err != nil {
					return err
				}
				ropt := report.Options{All: out.all, FailOn: failOn}
				rw, err := img.imageWorkload(cmd.Context(), tg, ropt)
				if err != nil {
					return err
				}
				return writeCheck(e, &out, &bl, tg, []report.Workload{rw}, ropt, failOn)
			}
			if imgSource != "none" && imgSource != "docker" {
				return usagef("--image-source: want none or docker, not %q", imgSource)
			}
			manifests, rest := splitManifests(args)
			if len(manifests) > 0 && len(rest) == 0 {
				tg, err := target.resolve(cmd.Context(), arch)
				if err != nil {
					return err
				}
				ropt := report.Options{All: out.all, FailOn: failOn}
				rws, err := manifestWorkloads(cmd.Context(), manifests, imgSource, img.cache, tg, ropt)
				if err != nil {
					return err
				}
				if img.used() {
					rw, err := img.imageWorkload(cmd.Context(), tg, ropt)
					if err != nil {
						return err
					}
					rws = append(rws, rw)
				}
				return writeCheck(e, &out, &bl, tg, rws, ropt, failOn)
			}
			args = rest
			if len(args) == 0 {
				args = []string{"-"}
			}
			// A directory that is not one strace -ff session is a fleet:
			// each file its own workload.
			args, skipped, fleet, err := expandFleets(args)
			if err != nil {
				return err
			}
			opt := ingest.Options{Format: format, Arch: arch}
			wls, err := readWorkloads(e.stdin, args, opt, workloads || fleet)
			if err != nil {
				return err
			}
			tg, err := target.resolve(cmd.Context(), wls[0].Profile.Arch)
			if err != nil {
				return err
			}
			ropt := report.Options{All: out.all, FailOn: failOn}
			var rws []report.Workload
			for _, w := range wls {
				if w.Profile.Arch != tg.table.Arch {
					return fmt.Errorf("%s: evidence is %s but the target table is %s", w.Name, w.Profile.Arch, tg.table.Arch)
				}
				res := tg.analyze(w.Profile)
				rw := report.NewWorkload(w.Name, w.Profile, res, ropt)
				if len(w.Logs) > 0 {
					rw.Log = judgeLog(w.Logs, tg)
					markLogVerdict(&rw)
				}
				rws = append(rws, rw)
			}
			if len(manifests) > 0 {
				more, err := manifestWorkloads(cmd.Context(), manifests, imgSource, img.cache, tg, ropt)
				if err != nil {
					return err
				}
				rws = append(rws, more...)
			}
			if img.used() {
				rw, err := img.imageWorkload(cmd.Context(), tg, ropt)
				if err != nil {
					return err
				}
				rws = append(rws, rw)
			}
			addFleet := func(rep *report.Report) error {
				if fleet || len(rep.Workloads) > 1 {
					rep.Fleet = report.NewFleet(rep.Workloads, failOn)
					rep.Fleet.Skipped = skipped
				}
				return nil
			}
			var addHistory func(*report.Report) error
			if showHistory {
				addHistory = func(rep *report.Report) (err error) {
					rep.History, err = history(cmd.Context(), target, wls[0].Profile, failOn)
					return err
				}
			}
			return writeCheck(e, &out, &bl, tg, rws, ropt, failOn, addHistory, addFleet)
		},
	}
	fs := cmd.Flags()
	target.register(fs)
	out.register(fs)
	fs.BoolVar(&out.all, "all", false, "list every syscall seen, not only the findings")
	registerFailOn(fs, &out.failOn)
	bl.register(fs)
	fs.StringVar(&inFormat, "input-format", "auto", "input format: auto, strace, strace-summary, names, profile, oci-seccomp, spo")
	fs.BoolVar(&workloads, "workloads", false, "report each input, and each object of a multi-object file, as its own workload")
	img.register(fs)
	fs.StringVar(&imgSource, "image-source", "none", "for Kubernetes manifests: also check each container's image, from none or docker (the local Docker Engine)")
	return cmd
}

// writeCheck writes check's report and returns its exit.
// writeCheck writes check's report; decorate, if set, adds to it first
// (the history of --gvisor all).
func writeCheck(e *env, out *outputFlags, bl *baselineFlags, tg *target, rws []report.Workload, ropt report.Options, failOn analyze.Level, decorate ...func(*report.Report) error) error {
	rep := report.New("gvcheck "+Version, tg.report, rws)
	if err := bl.apply(rep); err != nil {
		return err
	}
	for _, d := range decorate {
		if d == nil {
			continue
		}
		if err := d(rep); err != nil {
			return err
		}
	}
	failed := reportFails(rep, failOn)
	if err := out.writeTo(e.stdout, func(w io.Writer) error { return report.Write(w, rep, out.format, ropt) }); err != nil {
		return err
	}
	if failed {
		return &exitError{ExitFindings}
	}
	return nil
}

type namedProfile struct {
	Name    string
	Profile *profile.Profile
	// Logs are the reports of gVisor logs among the evidence.
	Logs []gvisor.UnsupportedReport
}

// readEvidence reads every input ingest reads; merged into one workload
// unless each input is to stand on its own.
func readEvidence(stdin io.Reader, args []string, opt ingest.Options, separate bool) ([]namedProfile, error) {
	if !separate {
		var p *profile.Profile
		var err error
		if len(args) == 1 && args[0] == "-" {
			p, err = ingest.Read(stdin, "-", opt)
		} else {
			p, err = ingest.ReadFiles(args, opt)
		}
		if err != nil {
			return nil, err
		}
		name := args[0]
		if len(args) > 1 {
			name = fmt.Sprintf("%s and %d more", args[0], len(args)-1)
		}
		return []namedProfile{{Name: name, Profile: p}}, nil
	}
	ws, err := ingest.ReadFilesWorkloads(args, opt)
	if err != nil {
		return nil, err
	}
	var out []namedProfile
	for _, w := range ws {
		out = append(out, namedProfile{Name: w.Name, Profile: w.Profile})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no workloads in the evidence")
	}
	arch := out[0].Profile.Arch
	for _, w := range out[1:] {
		if w.Profile.Arch != arch {
			return nil, fmt.Errorf("%s is %s evidence but %s is %s: check them separately or pass --arch", w.Name, w.Profile.Arch, out[0].Name, arch)
		}
	}
	return out, nil
}
