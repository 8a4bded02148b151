package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysargs"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

var amd64 = Options{Arch: sysno.AMD64}

func readTestFile(t *testing.T, path string, opt Options) *profile.Profile {
	t.Helper()
	p, err := ReadFiles([]string{path}, opt)
	if err != nil {
		t.Fatalf("ReadFiles(%s): %v", path, err)
	}
	return p
}

// referenceNames is the article's method done with a regular expression:
// every name in front of "(" (or resumed), after strace's prefixes.
var failed = regexp.MustCompile(`(?m) = (?:-1|\?) E[A-Z0-9]+ \(`)

var refLine = regexp.MustCompile(`^ *(?:\[pid +\d+(?:<[^>]*>)?\] |\d+(?:<[^>]*>)? +)?(?:[\d:.]+ +)?(?:\[ *\d+\] )?(?:\[[0-9a-f]{8,16}\] )?(?:<\.\.\. )?([a-z0-9_]+)(?:\(| resumed>)`)

func referenceNames(t *testing.T, arch sysno.Arch, paths ...string) []string {
	t.Helper()
	set := map[string]bool{}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		inTable := false
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "% time") {
				inTable = true
			}
			if inTable {
				continue
			}
			if m := refLine.FindStringSubmatch(line); m != nil {
				set[sysno.Canonical(arch, m[1])] = true
			}
		}
		f.Close()
	}
	return slices.Sorted(maps.Keys(set))
}

// referenceCount counts the lines that start a call.
func referenceCount(t *testing.T, path string) uint64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, "% time") {
			break
		}
		if m := refLine.FindStringSubmatch(line); m != nil && !strings.Contains(line, " resumed>") {
			n++
		}
	}
	return n
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
	}{
		{"", FormatAuto}, {"auto", FormatAuto}, {"strace", FormatStrace}, {"STRACE-SUMMARY", FormatStraceSummary},
		{"names", FormatNames}, {"profile", FormatProfile}, {"oci-seccomp", FormatOCISeccomp}, {"spo", FormatSPO},
		{"seccomp", FormatOCISeccomp},
	} {
		got, err := ParseFormat(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "strace-summary") {
		t.Errorf("ParseFormat(xml) error = %v, want one listing the formats", err)
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Format
	}{
		{"strace/plain.log", FormatStrace},
		{"strace/f.log", FormatStrace},
		{"strace/f-tt-T.log", FormatStrace},
		{"strace/ttt-n-i-yy.log", FormatStrace},
		{"strace/r-X.log", FormatStrace},
		{"strace/k.log", FormatStrace},
		{"strace/C.log", FormatStrace},
		{"strace/stderr-f.log", FormatStrace},
		{"strace/pairs.log", FormatStrace},
		{"summary/c.txt", FormatStraceSummary},
		{"summary/c-f-w.txt", FormatStraceSummary},
		{"summary/c-U.txt", FormatStraceSummary},
		{"summary/personalities.txt", FormatStraceSummary},
		{"names/syscalls_nmap", FormatNames},
		{"names/syscalls_nmap.nl", FormatNames},
		{"names/article-nl.txt", FormatNames},
		{"names/commented.txt", FormatNames},
		{"seccomp/docker-like.json", FormatOCISeccomp},
		{"seccomp/default-allow.json", FormatOCISeccomp},
		{"spo/nginx.yaml", FormatSPO},
		{"spo/stream.yaml", FormatSPO},
		{"spo/list.yaml", FormatSPO},
		{"spo/profile.json", FormatSPO},
		{"profile/saved.json", FormatProfile},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(data); got != tc.want {
			t.Errorf("Detect(%s) = %q, want %q", tc.file, got, tc.want)
		}
	}
	for _, bad := range []string{"", "   \n", "\x7fELF\x02\x01\x01\x00\x00", "{\"hello\": 1}", "just some prose, not evidence.\n"} {
		if got := Detect([]byte(bad)); got != "" {
			t.Errorf("Detect(%q) = %q, want none", bad, got)
		}
	}
}

