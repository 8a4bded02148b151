// Command e2e times the gvcheck binary on the jobs users run (check, run,
// run --full, probe, verify), each against the program run natively and
// against its nearest peer doing the same job, in the same run:
//
//   - check: the founding article's pipeline (sed | sort | uniq, comm);
//   - run: strace -f --seccomp-bpf tracing the same syscalls the fast
//     filter stops, and, as the kernel's floor, a bare one-instruction
//     SECCOMP_RET_ALLOW filter;
//   - run --full: strace -f -o /dev/null;
//   - probe: testing one missing syscall at a time (2n runs);
//   - verify: running the program under runsc by hand.
//
// The configurations of a job are run in turn, round after round (rotating
// which goes first), so that all of them see the same machine conditions;
// ratios are taken within a round and printed with their minimum, median
// and maximum. Every figure in the README's performance section comes from
// here; bench/run.sh builds and runs it.
package main

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/compat/extract"
	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// config is one way of doing a job: a command line and the exit statuses
// that show it did the job.
type config struct {
	label string
	argv  []string
	exits []int // default {0}
}

// figure is one number a job reports: a ratio of two configurations'
// times per round (b/a with inverse: "a is N times faster than b"), a
// difference, the same of their CPU times (cpuratio, cpudiff: what the
// program tree consumed, which other load on the machine disturbs less
// than wall time), or one configuration's CPU time or peak RSS.
type figure struct {
	name   string
	kind   string // "ratio", "faster", "diff", "cpuratio", "cpudiff", "cpu", "wall", "rss"
	a, b   string
	target string // "<= 1.0", ">= 10", "<= 20ms", "<= 15MiB"; "" for context
	calls  int    // for "diff", "cpudiff", "wall": per call of a program making this many, in ns
}

type job struct {
	name, what string
	configs    []config
	figures    []figure
	rounds     int // 0: the -rounds flag
}

type sample struct {
	wall, cpu time.Duration
	rssKiB    int64
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "filter-exec":
			filterExec(os.Args[2:])
			return
		case "one-at-a-time":
			os.Exit(oneAtATime(os.Args[2:]))
		case "notify-floor":
			os.Exit(notifyFloor(os.Args[2:]))
		case "notify-child":
			notifyChild(os.Args[2:])
			return
		case "bpf-floor-exec":
			os.Exit(bpfFloorExec(os.Args[2:]))
		}
	}
	rounds := flag.Int("rounds", 5, "interleaved rounds per job (startup jobs run 4x as many)")
	gvcheck := flag.String("gvcheck", "", "gvcheck binary to time (default: build ./cmd/gvcheck)")
	only := flag.String("jobs", "", "comma-separated jobs to run (default: all): "+strings.Join(jobNames, ","))
	memSyscalls := flag.Int("mem-syscalls", 10_000_000, "syscalls made by the program of the memory job")
	flag.Parse()
	if err := run(*rounds, *gvcheck, *only, *memSyscalls); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

var jobNames = []string{"startup", "check-log", "fast-dd", "fast-python", "full-dd", "full-python", "ebpf-dd", "ebpf-python", "ebpf-syscall", "probe", "verify", "memory"}

// env is what the jobs share: the binaries and prepared files.
type env struct {
	tmp, gvcheck, self string
	traced             []string // syscalls the fast filter can stop (run's default --paths)
	tracedNoPaths      []string // the same with --paths=false
}

func run(rounds int, gv, only string, memSyscalls int) error {
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			if !slices.Contains(jobNames, n) {
				return fmt.Errorf("unknown job %q (want %s)", n, strings.Join(jobNames, ", "))
			}
			want[n] = true
		}
	}
	tmp, err := os.MkdirTemp("", "gvcheck-e2e-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	e := &env{tmp: tmp, gvcheck: gv}
	if e.gvcheck == "" {
		// The static release build the README describes: with cgo (the
		// toolchain's default where a C compiler is installed) the binary
		// would load the dynamic linker and the C library at every start,
		// the shim's included.
		e.gvcheck = filepath.Join(tmp, "gvcheck")
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", e.gvcheck, "./cmd/gvcheck")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build gvcheck: %w\n%s", err, out)
		}
	}
	if e.self, err = os.Executable(); err != nil {
		return err
	}
	if e.traced, err = tracedSet(true); err != nil {
		return err
	}
	if e.tracedNoPaths, err = tracedSet(false); err != nil {
		return err
	}
	fmt.Printf("gvcheck end-to-end benchmarks: %s, %d CPUs, kernel %s, load %s\n", time.Now().UTC().Format(time.DateTime), runtime.NumCPU(), kernel(), loadavg())
	fmt.Printf("gvcheck binary: %s (%s); %d rounds per job, configurations in turn; ratios are per round: min / median / max\n", e.gvcheck, describeBinary(e.gvcheck), rounds)
	var all []string
	for _, name := range jobNames {
		if len(want) > 0 && !want[name] {
			continue
		}
		j, skip, err := e.job(name, memSyscalls)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if skip != "" {
			fmt.Printf("\n== %s: skipped: %s\n", name, skip)
			continue
		}
		r := rounds
		switch {
		case j.rounds > 0:
			r = j.rounds
		case name == "startup" || name == "check-log":
			r = 4 * rounds // milliseconds each: more rounds, same time
		}
		lines, err := measureJob(j, r)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		all = append(all, lines...)
	}
	fmt.Printf("\n== figures (load %s)\n", loadavg())
	for _, l := range all {
		fmt.Println(l)
	}
	return nil
}

