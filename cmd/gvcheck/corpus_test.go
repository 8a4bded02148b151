package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

// The transparency corpus: real commands that must behave under gvcheck as
// they do untraced. Each runs untraced and in every mode (see modes), and
// its exit status or signal, standard output and standard error are
// compared byte for byte. A mode where a command cannot behave as untraced
// for a reason of the kernel's names that reason (limits); every other
// difference fails.

// corpusCase is one command of the corpus.
type corpusCase struct {
	name  string
	argv  func(t *testing.T) []string
	stdin string // given on standard input ("" is /dev/null)
	tty   bool   // run on a terminal of its own (session leader)
	// limits maps a mode to why the command cannot behave there as
	// untraced; such a difference is reported, not failed.
	limits map[string]string
	// statusOnly, when set, says why only the exit status is compared:
	// the message of a command that cannot start comes from whoever execs
	// it (a shell, or gvcheck), not from the program.
	statusOnly bool
	// filter, if set, removes what differs from run to run anyway (pipe
	// inode numbers, pids) before comparing.
	filter func([]byte) []byte
}

var (
	pipeRe = regexp.MustCompile(`(pipe|socket|anon_inode):\[[0-9]+\]`)
	pidRe  = regexp.MustCompile(`/proc/[0-9]+`)
)

func noIDs(b []byte) []byte {
	return pidRe.ReplaceAll(pipeRe.ReplaceAll(b, []byte("$1:[N]")), []byte("/proc/PID"))
}

var (
	sanPidRe  = regexp.MustCompile(`==[0-9]+==`)
	addrRe    = regexp.MustCompile(`0x[0-9a-f]{6,}`)
	processRe = regexp.MustCompile(`process [0-9]+`)
)

// noVolatile also removes pids and addresses (sanitizer and debugger
// reports: ASLR places everything anew each run).
func noVolatile(b []byte) []byte {
	b = sanPidRe.ReplaceAll(noIDs(b), []byte("==PID=="))
	return processRe.ReplaceAll(addrRe.ReplaceAll(b, []byte("0xADDR")), []byte("process PID"))
}

// Kernel limits, as the README quotes them.
const (
	nestedPtrace = "nested ptrace: a process has one tracer at a time, so under a ptrace-based tracer a program cannot trace its own children or threads (PTRACE_ATTACH, PTRACE_TRACEME fail with EPERM); the eBPF backend, the default where it loads, has no such limit"
	seesTracer   = "the program inspects its own tracing: /proc/self/status shows the tracer (TracerPid) and the seccomp filter (Seccomp, Seccomp_filters); the eBPF backend is not visible there"
)

func ptraceLimited(why string) map[string]string {
	return map[string]string{"ptrace": why, "full": why, "attach": why}
}

func cmd(args ...string) func(*testing.T) []string {
	return func(*testing.T) []string { return args }
}

func sh(script string) func(*testing.T) []string {
	return func(t *testing.T) []string { return []string{"/bin/sh", "-c", script} }
}

func bash(script string) func(*testing.T) []string {
	return func(t *testing.T) []string { return []string{testenv.NeedTool(t, "bash"), "-c", script} }
}

func tool(name string, args ...string) func(*testing.T) []string {
	return func(t *testing.T) []string { return append([]string{testenv.NeedTool(t, name)}, args...) }
}