// TestStraceShapes parses logs real strace wrote with many option mixes and
// checks the set of names against the reference parse of the same log.
func TestStraceShapes(t *testing.T) {
	for _, tc := range []struct {
		file     string
		exit     int
		paths    []string // some paths that must be recorded
		contains []string
	}{
		{file: "plain.log", paths: []string{"/proc/self/stat"}, contains: []string{"execve", "openat", "read", "exit_group"}},
		{file: "f.log", exit: 3, contains: []string{"execve", "vfork", "wait4", "openat"}},
		{file: "f-tt-T.log", paths: []string{"/dev/null"}, contains: []string{"execve", "wait4"}},
		{file: "ttt-n-i-yy.log", paths: []string{"/proc/self/stat"}, contains: []string{"execve", "openat"}},
		{file: "r-X.log", paths: []string{"/sys/kernel/mm/transparent_hugepage/enabled"}, contains: []string{"execve", "openat"}},
		{file: "k.log", contains: []string{"execve", "exit_group"}},
		{file: "Z.log", exit: -1, contains: []string{"openat", "newfstatat"}},
		{file: "seccomp-bpf.log", contains: []string{"execve", "openat"}},
		{file: "C.log", contains: []string{"execve", "openat"}},
		{file: "stderr-f.log", contains: []string{"execve", "write", "wait4"}},
		{file: "Y.log", paths: []string{"/proc/self/stat"}, contains: []string{"execve", "vfork", "wait4"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "strace", tc.file)
			p := readTestFile(t, path, amd64)
			if got, want := p.Names(), referenceNames(t, sysno.AMD64, path); !slices.Equal(got, want) {
				t.Errorf("names:\n got %v\nwant %v", got, want)
			}
			// An unfinished call and its resumption are one call.
			var total uint64
			for _, s := range p.Syscalls {
				total += s.Count
			}
			if want := referenceCount(t, path); total != want {
				t.Errorf("%d calls counted, want %d (one per line that starts a call)", total, want)
			}
			for _, n := range tc.contains {
				if s := p.Syscalls[n]; s == nil || s.Count == 0 {
					t.Errorf("no %s calls", n)
				}
			}
			for _, path := range tc.paths {
				if p.Paths[path] == nil {
					t.Errorf("path %s not recorded; have %v", path, slices.Sorted(maps.Keys(p.Paths)))
				}
			}
			for path := range p.Paths {
				if !sysargs.SynthesizedPath(path) {
					t.Errorf("path %s recorded, not under /proc, /sys or /dev", path)
				}
			}
			src := p.Sources[0]
			if src.Kind != "strace" || src.Coverage != profile.CoverageFull || src.Lines == 0 {
				t.Errorf("source = %+v", src)
			}
			if tc.exit >= 0 && (src.Exit == nil || src.Exit.Code != tc.exit) {
				t.Errorf("exit = %+v, want code %d", src.Exit, tc.exit)
			}
			// Every failure is counted under its errno.
			var failures uint64
			for _, s := range p.Syscalls {
				for e, n := range s.Errors {
					if !strings.HasPrefix(e, "E") {
						t.Errorf("%s: errno %q", s.Name, e)
					}
					failures += n
				}
			}
			data, _ := os.ReadFile(path)
			if want := uint64(len(failed.FindAll(data, -1))); failures != want {
				t.Errorf("failures = %d, want %d", failures, want)
			}
		})
	}
}