// tracedSet lists the syscalls the fast mode filter of the newest gVisor
// version can stop on this host (every call, or some arguments), with or
// without the calls that name a file (--paths): the set a peer must trace
// to do the same job.
func tracedSet(paths bool) ([]string, error) {
	v := compat.Latest()
	t, err := compat.Load(v, sysno.Host(), "")
	if err != nil {
		return nil, err
	}
	set, _ := rules.For(v.ID, t.Arch)
	stops := map[string]bool{}
	pol := policy.Observe(t, set, nil)
	if paths {
		pol.TracePaths()
	}
	for _, r := range pol.Rules {
		if r.Action != policy.Allow {
			stops[sysno.Name(t.Arch, r.Nr)] = true
		}
	}
	var out []string
	for n := range stops {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func (e *env) straceSeccomp(set []string, argv ...string) []string {
	q := make([]string, len(set))
	for i, n := range set {
		q[i] = "?" + n // strace ignores names it does not know
	}
	return append([]string{"strace", "-f", "--seccomp-bpf", "-o", "/dev/null", "-e", "trace=" + strings.Join(q, ",")}, argv...)
}

func (e *env) job(name string, memSyscalls int) (*job, string, error) {
	need := func(tools ...string) string {
		for _, t := range tools {
			if _, err := exec.LookPath(t); err != nil {
				return "no " + t + " on PATH"
			}
		}
		return ""
	}
	python := []string{"python3", "-c", "import json, sqlite3"}
	dd := func(n int) []string {
		return []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=" + strconv.Itoa(n)}
	}
	gv := func(args ...string) []string { return append([]string{e.gvcheck}, args...) }
	switch name {
	case "startup":
		if s := need("strace", "comm"); s != "" {
			return nil, s, nil
		}
		names, unimpl, err := e.articleFiles()
		if err != nil {
			return nil, "", err
		}
		return &job{name: name, what: "start-up: the article's 40-name list, db show over every version, run -- true",
			rounds: 0, configs: []config{
				{label: "article: comm -1 -2 (40 names)", argv: []string{"comm", "-1", "-2", names, unimpl}},
				{label: "gvcheck check (40 names)", argv: gv("check", "--gvisor", "docs-2020-04-23", names), exits: []int{3}},
				{label: "gvcheck db show set_robust_list", argv: gv("db", "show", "set_robust_list")},
				{label: "true", argv: []string{"true"}},
				{label: "strace --seccomp-bpf true", argv: e.straceSeccomp(e.traced, "true")},
				{label: "gvcheck run -- true", argv: gv("run", "--backend", "ptrace", "--", "true")},
				{label: "gvcheck run -- true, default backend", argv: gv("run", "--", "true")},
			}, figures: []figure{
				{name: "check, article's 40 names: CPU", kind: "cpu", a: "gvcheck check (40 names)", target: "<= 20ms"},
				{name: "check, article's 40 names: peak RSS", kind: "rss", a: "gvcheck check (40 names)", target: "<= 15MiB"},
				{name: "check / article's comm (wall)", kind: "ratio", a: "gvcheck check (40 names)", b: "article: comm -1 -2 (40 names)"},
				{name: "db show (every version): wall", kind: "wall", a: "gvcheck db show set_robust_list", target: "<= 100ms"},
				{name: "run --backend ptrace -- true: wall over true", kind: "diff", a: "gvcheck run -- true", b: "true", target: "<= 30ms"},
				{name: "run -- true (default backend): wall over true", kind: "diff", a: "gvcheck run -- true, default backend", b: "true", target: "<= 30ms"},
				{name: "run -- true / strace --seccomp-bpf true", kind: "ratio", a: "gvcheck run -- true", b: "strace --seccomp-bpf true"},
			}}, "", nil
	case "check-log":
		if s := need("strace", "python3", "sed", "sort", "uniq", "comm"); s != "" {
			return nil, s, nil
		}
		_, unimpl, err := e.articleFiles()
		if err != nil {
			return nil, "", err
		}
		log := filepath.Join(e.tmp, "python.strace")
		if out, err := exec.Command("strace", append([]string{"-o", log}, python...)...).CombinedOutput(); err != nil {
			return nil, "", fmt.Errorf("strace python3: %w\n%s", err, out)
		}
		return &job{name: name, what: "judge a strace log (python3 -c 'import json, sqlite3') against the 2020 list",
			configs: []config{
				{label: "article: sed | sort | uniq | comm", argv: []string{"sh", "-c", `sed -e 's/(.*//' "$1" | sort | uniq | comm -1 -2 - "$2"`, "sh", log, unimpl}},
				{label: "gvcheck check (strace log)", argv: gv("check", "--gvisor", "docs-2020-04-23", log), exits: []int{0, 3}},
			}, figures: []figure{
				{name: "check log / article's pipeline (wall)", kind: "ratio", a: "gvcheck check (strace log)", b: "article: sed | sort | uniq | comm"},
			}}, "", nil
	case "fast-dd", "fast-python":
		if s := need("strace"); s != "" {
			return nil, s, nil
		}
		argv, what := dd(1_000_000), "fast mode, syscall-heavy: dd bs=1 count=1000000 (2M syscalls)"
		if name == "fast-python" {
			if s := need("python3"); s != "" {
				return nil, s, nil
			}
			argv, what = python, "fast mode, typical: python3 -c 'import json, sqlite3'"
		}
		j := &job{name: name, what: what, configs: []config{
			{label: "native", argv: argv},
			{label: "bare ALLOW filter (kernel floor)", argv: append([]string{e.self, "filter-exec", "--"}, argv...)},
			{label: "strace -f --seccomp-bpf (same set)", argv: e.straceSeccomp(e.traced, argv...)},
			{label: "strace -f --seccomp-bpf (same set, no paths)", argv: e.straceSeccomp(e.tracedNoPaths, argv...)},
			{label: "gvcheck run --backend ptrace", argv: gv(append([]string{"run", "--backend", "ptrace", "--"}, argv...)...)},
			{label: "gvcheck run --backend ptrace --paths=false", argv: gv(append([]string{"run", "--backend", "ptrace", "--paths=false", "--"}, argv...)...)},
			{label: "gvcheck run, default backend", argv: gv(append([]string{"run", "--"}, argv...)...)},
		}}
		j.figures = []figure{
			{name: name + ": run ptrace / strace --seccomp-bpf", kind: "ratio", a: "gvcheck run --backend ptrace", b: "strace -f --seccomp-bpf (same set)"},
			{name: name + ": run ptrace / native", kind: "ratio", a: "gvcheck run --backend ptrace", b: "native"},
			{name: name + ": CPU: run ptrace / native", kind: "cpuratio", a: "gvcheck run --backend ptrace", b: "native"},
			{name: name + ": run ptrace --paths=false / native", kind: "ratio", a: "gvcheck run --backend ptrace --paths=false", b: "native"},
			{name: name + ": run ptrace --paths=false / strace --seccomp-bpf (no paths)", kind: "ratio", a: "gvcheck run --backend ptrace --paths=false", b: "strace -f --seccomp-bpf (same set, no paths)"},
			{name: name + ": run (default backend) / strace --seccomp-bpf", kind: "ratio", a: "gvcheck run, default backend", b: "strace -f --seccomp-bpf (same set)"},
			{name: name + ": run (default backend) / native", kind: "ratio", a: "gvcheck run, default backend", b: "native"},
			{name: name + ": run ptrace / bare ALLOW filter", kind: "ratio", a: "gvcheck run --backend ptrace", b: "bare ALLOW filter (kernel floor)"},
			{name: name + ": bare ALLOW filter / native (floor)", kind: "ratio", a: "bare ALLOW filter (kernel floor)", b: "native"},
			{name: name + ": strace --seccomp-bpf / native", kind: "ratio", a: "strace -f --seccomp-bpf (same set)", b: "native"},
		}
		if name == "fast-dd" {
			j.figures[0].target = "<= 1.0"
			j.figures[4].target = "<= 1.0"
			j.figures[5].target = "<= 1.0"
		} else {
			j.figures[1].target = "<= 1.15"
			j.figures[3].target = "<= 1.15"
			j.figures[6].target = "<= 1.15"
		}
		return j, "", nil
	case "full-dd", "full-python":
		if s := need("strace"); s != "" {
			return nil, s, nil
		}
		argv, what, target := dd(100_000), "full mode, syscall-heavy: dd bs=1 count=100000 (200k syscalls)", ">= 10"
		if name == "full-python" {
			if s := need("python3"); s != "" {
				return nil, s, nil
			}
			argv, what, target = python, "full mode, typical: python3 -c 'import json, sqlite3'", ">= 3"
		}
		return &job{name: name, what: what, configs: []config{
			{label: "native", argv: argv},
			{label: "strace -f -o /dev/null", argv: append([]string{"strace", "-f", "-o", "/dev/null"}, argv...)},
			{label: "bare notification supervisor (floor)", argv: append([]string{e.self, "notify-floor", "--"}, argv...)},
			{label: "gvcheck run --backend ptrace --full", argv: gv(append([]string{"run", "--backend", "ptrace", "--full", "--"}, argv...)...)},
			{label: "gvcheck run --full, default backend", argv: gv(append([]string{"run", "--full", "--"}, argv...)...)},
		}, figures: []figure{
			{name: name + ": run ptrace --full faster than strace -f", kind: "faster", a: "gvcheck run --backend ptrace --full", b: "strace -f -o /dev/null", target: target},
			{name: name + ": run --full (default backend) faster than strace -f", kind: "faster", a: "gvcheck run --full, default backend", b: "strace -f -o /dev/null", target: target},
			{name: name + ": notification floor faster than strace -f", kind: "faster", a: "bare notification supervisor (floor)", b: "strace -f -o /dev/null"},
			{name: name + ": run ptrace --full / notification floor", kind: "ratio", a: "gvcheck run --backend ptrace --full", b: "bare notification supervisor (floor)"},
			{name: name + ": run ptrace --full / native", kind: "ratio", a: "gvcheck run --backend ptrace --full", b: "native"},
			{name: name + ": run ptrace --full peak RSS", kind: "rss", a: "gvcheck run --backend ptrace --full"},
		}}, "", nil
	case "ebpf-dd", "ebpf-python":
		// The eBPF backend's complete inventory against native, against
		// the floor any syscall tracepoint program costs on this kernel,
		// and against ptrace --full (and strace -f) doing the same job.
		if s := need("strace"); s != "" {
			return nil, s, nil
		}
		argv, what := dd(300_000), "ebpf backend, syscall-heavy: dd bs=1 count=300000 (600k syscalls)"
		target := [2]string{"<= 1.15", ""}
		if name == "ebpf-python" {
			if s := need("python3"); s != "" {
				return nil, s, nil
			}
			argv, what, target = python, "ebpf backend, typical: python3 -c 'import json, sqlite3'", [2]string{"<= 1.1", ""}
		}
		j := &job{name: name, what: what, configs: []config{
			{label: "native", argv: argv},
			{label: "empty BPF program on sys_exit (floor)", argv: append([]string{e.self, "bpf-floor-exec", "--"}, argv...)},
			{label: "gvcheck run --backend ebpf", argv: gv(append([]string{"run", "--backend", "ebpf", "--"}, argv...)...)},
			{label: "gvcheck run --backend ptrace --full", argv: gv(append([]string{"run", "--backend", "ptrace", "--full", "--"}, argv...)...)},
			{label: "true", argv: []string{"true"}},
			{label: "gvcheck run --backend ebpf -- true", argv: gv("run", "--backend", "ebpf", "--", "true")},
		}}
		j.figures = []figure{
			{name: name + ": run ebpf / native", kind: "ratio", a: "gvcheck run --backend ebpf", b: "native", target: target[0]},
			{name: name + ": floor / native", kind: "ratio", a: "empty BPF program on sys_exit (floor)", b: "native"},
			{name: name + ": run ebpf / floor", kind: "ratio", a: "gvcheck run --backend ebpf", b: "empty BPF program on sys_exit (floor)"},
			{name: name + ": run ebpf - native", kind: "diff", a: "gvcheck run --backend ebpf", b: "native"},
			{name: name + ": fixed cost (run ebpf -- true) - true", kind: "diff", a: "gvcheck run --backend ebpf -- true", b: "true"},
			{name: name + ": CPU: run ebpf / native", kind: "cpuratio", a: "gvcheck run --backend ebpf", b: "native"},
			{name: name + ": CPU: floor / native", kind: "cpuratio", a: "empty BPF program on sys_exit (floor)", b: "native"},
			{name: name + ": CPU: fixed cost (run ebpf -- true) - true", kind: "cpudiff", a: "gvcheck run --backend ebpf -- true", b: "true"},
			{name: name + ": ebpf faster than ptrace --full", kind: "faster", a: "gvcheck run --backend ebpf", b: "gvcheck run --backend ptrace --full"},
		}
		if name == "ebpf-python" {
			// strace -f on dd takes a minute a round: the full-dd job
			// measures it on fewer calls.
			j.configs = append(j.configs, config{label: "strace -f -o /dev/null", argv: append([]string{"strace", "-f", "-o", "/dev/null"}, argv...)})
			j.figures = append(j.figures, figure{name: name + ": ebpf faster than strace -f", kind: "faster", a: "gvcheck run --backend ebpf", b: "strace -f -o /dev/null"})
		}
		return j, "", nil
	case "ebpf-syscall":
		// What one syscall costs: 10M getppid calls natively, with an empty
		// program on sys_exit, and traced (start-up costs spread over 10M).
		if s := need("cc"); s != "" {
			return nil, s, nil
		}
		const calls = 10_000_000
		prog := filepath.Join(e.tmp, "getppid")
		src := filepath.Join(e.tmp, "getppid.c")
		code := "#include <unistd.h>\n#include <sys/syscall.h>\nint main(void) { for (int i = 0; i < " + strconv.Itoa(calls) + "; i++) syscall(SYS_getppid); return 0; }\n"
		if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
			return nil, "", err
		}
		if out, err := exec.Command("cc", "-O2", "-o", prog, src).CombinedOutput(); err != nil {
			return nil, "", fmt.Errorf("cc: %w\n%s", err, out)
		}
		return &job{name: name, what: "ebpf backend, per call: 10M getppid syscalls", configs: []config{
			{label: "native", argv: []string{prog}},
			{label: "empty BPF program on sys_exit (floor)", argv: []string{e.self, "bpf-floor-exec", "--", prog}},
			{label: "gvcheck run --backend ebpf", argv: gv("run", "--backend", "ebpf", "--", prog)},
		}, figures: []figure{
			{name: "getppid: floor, per call over native", kind: "diff", a: "empty BPF program on sys_exit (floor)", b: "native", calls: calls},
			{name: "getppid: run ebpf, per call over native", kind: "diff", a: "gvcheck run --backend ebpf", b: "native", calls: calls},
			{name: "getppid: run ebpf, per call over the floor", kind: "diff", a: "gvcheck run --backend ebpf", b: "empty BPF program on sys_exit (floor)", calls: calls},
			{name: "getppid: CPU: floor, per call over native", kind: "cpudiff", a: "empty BPF program on sys_exit (floor)", b: "native", calls: calls},
			{name: "getppid: CPU: run ebpf, per call over native", kind: "cpudiff", a: "gvcheck run --backend ebpf", b: "native", calls: calls},
			{name: "getppid: native, per call", kind: "wall", a: "native", calls: calls},
		}}, "", nil
	case "probe":
		if s := need("cc"); s != "" {
			return nil, s, nil
		}
		prog := filepath.Join(e.tmp, "fivecalls")
		if out, err := exec.Command("cc", "-O1", "-o", prog, filepath.Join("internal", "probe", "testdata", "prog", "fivecalls.c")).CombinedOutput(); err != nil {
			return nil, "", fmt.Errorf("cc: %w\n%s", err, out)
		}
		argv := []string{prog, "vmsplice", "fspick"}
		nrs, err := e.probeCandidates(argv)
		if err != nil {
			return nil, "", err
		}
		return &job{name: name, what: fmt.Sprintf("probe: a program needing 2 of the %d syscalls gVisor lacks that it calls", len(nrs)),
			configs: []config{
				{label: "native", argv: argv},
				{label: fmt.Sprintf("one at a time (2n = %d runs)", 2*len(nrs)), argv: append([]string{e.self, "one-at-a-time", "-enosys", joinInts(nrs), "--"}, argv...)},
				{label: "gvcheck probe", argv: gv(append([]string{"probe", "--"}, argv...)...), exits: []int{3}},
			}, figures: []figure{
				{name: "probe faster than one at a time", kind: "faster", a: "gvcheck probe", b: fmt.Sprintf("one at a time (2n = %d runs)", 2*len(nrs))},
				{name: "probe / native", kind: "ratio", a: "gvcheck probe", b: "native"},
			}}, "", nil
	case "verify":
		if s := need("runsc", "python3"); s != "" {
			return nil, s, nil
		}
		return &job{name: name, what: "verify: python3 -c 'import json, sqlite3' under runsc and natively",
			configs: []config{
				{label: "native", argv: python},
				{label: "runsc do (by hand)", argv: append([]string{"runsc", "--network=none", "do"}, python...)},
				{label: "gvcheck verify", argv: gv(append([]string{"verify", "--"}, python...)...)},
			}, figures: []figure{
				{name: "verify / runsc do", kind: "ratio", a: "gvcheck verify", b: "runsc do (by hand)"},
				{name: "verify / native", kind: "ratio", a: "gvcheck verify", b: "native"},
			}}, "", nil
	case "memory":
		return &job{name: name, what: fmt.Sprintf("memory: run --full on dd bs=1 making %d syscalls", memSyscalls), rounds: 1,
			configs: []config{
				{label: "gvcheck run --backend ptrace --full", argv: gv(append([]string{"run", "--backend", "ptrace", "--full", "--"}, dd(memSyscalls/2)...)...)},
				{label: "gvcheck run --full, default backend", argv: gv(append([]string{"run", "--full", "--"}, dd(memSyscalls/2)...)...)},
			}, figures: []figure{
				{name: fmt.Sprintf("run ptrace --full, %d syscalls: peak RSS", memSyscalls), kind: "rss", a: "gvcheck run --backend ptrace --full", target: "< 64MiB"},
				{name: fmt.Sprintf("run --full (default backend), %d syscalls: peak RSS", memSyscalls), kind: "rss", a: "gvcheck run --full, default backend", target: "< 64MiB"},
			}}, "", nil
	}
	return nil, "", fmt.Errorf("unknown job")
}

// articleFiles writes the article's two sorted lists: nmap's syscall names
// (its syscalls_nmap) and gVisor's documented unimplemented syscalls.
func (e *env) articleFiles() (names, unimpl string, err error) {
	names = filepath.Join(e.tmp, "syscalls_nmap")
	unimpl = filepath.Join(e.tmp, "unimplemented")
	if _, err := os.Stat(unimpl); err == nil {
		return names, unimpl, nil
	}
	b, err := os.ReadFile(filepath.Join("internal", "ingest", "testdata", "names", "syscalls_nmap"))
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(names, b, 0o644); err != nil {
		return "", "", err
	}
	list := extract.DocsNames()
	sort.Strings(list)
	return names, unimpl, os.WriteFile(unimpl, []byte(strings.Join(list, "\n")+"\n"), 0o644)
}

// probeCandidates asks gvcheck probe which missing syscalls it tests: the
// syscall differences of its report (gvcheck.probe/v2).
func (e *env) probeCandidates(argv []string) ([]int, error) {
	out, _ := exec.Command(e.gvcheck, append([]string{"probe", "-f", "json", "--"}, argv...)...).Output()
	var r struct {
		Differences []struct{ Kind, Syscall string }
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("gvcheck probe -f json: %w: %.200s", err, out)
	}
	var nrs []int
	for _, d := range r.Differences {
		if d.Kind != "syscall" {
			continue
		}
		nr, ok := sysno.Number(sysno.Host(), d.Syscall)
		if !ok {
			return nil, fmt.Errorf("gvcheck probe -f json: unknown syscall %q", d.Syscall)
		}
		nrs = append(nrs, nr)
	}
	if len(nrs) == 0 {
		return nil, fmt.Errorf("gvcheck probe -f json: no syscall differences: %.200s", out)
	}
	return nrs, nil
}

// describeBinary gives a binary's size and linking, which decide much of
// gvcheck's start-up time and peak RSS.
func describeBinary(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return err.Error()
	}
	linking := "static"
	if f, err := elf.Open(path); err == nil {
		if f.Section(".interp") != nil {
			linking = "dynamically linked"
		}
		f.Close()
	}
	return fmt.Sprintf("%.1f MB, %s", float64(fi.Size())/1e6, linking)
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// measureJob runs every configuration once to warm caches, then rounds
// times in turn, and prints the table; it returns the figure lines.
func measureJob(j *job, rounds int) ([]string, error) {
	fmt.Printf("\n== %s: %s (load %s)\n", j.name, j.what, loadavg())
	stderr, err := os.CreateTemp("", "gvcheck-e2e-stderr-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()
	samples := map[string][]sample{}
	rss := map[string]int64{}
	// The first run of each configuration warms the caches and measures
	// peak RSS; a single long run does both.
	for _, c := range j.configs {
		s, err := measure(c, stderr, true)
		if err != nil {
			return nil, err
		}
		rss[c.label] = s.rssKiB
		if rounds == 1 {
			samples[c.label] = append(samples[c.label], s)
		}
	}
	for r := 0; r < rounds && rounds > 1; r++ {
		for i := range j.configs {
			c := j.configs[(i+r)%len(j.configs)]
			s, err := measure(c, stderr, false)
			if err != nil {
				return nil, err
			}
			s.rssKiB = rss[c.label]
			samples[c.label] = append(samples[c.label], s)
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "configuration\twall min\tmedian\tmax\tCPU median\tpeak RSS\t")
	for _, c := range j.configs {
		ss := samples[c.label]
		w := stats(ss, func(s sample) float64 { return s.wall.Seconds() })
		cpu := stats(ss, func(s sample) float64 { return s.cpu.Seconds() })
		peak := "-"
		if ss[0].rssKiB >= 0 {
			peak = fmt.Sprintf("%.1f MiB", float64(ss[0].rssKiB)/1024)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", c.label, dur(w[0]), dur(w[1]), dur(w[2]), dur(cpu[1]), peak)
	}
	tw.Flush()
	var lines []string
	for _, f := range j.figures {
		a, b := samples[f.a], samples[f.b]
		var v [3]float64
		unit := "x"
		switch f.kind {
		case "ratio", "faster", "diff", "cpuratio", "cpudiff":
			per := make([]float64, len(a))
			for r := range a {
				x, y := a[r].wall.Seconds(), b[r].wall.Seconds()
				if strings.HasPrefix(f.kind, "cpu") {
					x, y = a[r].cpu.Seconds(), b[r].cpu.Seconds()
				}
				switch f.kind {
				case "ratio", "cpuratio":
					per[r] = x / y
				case "faster":
					per[r] = y / x
				case "diff", "cpudiff":
					per[r] = (x - y) * 1000
				}
			}
			v = stats3(per)
			if f.kind == "diff" || f.kind == "cpudiff" {
				unit = "ms"
				if f.calls > 0 {
					for i := range v {
						v[i] *= 1e6 / float64(f.calls)
					}
					unit = "ns"
				}
			}
		case "cpu":
			v, unit = stats(a, func(s sample) float64 { return s.cpu.Seconds() * 1000 }), "ms"
		case "wall":
			v, unit = stats(a, func(s sample) float64 { return s.wall.Seconds() * 1000 }), "ms"
			if f.calls > 0 {
				v, unit = stats(a, func(s sample) float64 { return s.wall.Seconds() * 1e9 / float64(f.calls) }), "ns"
			}
		case "rss":
			v, unit = stats(a, func(s sample) float64 { return float64(s.rssKiB) / 1024 }), "MiB"
		}
		line := fmt.Sprintf("  %-52s %8.2f%-3s (min %.2f, max %.2f)", f.name, v[1], unit, v[0], v[2])
		if f.target != "" {
			verdict := "MISSED"
			if meets(v[1], f.target) {
				verdict = "met"
			}
			line += fmt.Sprintf("  target %s: %s", f.target, verdict)
		}
		fmt.Println(line)
		lines = append(lines, line)
	}
	return lines, nil
}

// meets checks a median against a target such as "<= 1.0" or ">= 10"
// (units after the number are ignored).
func meets(v float64, target string) bool {
	op, num, _ := strings.Cut(target, " ")
	num = strings.TrimRightFunc(num, func(r rune) bool { return r < '0' || r > '9' })
	t, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false
	}
	switch op {
	case "<=":
		return v <= t
	case "<":
		return v < t
	case ">=":
		return v >= t
	case ">":
		return v > t
	}
	return false
}

// timeTool is GNU time, which measures peak RSS for us: the kernel's
// figure for a child includes the memory of the process that forked it,
// until its exec, and this driver is larger than the programs it runs.
const timeTool = "/usr/bin/time"

// measure runs one configuration and checks its exit status; with rss, it
// runs under GNU time (when installed) to measure the peak RSS.
func measure(c config, stderr *os.File, rss bool) (sample, error) {
	if err := stderr.Truncate(0); err != nil {
		return sample{}, err
	}
	if _, err := stderr.Seek(0, 0); err != nil {
		return sample{}, err
	}
	argv := c.argv
	rssFile := stderr.Name() + ".rss"
	if _, err := os.Stat(timeTool); err != nil {
		rss = false
	}
	if rss {
		argv = append([]string{timeTool, "-f", "%M", "-o", rssFile, "--"}, argv...)
		defer os.Remove(rssFile)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		return sample{}, fmt.Errorf("%s: %w", c.label, err)
	}
	exits := c.exits
	if exits == nil {
		exits = []int{0}
	}
	if code := cmd.ProcessState.ExitCode(); !slices.Contains(exits, code) {
		msg, _ := os.ReadFile(stderr.Name())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return sample{}, fmt.Errorf("%s: exit status %d, want %v: %s\n%s", c.label, code, exits, strings.Join(c.argv, " "), bytes.TrimSpace(msg))
	}
	s := sample{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), rssKiB: -1}
	if rss {
		// The last line; GNU time puts a note on a non-zero exit before it.
		b, _ := os.ReadFile(rssFile)
		lines := strings.Fields(string(b))
		if len(lines) > 0 {
			s.rssKiB, _ = strconv.ParseInt(lines[len(lines)-1], 10, 64)
		}
	}
	return s, nil
}

func stats(ss []sample, f func(sample) float64) [3]float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	return stats3(v)
}

// stats3 is min, median, max.
func stats3(v []float64) [3]float64 {
	if len(v) == 0 {
		return [3]float64{}
	}
	v = slices.Clone(v)
	sort.Float64s(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return [3]float64{v[0], med, v[len(v)-1]}
}

func dur(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.1f ms", s*1000)
	}
	return fmt.Sprintf("%.3f s", s)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func kernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// filterExec installs a seccomp filter and execs the program:
// "filter-exec [-enosys NR,...] -- CMD ARGS". Without -enosys the filter is
// the one instruction SECCOMP_RET_ALLOW: what any filter costs on this
// kernel, the floor of fast mode. With it the listed syscalls fail with
// ENOSYS, as one configuration of a one-at-a-time probe.
func filterExec(args []string) {
	fs := flag.NewFlagSet("filter-exec", flag.ExitOnError)
	enosys := fs.String("enosys", "", "comma-separated syscall numbers to fail with ENOSYS")
	fs.Parse(args)
	argv := fs.Args()
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "usage: e2e filter-exec [-enosys NR,...] -- CMD ARGS")
		os.Exit(2)
	}
	// A filter belongs to the thread that installs it, which must exec.
	runtime.LockOSThread()
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	if *enosys != "" {
		pol := &policy.Policy{Arch: sysno.Host(), Default: policy.Allow}
		for _, f := range strings.Split(*enosys, ",") {
			nr, err := strconv.Atoi(f)
			if err != nil {
				fmt.Fprintln(os.Stderr, "e2e filter-exec: bad syscall number", f)
				os.Exit(2)
			}
			pol.Rules = append(pol.Rules, policy.Rule{Nr: nr, Action: policy.Errno, Errno: unix.ENOSYS})
		}
		var err error
		if prog, err = pol.Compile(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e filter-exec:", err)
			os.Exit(1)
		}
	}
	if err := policy.Install(prog); err != nil {
		fmt.Fprintln(os.Stderr, "e2e filter-exec:", err)
		os.Exit(1)
	}
	path, err := exec.LookPath(argv[0])
	if err == nil {
		err = unix.Exec(path, argv, os.Environ())
	}
	fmt.Fprintln(os.Stderr, "e2e filter-exec:", err)
	os.Exit(127)
}

