// Package imagecheck reads what a container image's files say about its
// future under gVisor, without running anything: programs whose file
// capabilities the sandbox cannot grant, set-user-ID programs (whose bits
// gVisor ignores unless runsc allows them), the C library and its version,
// Go programs and their Go version, and what runs the entrypoint. Each fact
// is an analyze.Finding, so reports show them as they show a trace's.
package imagecheck

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/filecap"
	"github.com/gvcheck/gvcheck/internal/image"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Input is the image and the sandbox it is judged for.
type Input struct {
	Rootfs *image.Rootfs
	// Entrypoint is the resolved executable of the image's program ("" if
	// it has none); PathEnv its PATH, for "#!/usr/bin/env NAME".
	Entrypoint string
	PathEnv    string
	// UID is the program's user.
	UID uint32
	// SandboxCaps are the capabilities the container's bounding set holds
	// under runsc (without CAP_NET_RAW unless --net-raw).
	SandboxCaps []string
	// Target: the table (for syscalls a fact names), the rules (for the
	// source of the capability set), the runsc options, and the version's
	// date (YYYY-MM-DD), which decides how set-user-ID bits are treated.
	Table      *compat.Table
	Rules      *rules.Set
	RunscFlags []string
	Date       string
}

// allowSUIDSince is the first embedded gVisor version with runsc's
// --allow-suid; before it gVisor ignored set-user-ID and set-group-ID bits
// altogether (pkg/sentry/kernel/auth/capability_set.go had no SetUserID).
const allowSUIDSince = "2025-08-28"

// maxELF bounds the executables read for a Go build or an interpreter.
const maxELF = 512 << 20

