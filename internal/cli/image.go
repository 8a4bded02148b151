package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/container"
	"github.com/gvcheck/gvcheck/internal/filecap"
	"github.com/gvcheck/gvcheck/internal/image"
	"github.com/gvcheck/gvcheck/internal/imagecheck"
	"github.com/gvcheck/gvcheck/internal/isolate"
	"github.com/gvcheck/gvcheck/internal/probe"
	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/report"
	"github.com/gvcheck/gvcheck/internal/simulate"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// imageFlags choose a container image and the `docker run` settings it
// runs with.
type imageFlags struct {
	ref        string
	cache      string
	capAdd     []string
	capDrop    []string
	privileged bool
	readOnly   bool
	network    string
	seccomp    string
	user       string
}

func (f *imageFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.ref, "image", "", "a container image to judge instead of a command: oci:DIR[:TAG] (an OCI image layout), archive:FILE[:TAG] (docker save or OCI archive), docker:NAME[:TAG] (the local Docker Engine); arguments after -- replace its cmd")
	fs.StringVar(&f.cache, "image-cache", "", "where image layers are unpacked (default: ~/.cache/gvcheck)")
	fs.StringSliceVar(&f.capAdd, "cap-add", nil, "with --image: add capabilities to Docker's default set (docker run --cap-add)")
	fs.StringSliceVar(&f.capDrop, "cap-drop", nil, "with --image: drop capabilities from Docker's default set (docker run --cap-drop)")
	fs.BoolVar(&f.privileged, "privileged", false, "with --image: run as docker run --privileged (every capability, the host's devices)")
	fs.BoolVar(&f.readOnly, "read-only", false, "with --image: a read-only root filesystem (docker run --read-only)")
	fs.StringVar(&f.network, "network", "", "with --image: none (loopback only, the default) or host (docker run --network host; runsc --network=host)")
	fs.StringVar(&f.seccomp, "seccomp", "", "with --image: the container's seccomp profile (docker run --security-opt seccomp=FILE), or unconfined")
	fs.StringVar(&f.user, "user", "", "with --image: run as this user, NAME|UID[:GROUP|GID] (docker run --user)")
}

// used reports whether an image was named.
func (f *imageFlags) used() bool { return f.ref != "" }

// check refuses container settings without an image.
func (f *imageFlags) check(cmd *cobra.Command) error {
	if f.used() {
		return f.settings().Validate()
	}
	for _, name := range []string{"image-cache", "cap-add", "cap-drop", "privileged", "read-only", "network", "seccomp", "user"} {
		if name == "image-cache" && cmd.Flags().Changed("image-source") {
			continue // images of a manifest's containers
		}
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
			return usagef("--%s needs --image", name)
		}
	}
	return nil
}

func (f *imageFlags) settings() container.Settings {
	return container.Settings{CapAdd: f.capAdd, CapDrop: f.capDrop, Privileged: f.privileged, Network: f.network,
		ReadOnly: f.readOnly, Seccomp: f.seccomp, User: f.user}
}

// commandOrImage is the argument check of commands that run a program:
// a command, or an image (whose cmd the arguments replace).
func commandOrImage(f *imageFlags) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if f.used() {
			return nil
		}
		return needsCommand(cmd, args)
	}
}

// implyFlags adds to t the runsc options the container settings need to
// mean under gVisor what they mean under runc, and says why.
func (f *imageFlags) implyFlags(t *targetFlags) []string {
	var notes []string
	has := func(name string) bool {
		return slices.ContainsFunc(t.runscFlags, func(fl string) bool {
			n, _, _ := cutFlag(fl)
			return n == name
		})
	}
	if f.network == "host" && !has("network") {
		t.runscFlags = append(t.runscFlags, "--network=host")
		notes = append(notes, "--network host: runsc runs with --network=host (without it runsc starts the sandbox in a new network namespace: runsc/sandbox/sandbox.go)")
	}
	for _, c := range f.capAdd {
		if n, ok := filecap.Number(c); ok && filecap.Name(n) == "CAP_NET_RAW" && !has("net-raw") {
			t.runscFlags = append(t.runscFlags, "--net-raw")
			notes = append(notes, "--cap-add NET_RAW: runsc runs with --net-raw (without it runsc removes CAP_NET_RAW from every container: runsc/config/flags.go, runsc/specutils/specutils.go:Capabilities)")
		}
	}
	return notes
}