func TestStracePairs(t *testing.T) {
	var calls []*profile.Call
	opt := amd64
	opt.OnCall = func(c *profile.Call) { calls = append(calls, c) }
	p := readTestFile(t, "testdata/strace/pairs.log", opt)
	want := map[string]uint64{
		"execve": 1, "brk": 1, "clone3": 1, "set_robust_list": 1, "futex": 1, "restart_syscall": 1,
		"openat": 3, "read": 1, "faccessat2": 1, "statx": 1, "write": 1, "exit": 1, "mmap": 1, "nanosleep": 1,
	}
	got := map[string]uint64{}
	for n, s := range p.Syscalls {
		got[n] = s.Count
	}
	if !maps.Equal(got, want) {
		t.Errorf("counts:\n got %v\nwant %v", got, want)
	}
	wantErr := map[string]map[string]uint64{
		"futex":      {"ERESTARTSYS": 1},
		"openat":     {"ENOENT": 1, "EACCES": 1},
		"faccessat2": {"ENOSYS": 1},
		"statx":      {"ENOENT": 1},
	}
	for n, s := range p.Syscalls {
		if !maps.Equal(s.Errors, wantErr[n]) {
			t.Errorf("%s errors = %v, want %v", n, s.Errors, wantErr[n])
		}
		if !maps.Equal(s.Exes, map[string]uint64{"/usr/bin/server": s.Count}) {
			t.Errorf("%s exes = %v", n, s.Exes)
		}
	}
	if got := slices.Sorted(maps.Keys(p.Paths)); !slices.Equal(got, []string{"/dev/nonexistent", "/proc/self/mountinfo", "/sys/fs/cgroup/cpu.max"}) {
		t.Errorf("paths = %v", got)
	}
	if e := p.Sources[0].Exit; e == nil || e.Signal != "SIGKILL" || e.Code != 137 {
		t.Errorf("exit = %+v, want killed by SIGKILL (137)", e)
	}
	// The resumed read carries both halves of its arguments and its result.
	var read, sleep *profile.Call
	for _, c := range calls {
		switch c.Name {
		case "read":
			read = c
		case "nanosleep":
			sleep = c
		}
	}
	// 4102 is a thread (CLONE_THREAD) of 4101, the process first seen
	// without a pid prefix.
	if read == nil || read.Ret != 59 || read.Tid != 4102 || read.Pid != 4101 || !strings.HasPrefix(read.Text, "3, ") || !strings.HasSuffix(read.Text, ", 1024") {
		t.Errorf("read = %+v", read)
	}
	if sleep == nil || !sleep.NoReturn || sleep.Pid != 4101 || sleep.Tid != 4101 {
		t.Errorf("nanosleep = %+v, want no return (killed inside it)", sleep)
	}
	if len(calls) != 16 {
		t.Errorf("OnCall saw %d calls, want 16", len(calls))
	}
}

// TestOnCallMatchesProfile: the aggregated profile equals the one built by
// adding every call OnCall saw, on every fixture.
func TestOnCallMatchesProfile(t *testing.T) {
	files, _ := filepath.Glob("testdata/strace/*.log")
	for _, f := range files {
		q := profile.New(sysno.AMD64)
		opt := amd64
		opt.OnCall = q.Add
		p := readTestFile(t, f, opt)
		var a, b bytes.Buffer
		p.Sources = nil
		p.Write(&a)
		q.Write(&b)
		if a.String() != b.String() {
			t.Errorf("%s: aggregated profile differs from the calls:\n%s\n---\n%s", f, a.String(), b.String())
		}
	}
}

