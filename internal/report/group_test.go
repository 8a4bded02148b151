package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/analyze"
)

func pathFinding(p string, n uint64) analyze.Finding {
	return analyze.Finding{Kind: analyze.KindPath, Syscall: "openat", Arg: p, Number: -1, Level: analyze.LevelUnsupportedArg,
		Errno: "ENOENT", Count: n, Note: "gVisor has no " + p, Exes: []string{"/usr/bin/fio"}}
}

func TestGroupPaths(t *testing.T) {
	var fs []analyze.Finding
	for _, dev := range []string{"loop0", "loop1", "vda"} {
		for _, f := range []string{"size", "queue/rotational", "queue/scheduler", "stat"} {
			fs = append(fs, pathFinding("/sys/block/"+dev+"/"+f, 1))
		}
	}
	fs = append(fs, pathFinding("/proc/self/sched", 2), pathFinding("/sys/devices/system/node", 1))
	fs = append(fs, analyze.Finding{Kind: analyze.KindSyscall, Syscall: "kexec_load", Level: analyze.LevelUnimplemented, Count: 1})
	got := groupFindings(fs)
	var titles []string
	var total uint64
	for _, f := range got {
		titles = append(titles, f.Title())
		if f.Kind == analyze.KindPath {
			total += f.Count
		}
	}
	// 14 paths fold from the deepest directories up until at most
	// maxPathRows rows remain: one per device here.
	want := "/sys/block/loop0/ (4 paths)|/sys/block/loop1/ (4 paths)|/sys/block/vda/ (4 paths)|/proc/self/sched|/sys/devices/system/node|kexec_load"
	if strings.Join(titles, "|") != want {
		t.Errorf("rows %q, want %q", strings.Join(titles, "|"), want)
	}
	if total != 15 {
		t.Errorf("the rows count %d calls, want all 15", total)
	}
	if g := got[0]; len(g.Args) != maxExamples+1 || g.Args[maxExamples] != "and 1 more" {
		t.Errorf("examples %q", g.Args)
	}
	// Few paths stay as they are.
	if got := groupFindings(fs[:3]); len(got) != 3 {
		t.Errorf("%d rows for 3 paths", len(got))
	}
}

func TestGroupPathsBudget(t *testing.T) {
	var fs []analyze.Finding
	for i := range 40 {
		fs = append(fs, pathFinding(fmt.Sprintf("/sys/class/net/eth%d/a/b%d", i%4, i), 1))
		fs = append(fs, pathFinding(fmt.Sprintf("/proc/sys/net/ipv%d/x%d", 4+i%2, i), 1))
	}
	got := groupFindings(fs)
	if len(got) > maxPathRows {
		t.Errorf("%d rows, want at most %d", len(got), maxPathRows)
	}
	n := 0
	for _, f := range got {
		if strings.Contains(f.Arg, "paths)") {
			_, err := fmt.Sscanf(f.Arg[strings.LastIndex(f.Arg, "(")+1:], "%d", new(int))
			if err != nil {
				t.Fatal(err)
			}
		}
		n += int(f.Count)
	}
	if n != 80 {
		t.Errorf("rows count %d calls, want 80", n)
	}
}

func TestGroupArguments(t *testing.T) {
	mk := func(arg, exe string) analyze.Finding {
		return analyze.Finding{Kind: analyze.KindArgument, Syscall: "prctl", Arg: arg, Level: analyze.LevelUnsupportedArg,
			Errno: "EINVAL", Count: 1, Note: "unimplemented", Exes: []string{exe}, Source: "sys_prctl.go"}
	}
	fs := []analyze.Finding{mk("PR_SET_MM,PR_SET_MM_START_CODE", "/bin/a"), mk("PR_SET_MM,PR_SET_MM_END_CODE", "/bin/b"), mk("PR_SET_NAME", "/bin/a")}
	got := groupFindings(fs)
	if len(got) != 2 || got[0].Title() != "prctl(PR_SET_MM,…)" || got[0].Count != 2 || strings.Join(got[0].Exes, " ") != "/bin/a /bin/b" {
		t.Errorf("got %+v", got)
	}
}

func TestGroupManyOptions(t *testing.T) {
	var fs []analyze.Finding
	for i := range 12 {
		fs = append(fs, analyze.Finding{Kind: analyze.KindArgument, Syscall: "prctl", Arg: fmt.Sprintf("PR_%02d", i),
			Level: analyze.LevelUnsupportedArg, Errno: "EINVAL", Count: 2, Source: "sys_prctl.go"})
	}
	got := groupFindings(fs)
	if len(got) != 1 || got[0].Title() != "prctl(12 arguments)" || got[0].Count != 24 || len(got[0].Args) != maxExamples+1 {
		t.Errorf("got %+v", got)
	}
}