// openImage opens the image for arch ("" for this machine's).
func (f *imageFlags) openImage(ctx context.Context, arch sysno.Arch) (*image.Image, error) {
	ref, err := image.ParseRef(f.ref, func(p string) bool { _, err := os.Stat(p); return err == nil })
	if err != nil {
		return nil, &usageError{fmt.Errorf("--image: %w", err)}
	}
	dir := f.cache
	if dir == "" {
		if dir, err = image.DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	goarch := ""
	switch arch {
	case sysno.AMD64:
		goarch = "amd64"
	case sysno.ARM64:
		goarch = "arm64"
	}
	im, err := image.Open(ctx, ref, image.Options{Cache: &image.Cache{Dir: dir}, Arch: goarch})
	if err != nil {
		if os.Geteuid() != 0 && errors.Is(err, os.ErrPermission) {
			return nil, withHint(err, "unpacking image layers needs root: whiteouts are device nodes and file capabilities security attributes")
		}
		return nil, err
	}
	return im, nil
}

// imageRun is an image's program ready to run natively and under gVisor.
type imageRun struct {
	im       *image.Image
	proc     *container.Process
	settings container.Settings
	rootfs   *isolate.Rootfs
	tmp      string
}

// prepare opens the image and derives its program (args replace its cmd).
func (f *imageFlags) prepare(ctx context.Context, args []string) (*imageRun, error) {
	im, err := f.openImage(ctx, sysno.Host())
	if err != nil {
		return nil, err
	}
	if a := im.Platform.Architecture; a != "" && a != goarchOf(sysno.Host()) {
		return nil, fmt.Errorf("image %s is for %s; this machine runs %s programs", im.Ref, a, goarchOf(sysno.Host()))
	}
	s := f.settings()
	proc, err := container.NewProcess(im, args, s)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", im.Ref, err)
	}
	tmp, err := os.MkdirTemp("", "gvcheck-image-")
	if err != nil {
		return nil, err
	}
	files, err := container.WriteFiles(filepath.Join(tmp, "native"))
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &imageRun{im: im, proc: proc, settings: s, rootfs: proc.Isolation(im, s, files), tmp: tmp}, nil
}

func (r *imageRun) Close() { os.RemoveAll(r.tmp) }

func goarchOf(a sysno.Arch) string {
	if a == sysno.ARM64 {
		return "arm64"
	}
	return "amd64"
}

// fileCaps reads the file capabilities of an executable of the image.
func (r *imageRun) fileCaps(p string) (filecap.Caps, bool) {
	return imageFileCaps(r.im.Rootfs(), p)
}

func imageFileCaps(rootfs *image.Rootfs, p string) (filecap.Caps, bool) {
	host, _, err := rootfs.Stat(p)
	if err != nil {
		return filecap.Caps{}, false
	}
	c, ok, err := filecap.Read(host)
	return c, ok && err == nil
}

// sandboxCaps are the capabilities the container's bounding set holds
// under runsc: its own, less CAP_NET_RAW without --net-raw
// (runsc/specutils/specutils.go:Capabilities).
func sandboxCaps(caps, runscFlags []string) []string {
	netRaw := slices.ContainsFunc(runscFlags, func(f string) bool {
		n, v, ok := cutFlag(f)
		return n == "net-raw" && (!ok || v == "true")
	})
	out := []string{}
	for _, c := range caps {
		if c == "CAP_NET_RAW" && !netRaw {
			continue
		}
		out = append(out, c)
	}
	return out
}

