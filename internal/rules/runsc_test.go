package rules

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// need fails the test under CI (where the tool must be installed) and skips
// it elsewhere.
func need(t *testing.T, what string, err error) {
	t.Helper()
	testenv.Missingf(t, "%s: %v", what, err)
}

type check struct {
	id, sys string
	values  []uint64
	path    string
	result  string // "OK" or an errno name
}

var (
	checkLine  = regexp.MustCompile(`^CHECK (\d+) (\w+) ?(.*)$`)
	resultLine = regexp.MustCompile(`^RESULT (\d+) (-?\d+) (\w+)$`)
)

func parseChecks(t *testing.T, out []byte) []*check {
	t.Helper()
	var all []*check
	byID := map[string]*check{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := checkLine.FindStringSubmatch(line); m != nil {
			c := &check{id: m[1], sys: m[2]}
			if c.sys == "open" {
				c.path = m[3]
			} else {
				for _, f := range strings.Fields(m[3]) {
					v, err := strconv.ParseInt(f, 10, 64)
					if err != nil {
						t.Fatalf("bad check line %q", line)
					}
					c.values = append(c.values, uint64(v))
				}
			}
			byID[c.id] = c
			all = append(all, c)
		} else if m := resultLine.FindStringSubmatch(line); m != nil && byID[m[1]] != nil {
			byID[m[1]].result = m[3]
		}
	}
	return all
}

func buildArgcalls(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		need(t, "C compiler", err)
	}
	bin := filepath.Join(t.TempDir(), "argcalls")
	if out, err := exec.Command(cc, "-O1", "-o", bin, "../sysargs/testdata/argcalls.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	return bin
}

// TestRunsc runs programs that each use one argument of a supported
// syscall (prctl option, socket family and netlink protocol, setsockopt,
// ioctl, futex PI, fallocate mode, namespace flags, madvise, mmap) and open
// paths under /proc and /dev, under the installed runsc, and checks every
// outcome against the rules of the newest embedded version: unsupported
// values fail with the rule's errno, ignored ones succeed, flag-dependent
// ones fail without the flag and succeed with it, and paths open exactly
// when PathProvided says so. Supported values must behave as natively.
func TestRunsc(t *testing.T) {
	if testing.Short() {
		t.Skip("runs runsc")
	}
	runsc, err := exec.LookPath("runsc")
	if err != nil {
		need(t, "runsc not installed", err)
	}
	if os.Geteuid() != 0 {
		need(t, "runsc do needs root", os.ErrPermission)
	}
	bin := buildArgcalls(t)
	set := newestSet(t, sysno.Host())
	run := func(flags ...string) []*check {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		args := append(append([]string{"--network=none"}, flags...), "do", bin)
		cmd := exec.CommandContext(ctx, runsc, args...)
		cmd.Dir = t.TempDir()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("runsc %v: %v\n%s", args, err, out)
		}
		return parseChecks(t, out)
	}
	nativeOut, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("argcalls natively: %v", err)
	}
	native := map[string]string{}
	for _, c := range parseChecks(t, nativeOut) {
		native[c.id] = c.result
	}

	compared := 0
	for _, c := range run() {
		if c.result == "" {
			t.Errorf("check %s %s: no result", c.id, c.sys)
			continue
		}
		if c.path != "" {
			ok, note := set.PathProvided(c.path)
			if got := c.result == "OK"; got != ok {
				t.Errorf("open(%s) under runsc: %s; rules: provided=%v (%s)", c.path, c.result, ok, note)
			}
			compared++
			continue
		}
		v, r := set.Judge(c.sys, c.values, nil)
		var want string
		switch v {
		case AnswerUnsupported, AnswerNeedsFlag:
			want = r.Errno
		case AnswerIgnored:
			want = "OK"
		case AnswerSupported:
			want = native[c.id]
		default:
			t.Logf("check %s %s%v: no rule (got %s)", c.id, c.sys, c.values, c.result)
			continue
		}
		compared++
		if c.result != want {
			t.Errorf("%s %v under runsc: %s; rules predict %v %s (%+v)", c.sys, c.values, c.result, v, want, r)
		} else {
			t.Logf("%s %v: %s as predicted (%v)", c.sys, c.values, c.result, v)
		}
	}
	if compared < 20 {
		t.Errorf("only %d checks compared", compared)
	}
	// The flag-dependent rules: with --net-raw, packet sockets work.
	for _, c := range run("--net-raw") {
		if c.sys != "socket" {
			continue
		}
		v, r := set.Judge(c.sys, c.values, []string{"--net-raw"})
		if r != nil && r.NeedsFlag != "" && (v != AnswerSupported || c.result != "OK") {
			t.Errorf("socket%v with --net-raw: %s, verdict %v", c.values, c.result, v)
		}
	}
}
