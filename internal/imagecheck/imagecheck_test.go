package imagecheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/image"
	"github.com/gvcheck/gvcheck/internal/image/imagetest"
	"github.com/gvcheck/gvcheck/internal/imagecheck"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

func rootfs(t *testing.T, files []imagetest.File) *image.Rootfs {
	t.Helper()
	testenv.NeedRoot(t)
	l, err := imagetest.Layer(files)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imagetest.Image(v1.Config{}, l)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := imagetest.WriteLayout(filepath.Join(dir, "l"), img, "t"); err != nil {
		t.Fatal(err)
	}
	im, err := image.Open(context.Background(), image.Ref{Source: image.SourceOCI, Path: filepath.Join(dir, "l")},
		image.Options{Cache: &image.Cache{Dir: filepath.Join(dir, "c")}})
	if err != nil {
		t.Fatal(err)
	}
	return im.Rootfs()
}

func find(fs []analyze.Finding, kind, arg string) *analyze.Finding {
	for i := range fs {
		if fs[i].Kind == kind && fs[i].Arg == arg {
			return &fs[i]
		}
	}
	return nil
}

func TestFacts(t *testing.T) {
	self, err := os.ReadFile("/proc/self/exe") // a Go program
	if err != nil {
		t.Fatal(err)
	}
	sysAdmin := []byte(imagetest.NetRawCap())
	sysAdmin[5] = 0      // not CAP_NET_RAW (bit 13)
	sysAdmin[6] = 1 << 5 // but CAP_SYS_ADMIN (bit 21)
	r := rootfs(t, []imagetest.File{
		{Path: "bin/ping", Mode: 0o755, Body: []byte("\x7fELF"), Xattrs: map[string]string{"security.capability": imagetest.NetRawCap()}},
		{Path: "bin/admin", Mode: 0o755, Body: []byte("x"), Xattrs: map[string]string{"security.capability": string(sysAdmin)}},
		{Path: "bin/su", Mode: 0o4755, Body: []byte("x")},
		{Path: "bin/mine", Mode: 0o4755, Body: []byte("x"), UID: 1000},
		{Path: "bin/gotool", Mode: 0o755, Body: self},
		{Path: "lib/x86_64-linux-gnu/libc.so.6", Mode: 0o755, Body: []byte("junk GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\n junk")},
		{Path: "lib/ld-musl-x86_64.so.1", Mode: 0o755, Body: []byte("x")},
		{Path: "lib/apk/db/installed", Body: []byte("C:Q1\nP:musl\nV:1.2.4-r2\nA:x86_64\n")},
		{Path: "app/run", Mode: 0o755, Body: []byte("#!/usr/bin/env python3\nprint(1)\n")},
		{Path: "usr/bin/env", Mode: 0o755, Body: []byte("#!/bin/missing-shell\n")},
	})
	table, err := compat.Load(compat.Latest(), "amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	set, _ := rules.For(compat.Latest().ID, "amd64")
	in := imagecheck.Input{Rootfs: r, Entrypoint: "/app/run", PathEnv: "/usr/bin:/bin", UID: 1000,
		SandboxCaps: []string{"CAP_CHOWN", "CAP_KILL"}, Table: table, Rules: set, Date: "2026-09-05"}
	fs, err := imagecheck.Facts(in)
	if err != nil {
		t.Fatal(err)
	}
	check := func(kind, arg string, level analyze.Level, needs string, note ...string) {
		t.Helper()
		f := find(fs, kind, arg)
		if f == nil {
			t.Errorf("no %s finding for %s in %+v", kind, arg, fs)
			return
		}
		if f.Level != level || f.NeedsFlag != needs {
			t.Errorf("%s %s: level %v needs %q, want %v %q", kind, arg, f.Level, f.NeedsFlag, level, needs)
		}
		for _, n := range note {
			if !strings.Contains(f.Note, n) {
				t.Errorf("%s %s: note %q lacks %q", kind, arg, f.Note, n)
			}
		}
	}
	check(analyze.KindExec, "/bin/ping", analyze.LevelNeedsOption, "--net-raw", "CAP_NET_RAW")
	check(analyze.KindExec, "/bin/admin", analyze.LevelUnsupportedArg, "", "CAP_SYS_ADMIN", "exec fails")
	check(analyze.KindSetuid, "/bin/su", analyze.LevelNeedsOption, "--allow-suid", "set-user-ID (owner 0")
	check(analyze.KindSetuid, "/bin/mine", analyze.LevelPartial, "--allow-suid", "already has these ids")
	check(analyze.KindGo, "/bin/gotool", analyze.LevelPartial, "", "go1.")
	check(analyze.KindLibc, "/lib/x86_64-linux-gnu/libc.so.6", analyze.LevelPartial, "", "glibc 2.36", "rseq")
	check(analyze.KindLibc, "/lib/ld-musl-x86_64.so.1", analyze.LevelPartial, "", "musl 1.2.4-r2")
	check(analyze.KindInterpreter, "/app/run", analyze.LevelPartial, "", "python3 is missing from the image's PATH")
	if fs[0].Level < fs[len(fs)-1].Level {
		t.Error("findings are not sorted by level")
	}
	// An old gVisor ignores set-user-ID bits with no option to change it;
	// --allow-suid clears the finding.
	in.Date = "2024-01-01"
	fs, _ = imagecheck.Facts(in)
	check(analyze.KindSetuid, "/bin/su", analyze.LevelUnsupportedArg, "", "ignores the bit")
	in.Date, in.RunscFlags = "2026-09-05", []string{"--allow-suid"}
	fs, _ = imagecheck.Facts(in)
	if f := find(fs, analyze.KindSetuid, "/bin/su"); f != nil {
		t.Errorf("--allow-suid: %+v", f)
	}
}

func TestSettingFindings(t *testing.T) {
	table, err := compat.Load(compat.Latest(), "amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	s := imagecheck.Settings{CapAdd: []string{"NET_RAW", "SYS_TIME", "NET_BIND_SERVICE"}, Privileged: true, HostNetwork: true,
		HostPID: true, HostIPC: true, HostPaths: []imagecheck.HostPath{{Path: "/var/run/docker.sock", Socket: true}, {Path: "/data"}},
		Seccomp: "RuntimeDefault", AppArmor: "runtime/default"}
	fs := imagecheck.SettingFindings(s, table, nil)
	want := map[string]analyze.Level{
		"capabilities: add NET_RAW":        analyze.LevelNeedsOption,
		"capabilities: add SYS_TIME":       analyze.LevelUnsupportedArg,
		"privileged":                       analyze.LevelUnsupportedArg,
		"host network":                     analyze.LevelNeedsOption,
		"host PID namespace":               analyze.LevelUnsupportedArg,
		"host IPC namespace":               analyze.LevelUnsupportedArg,
		"host path /var/run/docker.sock":   analyze.LevelNeedsOption,
		"seccomp profile RuntimeDefault":   analyze.LevelPartial,
		"AppArmor profile runtime/default": analyze.LevelPartial,
	}
	if len(fs) != len(want) {
		t.Errorf("%d findings, want %d: %+v", len(fs), len(want), fs)
	}
	for _, f := range fs {
		l, ok := want[f.Arg]
		if !ok || f.Level != l || f.Source == "" {
			t.Errorf("%s: level %v source %q (want %v)", f.Arg, f.Level, f.Source, l)
		}
	}
	// The options that make them work clear them.
	fs = imagecheck.SettingFindings(imagecheck.Settings{CapAdd: []string{"NET_RAW"}, HostNetwork: true, Seccomp: "x.json"}, table,
		[]string{"--net-raw", "--network=host", "--oci-seccomp"})
	for _, f := range fs {
		if f.Level >= analyze.LevelNeedsOption {
			t.Errorf("with the options: %+v", f)
		}
	}
}