// setTarget makes tg judge the image: its files' capabilities, the
// container's capabilities.
func (r *imageRun) setTarget(tg *target) {
	tg.fileCaps = r.fileCaps
	tg.sandboxCaps = sandboxCaps(r.proc.Caps, tg.flags)
	tg.mounts = container.Mounts
}

// hasCap says which capabilities the sandboxed program holds, deciding how
// gVisor fails CapError syscalls: a root program holds the container's, any
// other none.
func (r *imageRun) hasCap(tg *target) func(string) bool {
	if r.proc.UID != 0 {
		return simulate.CapSet(nil)
	}
	return simulate.CapSet(sandboxCaps(r.proc.Caps, tg.flags))
}

// name is the workload's name in reports.
func (r *imageRun) name() string {
	return r.im.Ref.String() + " (" + strings.Join(r.proc.Argv, " ") + ")"
}

// configure points a probe at the image's program.
func (r *imageRun) configure(cfg *probe.Config, tg *target, caps string) {
	cfg.Argv, cfg.Env, cfg.Dir = r.proc.Argv, r.proc.Env, r.proc.Dir
	cfg.Rootfs, cfg.Path, cfg.InPlace = r.rootfs, r.proc.Path, false
	hasCap := r.hasCap(tg)
	if caps != "" {
		if h, err := simulate.ParseCaps(caps); err == nil {
			hasCap = h
		}
	}
	cfg.SetTargetWith(tg.table, tg.options(), hasCap)
}

// imageWorkload is check --image: the image's facts and the container
// settings' findings, judged statically for tg.
func (f *imageFlags) imageWorkload(ctx context.Context, tg *target, ropt report.Options) (report.Workload, error) {
	im, err := f.openImage(ctx, tg.table.Arch)
	if err != nil {
		return report.Workload{}, err
	}
	s := f.settings()
	in := imagecheck.Input{Rootfs: im.Rootfs(), SandboxCaps: sandboxCaps(s.Caps(), tg.flags),
		Table: tg.table, Rules: tg.rules, RunscFlags: tg.flags}
	if !tg.report.Date.IsZero() {
		in.Date = tg.report.Date.Format("2006-01-02")
	}
	name := im.Ref.String()
	if proc, err := container.NewProcess(im, nil, s); err == nil {
		in.Entrypoint, in.UID = proc.Path, proc.UID
		for _, kv := range proc.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				in.PathEnv = v
			}
		}
		name += " (" + strings.Join(proc.Argv, " ") + ")"
	} else if !errors.Is(err, container.ErrNoCommand) {
		return report.Workload{}, fmt.Errorf("image %s: %w", im.Ref, err)
	}
	facts, err := imagecheck.Facts(in)
	if err != nil {
		return report.Workload{}, err
	}
	hostPaths := []imagecheck.HostPath(nil)
	facts = append(facts, imagecheck.SettingFindings(imagecheck.Settings{CapAdd: s.CapAdd, Privileged: s.Privileged,
		HostNetwork: s.Network == "host", HostPaths: hostPaths, Seccomp: s.Seccomp}, tg.table, tg.flags)...)
	return staticWorkload(name, "image", im.Ref.String(), tg, facts, ropt), nil
}

// staticWorkload is a report row of facts read from files.
func staticWorkload(name, kind, source string, tg *target, facts []analyze.Finding, ropt report.Options) report.Workload {
	p := profile.New(tg.table.Arch)
	p.Sources = []profile.Source{{Kind: kind, Name: source, Coverage: profile.CoverageStatic,
		Detail: "facts read from files; nothing ran"}}
	slices.SortStableFunc(facts, func(a, b analyze.Finding) int { return int(b.Level) - int(a.Level) })
	if facts == nil {
		facts = []analyze.Finding{}
	}
	res := &analyze.Result{Findings: facts, Verdict: analyze.Compatible}
	if res.Max() >= analyze.LevelNeedsOption {
		res.Verdict = analyze.AtRisk
	}
	return report.NewWorkload(name, p, res, ropt)
}