// Facts walks the image and returns its findings, highest level first.
func Facts(in Input) ([]analyze.Finding, error) {
	var out []analyze.Finding
	err := in.Rootfs.Walk(func(e image.Entry) error {
		m := e.Info.Mode()
		if !m.IsRegular() {
			return nil
		}
		if f, ok := fileCapFinding(in, e); ok {
			out = append(out, f)
		}
		if m&(fs.ModeSetuid|fs.ModeSetgid) != 0 && m&0o111 != 0 {
			out = append(out, setuidFinding(in, e))
		}
		if m&0o111 != 0 && e.Info.Size() < maxELF {
			if f, ok := goFinding(e); ok {
				out = append(out, f)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	out = append(out, libcFindings(in)...)
	if in.Entrypoint != "" {
		out = append(out, interpreterFinding(in))
	}
	slices.SortStableFunc(out, func(a, b analyze.Finding) int {
		if a.Level != b.Level {
			return int(b.Level) - int(a.Level)
		}
		return strings.Compare(a.Arg, b.Arg)
	})
	return out, nil
}

func fileCapFinding(in Input, e image.Entry) (analyze.Finding, bool) {
	caps, ok, err := filecap.Read(e.Host)
	if err != nil || !ok {
		return analyze.Finding{}, false
	}
	var missing []string
	for _, c := range caps.Permitted {
		if !slices.Contains(in.SandboxCaps, c) {
			missing = append(missing, c)
		}
	}
	f := analyze.Finding{Kind: analyze.KindExec, Syscall: "execve", Arg: e.Path, Number: -1, Support: compat.Full, InTable: true}
	if in.Rules != nil {
		f.Source = in.Rules.CapabilitySource()
	}
	switch {
	case len(missing) == 0:
		f.Level = analyze.LevelPartial
		f.Note = "file capabilities " + strings.Join(caps.Permitted, ", ") + ": within the sandbox's set"
		return f, false
	case caps.Effective:
		f.Level, f.Errno = analyze.LevelUnsupportedArg, "EPERM"
		f.Note = "its file capabilities " + strings.Join(missing, ", ") + " are outside the sandbox's set, so exec fails"
	default:
		f.Level = analyze.LevelPartial
		f.Note = "its file capabilities " + strings.Join(missing, ", ") + " are outside the sandbox's set and will not be granted"
	}
	if len(missing) == 1 && missing[0] == "CAP_NET_RAW" && f.Level > analyze.LevelPartial {
		f.Level, f.NeedsFlag = analyze.LevelNeedsOption, "--net-raw"
	}
	return f, true
}

func setuidFinding(in Input, e image.Entry) analyze.Finding {
	st := e.Info.Sys().(*syscall.Stat_t)
	m := e.Info.Mode()
	what := "set-user-ID"
	switch {
	case m&fs.ModeSetuid != 0 && m&fs.ModeSetgid != 0:
		what = "set-user-ID and set-group-ID"
	case m&fs.ModeSetgid != 0:
		what = "set-group-ID"
	}
	f := analyze.Finding{Kind: analyze.KindSetuid, Syscall: "execve", Arg: e.Path, Number: -1, Support: compat.Full, InTable: true,
		Source: "pkg/sentry/kernel/auth/capability_set.go:ComputeCredsForExec"}
	owner := fmt.Sprintf("owner %d, group %d", st.Uid, st.Gid)
	// Root (with Docker's CAP_DAC_OVERRIDE) gains nothing from a group.
	gains := m&fs.ModeSetuid != 0 && st.Uid != in.UID || m&fs.ModeSetgid != 0 && in.UID != 0
	switch {
	case in.Date != "" && in.Date < allowSUIDSince:
		f.Level = analyze.LevelUnsupportedArg
		f.Note = fmt.Sprintf("%s (%s): this gVisor ignores the bit, the program runs with its caller's ids", what, owner)
	case hasFlag(in.RunscFlags, "allow-suid"):
		return analyze.Finding{}
	default:
		f.Level, f.NeedsFlag = analyze.LevelNeedsOption, "--allow-suid"
		f.Note = fmt.Sprintf("%s (%s): runsc ignores the bit unless --allow-suid (runsc/config/flags.go)", what, owner)
	}
	if !gains {
		// The program's user already is the owner: nothing to gain.
		f.Level = analyze.LevelPartial
		f.Note += "; the image's user already has these ids"
	}
	return f
}

func hasFlag(flags []string, name string) bool {
	return slices.ContainsFunc(flags, func(f string) bool {
		f = strings.TrimLeft(f, "-")
		n, v, ok := strings.Cut(f, "=")
		return n == name && (!ok || v == "true")
	})
}

// goFinding reports a Go program's Go version and main module.
func goFinding(e image.Entry) (analyze.Finding, bool) {
	f, err := os.Open(e.Host)
	if err != nil {
		return analyze.Finding{}, false
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte("\x7fELF")) {
		return analyze.Finding{}, false
	}
	bi, err := buildinfo.Read(f)
	if err != nil {
		return analyze.Finding{}, false
	}
	note := bi.GoVersion
	if bi.Main.Path != "" {
		note += ", module " + bi.Main.Path
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			note += " " + bi.Main.Version
		}
	}
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" {
			note += ", CGO_ENABLED=" + s.Value
		}
	}
	return analyze.Finding{Kind: analyze.KindGo, Syscall: "execve", Arg: e.Path, Number: -1, Level: analyze.LevelPartial,
		Support: compat.Full, InTable: true, Note: "a Go program: " + note + "; the Go runtime issues its own syscalls, whatever the image's C library"}, true
}

var (
	glibcRe = regexp.MustCompile(`GNU C Library [^\n]*?version ([0-9]+\.[0-9]+)`)
	muslRe  = regexp.MustCompile(`(?m)^P:musl\nV:([0-9][^\n]*)`)
)

// Libc is a C library found in an image.
type Libc struct {
	Name, Version, Path string
}

// findLibc finds the image's C library: glibc by libc.so.6, musl by its
// dynamic loader.
func findLibc(r *image.Rootfs) []Libc {
	var out []Libc
	seen := map[string]bool{}
	for _, dir := range []string{"/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"} {
		host, st, err := r.Stat(path.Join(dir, "libc.so.6"))
		if err != nil || !st.Mode().IsRegular() || seen[host] {
			continue
		}
		seen[host] = true
		l := Libc{Name: "glibc", Path: path.Join(dir, "libc.so.6")}
		if b, err := os.ReadFile(host); err == nil {
			if m := glibcRe.FindSubmatch(b); m != nil {
				l.Version = string(m[1])
			}
		}
		out = append(out, l)
	}
	for _, p := range []string{"/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1"} {
		if _, _, err := r.Stat(p); err != nil {
			continue
		}
		l := Libc{Name: "musl", Path: p}
		if b, err := r.ReadFile("/lib/apk/db/installed"); err == nil {
			if m := muslRe.FindSubmatch(b); m != nil {
				l.Version = string(m[1])
			}
		}
		out = append(out, l)
	}
	return out
}

// libcFindings report the C library, and what of its behaviour the
// target gVisor answers differently.
func libcFindings(in Input) []analyze.Finding {
	var out []analyze.Finding
	for _, l := range findLibc(in.Rootfs) {
		v := l.Version
		if v == "" {
			v = "version unknown"
		}
		f := analyze.Finding{Kind: analyze.KindLibc, Syscall: "-", Arg: l.Path, Number: -1, Level: analyze.LevelPartial,
			Support: compat.Full, InTable: true, Note: l.Name + " " + v}
		if l.Name == "glibc" && versionAtLeast(l.Version, 2, 35) && in.Table != nil {
			// glibc 2.35 registers rseq for every thread and carries on
			// without it when the kernel refuses (GLIBC_TUNABLES
			// glibc.pthread.rseq=0 turns it off).
			if nr, ok := sysno.Number(in.Table.Arch, "rseq"); ok {
				if en := in.Table.Lookup(nr); en.Support != compat.Full {
					f.Note += fmt.Sprintf("; it registers rseq at every thread start and carries on without it (gVisor: %s)", strings.TrimSuffix(en.Note, "."))
				}
			}
		}
		out = append(out, f)
	}
	return out
}

func versionAtLeast(v string, major, minor int) bool {
	var a, b int
	if _, err := fmt.Sscanf(v, "%d.%d", &a, &b); err != nil {
		return false
	}
	return a > major || a == major && b >= minor
}

// interpreterFinding says what runs the entrypoint: its ELF loader (or
// none: static), or a script's interpreter, and whether the image has it.
func interpreterFinding(in Input) analyze.Finding {
	f := analyze.Finding{Kind: analyze.KindInterpreter, Syscall: "execve", Arg: in.Entrypoint, Number: -1, Level: analyze.LevelPartial,
		Support: compat.Full, InTable: true}
	f.Note = describe(in, in.Entrypoint, 0)
	if strings.Contains(f.Note, "missing") {
		f.Note += "; the program cannot start natively either"
	}
	return f
}

func describe(in Input, p string, depth int) string {
	host, st, err := in.Rootfs.Stat(p)
	if err != nil {
		return p + " is missing from the image"
	}
	if !st.Mode().IsRegular() {
		return p + " is not a regular file"
	}
	fh, err := os.Open(host)
	if err != nil {
		return p + ": " + err.Error()
	}
	defer fh.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(fh, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("#!")) && depth < 4:
		line, _, _ := bytes.Cut(head[2:], []byte("\n"))
		fields := strings.Fields(string(line))
		if len(fields) == 0 {
			return p + " is a script with an empty #! line"
		}
		interp := fields[0]
		s := fmt.Sprintf("a script run by %s", strings.Join(fields, " "))
		if path.Base(interp) == "env" && len(fields) > 1 {
			name := fields[1]
			for _, d := range strings.Split(in.PathEnv, ":") {
				cand := path.Join(d, name)
				if _, st, err := in.Rootfs.Stat(cand); err == nil && st.Mode().IsRegular() {
					return s + " (" + name + " is " + cand + ": " + describe(in, cand, depth+1) + ")"
				}
			}
			return s + " (" + name + " is missing from the image's PATH)"
		}
		return s + " (" + describe(in, interp, depth+1) + ")"
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		ef, err := elf.NewFile(fh)
		if err != nil {
			return p + ": a damaged ELF file"
		}
		defer ef.Close()
		machine := ef.Machine.String()
		for _, prog := range ef.Progs {
			if prog.Type == elf.PT_INTERP {
				b := make([]byte, prog.Filesz)
				if _, err := prog.ReadAt(b, 0); err != nil {
					return p + ": unreadable ELF interpreter"
				}
				loader := strings.TrimRight(string(b), "\x00")
				if _, _, err := in.Rootfs.Stat(loader); err != nil {
					return fmt.Sprintf("dynamic ELF (%s); its loader %s is missing from the image", machine, loader)
				}
				return fmt.Sprintf("dynamic ELF (%s), loaded by %s", machine, loader)
			}
		}
		return fmt.Sprintf("static ELF (%s)", machine)
	}
	return p + " is neither ELF nor a #! script: exec runs it with /bin/sh"
}