// abs is a file of the corpus, by absolute path (commands run elsewhere).
func abs(t *testing.T, elem ...string) string {
	p, err := filepath.Abs(filepath.Join(elem...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func cprog(src string, flags ...string) func(*testing.T) []string {
	return func(t *testing.T) []string {
		return []string{testenv.BuildC(t, abs(t, "testdata", "corpus", src), flags...)}
	}
}

func corpus() []corpusCase {
	return []corpusCase{
		// Exit statuses, signals and exec.
		{name: "true", argv: cmd("/bin/true")},
		{name: "false", argv: cmd("/bin/false")},
		{name: "exit 42", argv: sh("exit 42")},
		{name: "killed by SIGTERM", argv: sh("kill -TERM $$")},
		{name: "killed by SIGSEGV", argv: sh("kill -SEGV $$")},
		{name: "killed by SIGKILL", argv: sh("kill -KILL $$")},
		{name: "command not found", argv: cmd("/nonexistent/program"), statusOnly: true},
		{name: "not executable", argv: cmd("/etc/passwd"), statusOnly: true},
		{name: "script without #!", argv: sh("printf 'echo $0 ran by sh\\n' > /tmp/gvcheck-corpus-noshebang && chmod +x /tmp/gvcheck-corpus-noshebang && /tmp/gvcheck-corpus-noshebang")},
		{name: "exec -a keeps argv[0]", argv: bash(`exec -a custom-name bash -c 'echo "$0"'`)},
		{name: "timeout", argv: cmd("timeout", "0.2", "sleep", "5")},
		// Output and input.
		{name: "echo", argv: cmd("echo", "hello", "world")},
		{name: "binary output", argv: cmd("printf", `a\000b\377\n`)},
		{name: "seq", argv: cmd("seq", "200000")},
		{name: "cat stdin", argv: cmd("cat"), stdin: strings.Repeat("line of stdin\n", 5000)},
		{name: "wc", argv: cmd("wc", "-l", "/etc/services")},
		{name: "sort", argv: cmd("sort", "/etc/services")},
		{name: "sha256sum", argv: cmd("sha256sum", "/bin/ls")},
		{name: "dd", argv: sh("dd if=/dev/zero bs=64k count=64 2>/dev/null | md5sum")},
		{name: "gzip round trip", argv: sh("gzip -c /etc/services | gunzip | md5sum")},
		{name: "tar", argv: sh("tar cf - -C / etc/hostname etc/services 2>/dev/null | wc -c")},
		{name: "large environment", argv: sh("x=$(head -c 100000 /dev/zero | tr '\\0' a); export x; env | wc -c")},
		{name: "many arguments", argv: sh(`set -- $(seq 20000); /bin/echo "$@" | wc -c`)},
		{name: "stderr", argv: sh("echo to-stderr >&2; echo to-stdout")},
		// What a program inherits.
		{name: "environment", argv: sh("env | sort")},
		{name: "descriptors", argv: sh("ls -l /proc/self/fd | awk '{print $9, $10, $11}'"), filter: noIDs},
		{name: "working directory", argv: cmd("pwd")},
		{name: "umask", argv: sh("umask")},
		{name: "rlimits", argv: sh("ulimit -a")},
		{name: "ignored signals", argv: bash(`trap '' PIPE QUIT USR2; grep -E '^Sig(Ign|Blk)' /proc/self/status`)},
		{name: "SIGPIPE ignored", argv: bash(`trap '' PIPE; yes 2>/dev/null | head -1; echo "${PIPESTATUS[*]}"`)},
		{name: "SIGPIPE default", argv: bash(`yes | head -1; echo "${PIPESTATUS[*]}"`)},
		{name: "blocked signals", argv: tool("python3", "-c", `import os, signal; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGUSR1}); os.execv("/bin/grep", ["grep", "SigBlk", "/proc/self/status"])`)},
		{name: "signal handlers", argv: bash(`trap 'echo got USR1' USR1; kill -USR1 $$; trap '' TERM; kill -TERM $$; echo still here; { sh -c 'kill -KILL $$'; } 2>/dev/null; echo "child $?"; ( kill -INT $BASHPID ); echo "subshell $?"`)},
		{name: "real-time signals", argv: cprog("rtsig.c")},
		{name: "nice", argv: sh("nice -n 5 sh -c 'cut -d\" \" -f19 /proc/self/stat'")},
		{name: "capabilities", argv: sh("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status")},
		{name: "own tracing visible", argv: sh("grep -E '^(TracerPid|Seccomp|Seccomp_filters):' /proc/self/status"), limits: ptraceLimited(seesTracer)},
		// Processes and threads.
		{name: "C threads fork exec", argv: cprog("threads.c", "-pthread")},
		{name: "shell pipeline", argv: sh("seq 1000 | grep 7 | sort -r | head -5")},
		{name: "background jobs", argv: sh("sleep 0.1 & sleep 0.1 & wait; echo done")},
		{name: "orphaned grandchild", argv: sh("(sleep 0.2; echo late) & echo early")},
		{name: "setsid daemon", argv: sh("setsid sh -c 'sleep 0.2; echo from the new session' & wait")},
		{name: "vfork", argv: tool("python3", "-c", `import os; pid = os.posix_spawn("/bin/echo", ["echo", "spawned"], os.environ); print(os.waitpid(pid, 0)[1])`)},
		{name: "CLONE_UNTRACED child", argv: cprog("untraced.c")},
		{name: "python", argv: tool("python3", "-c", "print(sum(range(10**6)))")},
		{name: "python threads and processes", argv: func(t *testing.T) []string {
			return []string{testenv.NeedTool(t, "python3"), abs(t, "..", "..", "internal", "trace", "testdata", "victims", "mp.py")}
		}},
		{name: "python sqlite", argv: tool("python3", "-c", "import sqlite3; c = sqlite3.connect(':memory:'); c.execute('create table t(x)'); c.executemany('insert into t values (?)', [(i,) for i in range(1000)]); print(c.execute('select sum(x) from t').fetchone())")},
		{name: "perl", argv: tool("perl", "-e", "print 2**10, qq(\n)")},
		{name: "awk", argv: cmd("awk", "BEGIN { for (i = 0; i < 100000; i++) s += i; print s }")},
		{name: "node", argv: tool("node", "-e", "let s = 0; for (let i = 0; i < 1e6; i++) s += i; console.log(s)")},
		{name: "java", argv: tool("java", "-version")},
		{name: "go threads", argv: func(t *testing.T) []string {
			return []string{goBuild(t, filepath.Join("..", "..", "internal", "trace", "testdata", "victims", "gothreads"))}
		}},
		{name: "make", argv: sh("cd /tmp && printf 'all:\\n\\t@echo made\\n' > gvcheck-corpus.mk && make -s -f gvcheck-corpus.mk")},
		{name: "git", argv: sh("git --version")},
		{name: "busybox", argv: tool("busybox", "sh", "-c", "echo busybox $((6*7))")},
		// Servers under load.
		{name: "HTTP server under load", argv: func(t *testing.T) []string {
			return []string{testenv.NeedTool(t, "python3"), abs(t, "testdata", "corpus", "server.py")}
		}},
		// Killed once it listens: a SIGTERM that lands before socat handles
		// it makes sh print "Terminated", which a fixed delay left to load.
		{name: "socat echo", argv: sh(`socat -T1 TCP-LISTEN:0,fork EXEC:cat 2>/dev/null & p=$!; for i in $(seq 400); do ss -Hltnp 2>/dev/null | grep -q "pid=$p," && break; sleep 0.05; done; kill $p; wait $p; echo socat ok $?`)},
		// Programs that trace, and sanitizers.
		{name: "strace", argv: tool("strace", "-f", "-o", "/dev/null", "/bin/true"), limits: ptraceLimited(nestedPtrace)},
		{name: "strace -c", argv: tool("strace", "-c", "-o", "/dev/null", "/bin/echo", "hi"), limits: ptraceLimited(nestedPtrace)},
		{name: "gdb", argv: tool("gdb", "-batch", "-nx", "-ex", "run", "--args", "/bin/true"), limits: ptraceLimited(nestedPtrace), filter: noVolatile},
		{name: "PTRACE_TRACEME child", argv: cprog("selfptrace.c"), limits: ptraceLimited(nestedPtrace)},
		{name: "AddressSanitizer", argv: cprog("asan.c", "-fsanitize=address"), limits: ptraceLimited(nestedPtrace)},
		{name: "LeakSanitizer finds a leak", argv: func(t *testing.T) []string {
			return []string{"env", "LSAN_OPTIONS=exitcode=23", testenv.BuildC(t, abs(t, "testdata", "corpus", "leak.c"), "-fsanitize=address")}
		}, limits: ptraceLimited(nestedPtrace), filter: noVolatile},
		{name: "UndefinedBehaviorSanitizer", argv: cprog("ubsan.c", "-fsanitize=undefined")},
		{name: "ThreadSanitizer", argv: cprog("asan.c", "-fsanitize=thread")},
		{name: "valgrind", argv: tool("valgrind", "-q", "/bin/true")},
		// Terminals and job control.
		{name: "tty", argv: sh("test -t 0 && test -t 1 && echo on a terminal; stty size >/dev/null && echo stty ok"), tty: true},
		// Stop and continue a background job in its own process group on
		// a terminal. bash's own job notifications (to stderr) come when it
		// happens to notice a change, which load moves around, so they are
		// silenced; the job's states are printed when they are certain.
		{name: "tty job control", argv: bash(`set -m; exec 2>/dev/null; sleep 1 & kill -STOP %1; until [ -n "$(jobs -s)" ]; do sleep 0.05; done; echo stopped; jobs -l | wc -l; kill -CONT %1; wait %1; echo "status $?"; echo done`), tty: true},
		{name: "interactive shell", argv: bash(`bash -i -c 'echo interactive $-' 2>/dev/null | tr -d 'hBHs'`), tty: true},
		{name: "foreground process group", argv: tool("python3", "-c", "import os; print(os.tcgetpgrp(0) == os.getpgrp())"), tty: true},
	}
}