// oneAtATime is the peer of gvcheck probe: "one-at-a-time -enosys NR,...
// -- CMD ARGS" runs the program 2n times for n missing syscalls, each
// failing alone and each left working while all the others fail, which is
// what testing one syscall at a time takes to tell the required ones from
// those with a fallback.
func oneAtATime(args []string) int {
	fs := flag.NewFlagSet("one-at-a-time", flag.ExitOnError)
	enosys := fs.String("enosys", "", "comma-separated syscall numbers gVisor lacks")
	fs.Parse(args)
	nrs := strings.Split(*enosys, ",")
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e one-at-a-time:", err)
		return 1
	}
	for i := range nrs {
		others := slices.Delete(slices.Clone(nrs), i, i+1)
		for _, fail := range [][]string{{nrs[i]}, others} {
			argv := []string{"filter-exec"}
			if len(fail) > 0 {
				argv = append(argv, "-enosys", strings.Join(fail, ","))
			}
			cmd := exec.Command(self, append(append(argv, "--"), fs.Args()...)...)
			if err := cmd.Run(); err != nil {
				var xe *exec.ExitError
				if !errors.As(err, &xe) {
					fmt.Fprintln(os.Stderr, "e2e one-at-a-time:", err)
					return 1
				}
			}
		}
	}
	return 0
}