func TestStraceLines(t *testing.T) {
	for _, tc := range []struct {
		name, log string
		want      map[string]uint64
		errs      map[string]map[string]uint64
		exit      *profile.Exit
	}{
		{name: "pid prefix without -o", log: "[pid  123] getpid() = 123\n[pid 124] getppid()                = 123\n",
			want: map[string]uint64{"getpid": 1, "getppid": 1}},
		{name: "timestamps -t -tt -ttt -r", log: "10:45:49 getpid() = 1\n10:45:49.123456 getpid() = 1\n1700000000.123456 getpid() = 1\n     0.000123 getpid() = 1\n123   10:45:49.123456 getuid() = 0 <0.000012>\n",
			want: map[string]uint64{"getpid": 4, "getuid": 1}},
		{name: "-n numbers", log: "[  39] getpid() = 5\n[ 439] syscall_0x1b7(0x3, \"\", 0, 0) = -1 ENOSYS (Function not implemented)\n",
			want: map[string]uint64{"getpid": 1, "faccessat2": 1}, errs: map[string]map[string]uint64{"faccessat2": {"ENOSYS": 1}}},
		{name: "hex result and -y result", log: "mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, -1, 0) = 0x7f0bc1ecc000\nopenat(AT_FDCWD</tmp>, \"x\", O_RDONLY) = 3</tmp/x>\n",
			want: map[string]uint64{"mmap": 1, "openat": 1}},
		{name: "personality suffix", log: "read#64(3, \"\", 1) = 0\n",
			want: map[string]uint64{"read": 1}},
		{name: "32-bit process left out", log: "123 execve(\"/bin/x86\", [], 0x0 /* 0 vars */) = 0\n[ Process PID=123 runs in 32 bit mode. ]\n123 _llseek(3, 0, [0], SEEK_CUR) = 0\n124 getpid() = 124\n",
			want: map[string]uint64{"execve": 1, "getpid": 1}},
		{name: "glued after program output", log: "hello worldexit_group(0) = ?\nmore+++ exited with 2 +++\n",
			want: map[string]uint64{"exit_group": 1}, exit: &profile.Exit{Code: 2}},
		{name: "killed with core", log: "getpid() = 1\n--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---\n+++ killed by SIGSEGV (core dumped) +++\n",
			want: map[string]uint64{"getpid": 1}, exit: &profile.Exit{Code: 139, Signal: "SIGSEGV"}},
		{name: "CRLF and injected", log: "getpid() = 1\r\nunlink(\"/x\") = -1 EPERM (Operation not permitted) (INJECTED)\r\n",
			want: map[string]uint64{"getpid": 1, "unlink": 1}, errs: map[string]map[string]uint64{"unlink": {"EPERM": 1}}},
		{name: "raw errno", log: "unlink(0x55d0f7a6c000) = -1 (errno 2)\n",
			want: map[string]uint64{"unlink": 1}, errs: map[string]map[string]uint64{"unlink": {"errno_2": 1}}},
		{name: "strace messages", log: "strace: Process 123 attached\n[pid 123] getpid() = 123\nstrace: Process 123 detached\n",
			want: map[string]uint64{"getpid": 1}},
		{name: "resumed without its start", log: "<... read resumed>\"abc\", 3) = 3\n",
			want: map[string]uint64{"read": 1}},
		{name: "unfinished at end of log", log: "read(0,  <unfinished ...>",
			want: map[string]uint64{"read": 1}},
		{name: "unknown names left out", log: "getpid() = 1\nfrobnicate(1) = 0\n",
			want: map[string]uint64{"getpid": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Read(strings.NewReader(tc.log), "t.log", Options{Format: FormatStrace, Arch: sysno.AMD64})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]uint64{}
			for n, s := range p.Syscalls {
				got[n] = s.Count
				if !maps.Equal(s.Errors, tc.errs[n]) {
					t.Errorf("%s errors = %v, want %v", n, s.Errors, tc.errs[n])
				}
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("counts = %v, want %v", got, tc.want)
			}
			if tc.exit != nil && (p.Sources[0].Exit == nil || *p.Sources[0].Exit != *tc.exit) {
				t.Errorf("exit = %+v, want %+v", p.Sources[0].Exit, tc.exit)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		opt      Options
		want     string
	}{
		{"empty", "", Options{}, "in.txt: empty input"},
		{"unrecognised", "hello, world\nthis is prose\n", Options{}, "in.txt: unrecognised input"},
		{"binary", "\x00\x01\x02garbage", Options{}, "in.txt: unrecognised input"},
		{"binary in a log", "getpid() = 1\nget\x00\x01pid\n", Options{Format: FormatStrace}, "in.txt:2: binary data"},
		{"no syscall lines", "--- SIGCHLD {} ---\n+++ exited with 0 +++\n", Options{Format: FormatStrace}, "in.txt: no strace syscall lines found"},
		{"typo in a name list", "read\nwrite\nopneat\n", Options{}, `in.txt:3: unknown syscall "opneat" for amd64`},
		{"junk in a name list", "read\nwrite foo\n", Options{Format: FormatNames}, `in.txt:2: not a syscall name: "write foo"`},
		{"bad summary row", "% time     seconds  usecs/call     calls    errors syscall\n------ ----------- ----------- --------- --------- ----------------\n  1.00    0.1  1 x 1 2 3 read\n", Options{}, "in.txt:3: not a summary row"},
		{"summary without rows", "% time     seconds  usecs/call     calls    errors syscall\n------ ----------- ----------- --------- --------- ----------------\n100.00    0.000000           0         0           total\n", Options{}, "no rows"},
		{"seccomp syntax", "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [,]}\n", Options{}, "in.txt:2: invalid character"},
		{"seccomp action", `{"defaultAction": "SCMP_ACT_MAYBE"}`, Options{}, `unknown seccomp action "SCMP_ACT_MAYBE"`},
		{"seccomp allows nothing", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}`, Options{}, "allows no syscall"},
		{"spo without spec", "kind: SeccompProfile\nmetadata:\n  name: x\n", Options{}, "x: spec has no defaultAction"},
		{"spo yaml syntax", "kind: SeccompProfile\nspec: [\n", Options{}, "in.txt: document 1: yaml: line"},
		{"profile", `{"gvcheck_profile": 99, "arch": "amd64", "syscalls": {}}`, Options{}, "newer than this gvcheck"},
		{"profile arch", `{"gvcheck_profile": 1, "arch": "arm64", "sources": [], "syscalls": {}}`, Options{Arch: "x86_64"}, "profile is for arm64, not amd64"},
		{"bad arch", "read\n", Options{Arch: "mips"}, `unknown architecture "mips"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt
			if opt.Arch == "" {
				opt.Arch = sysno.AMD64
			}
			if tc.name == "profile arch" || tc.name == "bad arch" {
				opt = tc.opt
			}
			_, err := Read(strings.NewReader(tc.in), "in.txt", opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has several lines: %q", err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	article := readTestFile(t, "testdata/names/syscalls_nmap", amd64)
	if n := len(article.Syscalls); n != 40 {
		t.Errorf("article list: %d names, want 40", n)
	}
	if article.Syscalls["set_robust_list"] == nil || article.Coverage() != profile.CoverageNames {
		t.Errorf("article list: %v, coverage %s", article.Names(), article.Coverage())
	}
	for _, s := range article.Syscalls {
		if s.Count != 0 {
			t.Errorf("%s count %d, want 0 (unknown)", s.Name, s.Count)
		}
	}
	for _, f := range []string{"syscalls_nmap.nl", "article-nl.txt"} {
		p := readTestFile(t, "testdata/names/"+f, amd64)
		if !slices.Equal(p.Names(), article.Names()) {
			t.Errorf("%s: names %v, want the article's", f, p.Names())
		}
	}
	p := readTestFile(t, "testdata/names/commented.txt", amd64)
	if !slices.Equal(p.Names(), []string{"close", "openat", "read", "write"}) {
		t.Errorf("commented: %v", p.Names())
	}
	if _, err := ReadFiles([]string{"testdata/names/typo.txt"}, amd64); err == nil || !strings.Contains(err.Error(), "typo.txt:3: unknown syscall \"opneat\"") {
		t.Errorf("typo: %v", err)
	}
	// The sed output of an strace -f log keeps its pid prefixes.
	p, err := Read(strings.NewReader("[pid  12] read\n12    write\n<... read resumed>\n--- SIGCHLD {si_signo=SIGCHLD} ---\n"), "sed.txt", Options{Format: FormatNames, Arch: sysno.AMD64})
	if err != nil || !slices.Equal(p.Names(), []string{"read", "write"}) {
		t.Errorf("sed of -f log: %v, %v", p, err)
	}
}

func TestSummary(t *testing.T) {
	p := readTestFile(t, "testdata/summary/personalities.txt", amd64)
	want := map[string]uint64{"mmap": 4, "openat": 3, "execve": 1, "set_robust_list": 1}
	got := map[string]uint64{}
	for n, s := range p.Syscalls {
		got[n] = s.Count
	}
	if !maps.Equal(got, want) {
		t.Errorf("counts %v, want %v (32-bit table left out)", got, want)
	}
	if e := p.Syscalls["openat"].Errors; !maps.Equal(e, map[string]uint64{ErrnoUnknown: 2}) {
		t.Errorf("openat errors %v", e)
	}
	if !strings.Contains(p.Sources[0].Detail, "32-bit") {
		t.Errorf("detail %q does not say 32-bit rows were left out", p.Sources[0].Detail)
	}
	// Real strace -c output: rows add up to the total line, and every
	// column layout (-U) gives the same names.
	for _, f := range []string{"c.txt", "c-f-w.txt", "c-U.txt"} {
		path := filepath.Join("testdata/summary", f)
		p := readTestFile(t, path, amd64)
		data, _ := os.ReadFile(path)
		var sum, errs uint64
		for _, s := range p.Syscalls {
			sum += s.Count
			errs += s.Errors[ErrnoUnknown]
		}
		total := regexp.MustCompile(`(?m)^\s*\S+\s+\S+\s+\S+\s+(\d+)\s+(\d*)\s*total$`).FindSubmatch(data)
		if total != nil && string(total[1]) != itoa(sum) {
			t.Errorf("%s: calls add up to %d, total line says %s", f, sum, total[1])
		}
		if total != nil && len(total[2]) > 0 && string(total[2]) != itoa(errs) {
			t.Errorf("%s: errors add up to %d, total line says %s", f, errs, total[2])
		}
		if p.Syscalls["execve"] == nil && f != "c-U.txt" {
			t.Errorf("%s: no execve", f)
		}
	}
	u := readTestFile(t, "testdata/summary/c-U.txt", amd64)
	if s := u.Syscalls["close"]; s == nil || s.Count == 0 {
		t.Errorf("c-U: close missing: %v", u.Names())
	}
}

func itoa(n uint64) string {
	return strings.TrimSpace(strings.Replace(string(appendUint(nil, n)), " ", "", -1))
}

func appendUint(b []byte, n uint64) []byte {
	if n >= 10 {
		b = appendUint(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestOCISeccomp(t *testing.T) {
	p := readTestFile(t, "testdata/seccomp/docker-like.json", amd64)
	want := []string{"accept", "accept4", "access", "arch_prctl", "brk", "close", "execve", "exit_group", "futex", "mmap",
		"modify_ldt", "mount", "openat", "personality", "read", "set_robust_list", "umount2", "unshare", "write"}
	if !slices.Equal(p.Names(), want) {
		t.Errorf("allowed %v\nwant %v", p.Names(), want)
	}
	src := p.Sources[0]
	if src.Coverage != profile.CoveragePermitted || src.Kind != "oci-seccomp" || !strings.Contains(src.Detail, "personality") {
		t.Errorf("source %+v", src)
	}
	// Default allow: every arm64 syscall except the unconditional denials.
	d := readTestFile(t, "testdata/seccomp/default-allow.json", Options{})
	if d.Arch != sysno.ARM64 {
		t.Errorf("arch %s, want arm64 from architectures", d.Arch)
	}
	if want := len(sysno.Numbers(sysno.ARM64)) - 4; len(d.Syscalls) != want {
		t.Errorf("%d syscalls allowed, want %d", len(d.Syscalls), want)
	}
	for _, n := range []string{"ptrace", "kexec_load", "reboot", "bpf"} {
		if d.Syscalls[n] != nil {
			t.Errorf("%s is denied but listed", n)
		}
	}
	if d.Syscalls["socket"] == nil || d.Syscalls["openat"] == nil || !strings.Contains(d.Sources[0].Detail, "allows every syscall not denied") {
		t.Errorf("default allow: %s", d.Sources[0].Detail)
	}
	o := readTestFile(t, "testdata/seccomp/old-docker.json", Options{})
	if !slices.Equal(o.Names(), []string{"exit_group", "read", "rt_sigreturn", "write"}) || o.Arch != sysno.AMD64 {
		t.Errorf("old format: %v %s", o.Names(), o.Arch)
	}
}

func TestSPO(t *testing.T) {
	f, err := os.Open("testdata/spo/stream.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ws, err := readWorkloads(f, "stream.yaml", amd64)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].Name != "cache/redis" || ws[1].Name != "batch/worker" {
		t.Fatalf("workloads %v", ws)
	}
	if !slices.Equal(ws[0].Profile.Names(), []string{"accept4", "epoll_wait", "read", "write"}) {
		t.Errorf("redis: %v", ws[0].Profile.Names())
	}
	if ws[1].Profile.Syscalls["ptrace"] != nil || len(ws[1].Profile.Syscalls) < 300 {
		t.Errorf("worker (default log, ptrace denied): %d syscalls", len(ws[1].Profile.Syscalls))
	}
	p := readTestFile(t, "testdata/spo/list.yaml", Options{})
	if len(p.Sources) != 2 || p.Syscalls["io_uring_setup"] == nil || p.Syscalls["clone3"] == nil {
		t.Errorf("list merged: %v %v", p.Names(), p.Sources)
	}
	if !strings.Contains(p.Sources[1].Detail, "default/db") || !strings.Contains(p.Sources[1].Detail, "base profile runc-v1.1.12") {
		t.Errorf("detail %q", p.Sources[1].Detail)
	}
	// One row per workload: each object of a list, each other file.
	all, err := ReadFilesWorkloads([]string{"testdata/spo/list.yaml", "testdata/names/syscalls_nmap"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range all {
		names = append(names, w.Name)
	}
	if !slices.Equal(names, []string{"default/api", "default/db", "testdata/names/syscalls_nmap"}) {
		t.Errorf("workloads %v", names)
	}
	for _, f := range []string{"nginx.yaml", "profile.json"} {
		p := readTestFile(t, "testdata/spo/"+f, Options{})
		if p.Syscalls["set_robust_list"] == nil || p.Sources[0].Kind != "spo" || p.Sources[0].Coverage != profile.CoveragePermitted {
			t.Errorf("%s: %v %+v", f, p.Names(), p.Sources)
		}
	}
}

func TestProfileAndMerge(t *testing.T) {
	p := readTestFile(t, "testdata/profile/saved.json", Options{})
	if p.Syscalls["set_robust_list"] == nil {
		t.Fatalf("saved profile: %v", p.Names())
	}
	// Several inputs of different kinds merge into one profile, and a saved
	// profile round-trips.
	m, err := ReadFiles([]string{"testdata/names/syscalls_nmap", "testdata/strace/pairs.log", "testdata/profile/saved.json"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Sources) != 4 || m.Syscalls["nanosleep"] == nil || m.Syscalls["bind"] == nil {
		t.Errorf("merged: %v", m.Sources)
	}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&buf, "-", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Names(), m.Names()) || back.Syscalls["openat"].Count != m.Syscalls["openat"].Count {
		t.Errorf("round trip changed the profile")
	}
}

func TestPerPidFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"out.100": "execve(\"/bin/sh\", [\"sh\"], 0x0 /* 1 var */) = 0\nclone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD) = 101\nwait4(-1,  <unfinished ...>\n<... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 101\nexit_group(4) = ?\n+++ exited with 4 +++\n",
		"out.101": "openat(AT_FDCWD, \"/proc/101/status\", O_RDONLY) = 3\nexit_group(0) = ?\n+++ exited with 0 +++\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range [][]string{{dir}, {filepath.Join(dir, "out.100"), filepath.Join(dir, "out.101")}} {
		p, err := ReadFiles(in, amd64)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Sources) != 1 || p.Sources[0].Exit == nil || p.Sources[0].Exit.Code != 4 {
			t.Errorf("%v: sources %+v", in, p.Sources)
		}
		if s := p.Syscalls["wait4"]; s == nil || s.Count != 1 {
			t.Errorf("wait4 not counted once")
		}
		if s := p.Syscalls["openat"]; s == nil || s.Exes["/bin/sh"] != 1 {
			t.Errorf("child's openat not attributed to the parent's exe: %+v", s)
		}
		if p.Syscalls["exit_group"].Count != 2 || p.Paths["/proc/101/status"] == nil {
			t.Errorf("names %v paths %v", p.Names(), p.Paths)
		}
	}
}

// TestParallelMatchesSequential: lexing chunks on several goroutines gives
// exactly the sequential result, whatever the chunk boundaries.
func TestParallelMatchesSequential(t *testing.T) {
	files, _ := filepath.Glob("testdata/strace/*.log")
	defer func(n int) { chunkSize = n }(chunkSize)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		for _, size := range []int{1 << 20, 4096, 100, 7} {
			chunkSize = size
			for _, workers := range []int{0, 1, 3} {
				var calls []string
				opt := amd64
				opt.OnCall = func(c *profile.Call) { calls = append(calls, c.Name+"("+c.Text+")") }
				s := newStraceParser(opt, f)
				if workers == 0 {
					err = s.parseSequential(bytes.NewReader(data), f, 0)
				} else {
					err = s.parseParallel(iotestHalf(data), f, 0, workers)
				}
				if err != nil {
					t.Fatal(err)
				}
				p, err := s.finish()
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				p.Write(&buf)
				got := buf.String() + strings.Join(calls, "\n")
				if want == "" {
					want = got
				} else if got != want {
					t.Errorf("%s: chunk %d, %d workers: result differs", f, size, workers)
				}
			}
		}
	}
}

// iotestHalf returns a reader that reads at most half of what is asked, to
// exercise short reads.
func iotestHalf(data []byte) *halfReader { return &halfReader{data: data} }

type halfReader struct{ data []byte }

func (h *halfReader) Read(p []byte) (int, error) {
	if len(h.data) == 0 {
		return 0, io.EOF
	}
	n := max(1, len(p)/2)
	n = copy(p[:n], h.data)
	h.data = h.data[n:]
	return n, nil
}

func TestGzip(t *testing.T) {
	data, err := os.ReadFile("testdata/strace/pairs.log")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	path := filepath.Join(t.TempDir(), "pairs.log.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := readTestFile(t, path, amd64)
	q := readTestFile(t, "testdata/strace/pairs.log", amd64)
	if !slices.Equal(p.Names(), q.Names()) || p.Syscalls["openat"].Count != 3 {
		t.Errorf("gzip'd log: %v", p.Names())
	}
}

// TestBoundedPaths: the distinct paths kept do not grow without bound.
func TestBoundedPaths(t *testing.T) {
	var b strings.Builder
	for i := range maxPaths + 5 {
		b.WriteString("openat(AT_FDCWD, \"/proc/")
		b.WriteString(itoa(uint64(i)))
		b.WriteString("/stat\", O_RDONLY) = 3\n")
	}
	p, err := Read(strings.NewReader(b.String()), "many.log", amd64)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Paths) != maxPaths || p.Syscalls["openat"].Count != maxPaths+5 || !strings.Contains(p.Sources[0].Detail, "5 uses of paths") {
		t.Errorf("%d paths, detail %q", len(p.Paths), p.Sources[0].Detail)
	}
}

// TestErrorLineAcrossChunks: the line an error names is right however the
// log was cut into chunks.
func TestErrorLineAcrossChunks(t *testing.T) {
	defer func(n int) { chunkSize = n }(chunkSize)
	var b strings.Builder
	for range 999 {
		b.WriteString("[pid 7] getpid() = 7\n")
	}
	b.WriteString("\x00\x01\x02\x03 garbage\n")
	b.WriteString("[pid 7] getpid() = 7\n")
	for _, size := range []int{64, 1000, 1 << 20} {
		chunkSize = size
		for _, workers := range []int{0, 2} {
			s := newStraceParser(amd64, "big.log")
			var err error
			if workers == 0 {
				err = s.parseSequential(strings.NewReader(b.String()), "big.log", 0)
			} else {
				err = s.parseParallel(strings.NewReader(b.String()), "big.log", 0, workers)
			}
			if err == nil || err.Error() != "big.log:1000: binary data, not a strace log line" {
				t.Errorf("chunk %d, %d workers: error %v", size, workers, err)
			}
		}
	}
}

// TestKeysMatchSysargs: the cached keys of every call of every fixture are
// what sysargs decodes from that call's whole argument text.
func TestKeysMatchSysargs(t *testing.T) {
	files, _ := filepath.Glob("testdata/strace/*.log")
	keys := 0
	for _, f := range files {
		opt := amd64
		opt.OnCall = func(c *profile.Call) {
			d, v, ok := sysargs.KeyFromText(sysno.AMD64, c.Name, c.Text)
			if !ok {
				d, v = "", nil
			}
			if c.Key != d || !slices.Equal(c.KeyValues, v) {
				t.Errorf("%s: %s(%s): key %q %v, want %q %v", f, c.Name, c.Text, c.Key, c.KeyValues, d, v)
			}
			if c.Key != "" {
				keys++
			}
		}
		readTestFile(t, f, opt)
	}
	if keys == 0 {
		t.Error("no keys in any fixture")
	}
}

func TestKeys(t *testing.T) {
	log := `ioctl(1, TCGETS, 0x7ffd4f8e3a40) = -1 ENOTTY (Inappropriate ioctl for device)
ioctl(2, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}) = 0
socket(AF_PACKET, SOCK_RAW, 768)        = -1 EPERM (Operation not permitted)
socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 3
[pid 7] prctl(PR_SET_NAME, "worker" <unfinished ...>
[pid 8] futex(0x55d0f7a6d2c8, FUTEX_WAIT_PRIVATE, 0, NULL) = 0
[pid 7] <... prctl resumed>)            = 0
`
	p, err := Read(strings.NewReader(log), "keys.log", amd64)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for n, s := range p.Syscalls {
		for k, u := range s.Args {
			got[n+" "+k] = fmt.Sprint(u.Count, u.Errors)
		}
	}
	want := map[string]string{
		"ioctl TCGETS": "2 map[ENOTTY:1]",
		"socket AF_PACKET,SOCK_RAW,htons(ETH_P_ALL)": "1 map[EPERM:1]",
		"socket AF_INET,SOCK_STREAM,IPPROTO_TCP":     "1 map[]",
		"prctl PR_SET_NAME":                          "1 map[]",
		"futex FUTEX_WAIT":                           "1 map[]",
	}
	if !maps.Equal(got, want) {
		t.Errorf("keys:\n got %v\nwant %v", got, want)
	}
}