// notifyFloor is the floor of observing every call through a seccomp
// user-notification listener: "notify-floor -- CMD ARGS" runs CMD with a
// filter that notifies every syscall (but the sendmsg that hands over the
// listener) and answers each with CONTINUE, waiting for notifications as
// gvcheck does (poll, then receive, with same-CPU wake-ups), and recording
// nothing. Full mode cannot observe a call more cheaply.
func notifyFloor(args []string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "e2e notify-floor:", err)
		return 1
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	self, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	child := os.NewFile(uintptr(sp[1]), "notify-child")
	cmd := exec.Command(self, append([]string{"notify-child", "--"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{child}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	child.Close()
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(sp[0], buf, oob, 0)
	if err != nil {
		return fail(err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fail(fmt.Errorf("no listener from the child: %v", err))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return fail(fmt.Errorf("no listener from the child: %v", err))
	}
	fd := fds[0]
	const setFlags = 0x40082104 // SECCOMP_IOCTL_NOTIF_SET_FLAGS
	_ = unix.IoctlSetInt(fd, setFlags, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	var req [80]byte  // struct seccomp_notif
	var resp [24]byte // struct seccomp_notif_resp
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(pfd, -1); err != nil && err != unix.EINTR {
			break
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				break
			}
			continue
		}
		clear(req[:])
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
			continue
		}
		clear(resp[:])
		copy(resp[0:8], req[0:8]) // id
		resp[20] = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
		_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp[0])))
	}
	if err := cmd.Wait(); err != nil {
		var xe *exec.ExitError
		if errors.As(err, &xe) {
			return xe.ExitCode()
		}
		return fail(err)
	}
	return 0
}

// notifyChild installs notifyFloor's filter, hands the listener to its
// parent over descriptor 3 and execs the program. Everything the calls
// after the filter need is prepared before it, so that they allocate
// nothing: any other call would wait for a parent that has no listener yet.
func notifyChild(args []string) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	die := func(err error) {
		fmt.Fprintln(os.Stderr, "e2e notify-child:", err)
		os.Exit(1)
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		die(err)
	}
	pathp, err := unix.BytePtrFromString(path)
	if err != nil {
		die(err)
	}
	argvp, err := syscall.SlicePtrFromStrings(args)
	if err != nil {
		die(err)
	}
	envp, err := syscall.SlicePtrFromStrings(os.Environ())
	if err != nil {
		die(err)
	}
	oob := unix.UnixRights(0) // the listener's number goes in after the filter
	data := []byte{0}
	msg := unix.Msghdr{Control: &oob[0]}
	msg.SetControllen(len(oob))
	iov := unix.Iovec{Base: &data[0]}
	iov.SetLen(1)
	msg.Iov, msg.Iovlen = &iov, 1
	audit, err := policy.AuditArch(sysno.Host())
	if err != nil {
		die(err)
	}
	// Signal handlers return through rt_sigreturn: let it run unnotified
	// too, in case the runtime preempts this thread before the hand-over.
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}, // arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: audit, Jt: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.SYS_SENDMSG, Jt: 1},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.SYS_RT_SIGRETURN, Jf: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_USER_NOTIF},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		die(err)
	}
	lfd, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		die(fmt.Errorf("seccomp: %w", e))
	}
	*(*int32)(unsafe.Pointer(&oob[unix.CmsgLen(0)])) = int32(lfd)
	if _, _, e := unix.RawSyscall(unix.SYS_SENDMSG, 3, uintptr(unsafe.Pointer(&msg)), 0); e != 0 {
		os.Exit(1) // nothing can be printed without the parent
	}
	_, _, e = unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(pathp)), uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])))
	die(fmt.Errorf("exec %s: %w", path, e))
}
