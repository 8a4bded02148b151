// Command accuracy measures how often gvcheck's answers match what real
// gVisor does, on a corpus of real programs (corpus.yaml).
//
//	go run ./bench/accuracy list              the corpus, with counts
//	go run ./bench/accuracy label [-write]    run each program natively and
//	                                          under runsc (untraced) and
//	                                          compare with its committed label
//	go run ./bench/accuracy score             gvcheck's prediction per mode
//	                                          (check, run, run --probe, probe,
//	                                          verify) against the labels
//
// Flags (after the subcommand): -only NAME,... -modes check,run,...
// -parallel N (default 1: runs are timing sensitive) -gvcheck PATH (a
// prebuilt binary; default: go build ./cmd/gvcheck) -runsc PATH -repeat N
// (label runs per side, default 3) -out DIR (results, default
// bench/accuracy/results) -corpus FILE.
//
// bench/accuracy/install.sh installs the programs of the corpus.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

type options struct {
	root     string // the module root
	corpus   string
	only     string
	modes    string
	parallel int
	gvcheck  string
	runsc    string
	repeat   int
	write    bool
	out      string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "accuracy:", err)
		os.Exit(1)
	}
}

const usage = "usage: go run ./bench/accuracy list|label|score [-only NAME,...] [-modes check,run,run-probe,probe,verify] [-parallel N] [-gvcheck PATH] [-runsc PATH] [-repeat N] [-write] [-out DIR] [-corpus FILE]"

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New(usage)
	}
	sub := args[0]
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	o := &options{root: root}
	fs := flag.NewFlagSet(sub, flag.ContinueOnError)
	fs.StringVar(&o.corpus, "corpus", filepath.Join(root, "bench/accuracy/corpus.yaml"), "corpus file")
	fs.StringVar(&o.only, "only", "", "comma-separated entry names (default: all)")
	fs.StringVar(&o.modes, "modes", "all", "score: comma-separated modes: "+strings.Join(allModes, ","))
	fs.IntVar(&o.parallel, "parallel", 1, "entries run at once")
	fs.StringVar(&o.gvcheck, "gvcheck", "", "score: a prebuilt gvcheck binary (default: go build ./cmd/gvcheck)")
	fs.StringVar(&o.runsc, "runsc", "runsc", "runsc binary for labelling")
	fs.IntVar(&o.repeat, "repeat", 3, "label: runs per side (native, runsc)")
	fs.BoolVar(&o.write, "write", false, "label: record measured labels in the corpus file")
	fs.StringVar(&o.out, "out", filepath.Join(root, "bench/accuracy/results"), "directory for the raw results (JSON); empty: none")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), usage)
	}
	if o.parallel < 1 || o.repeat < 1 {
		return errors.New("-parallel and -repeat must be at least 1")
	}
	all, err := loadCorpus(o.corpus)
	if err != nil {
		return err
	}
	entries, err := selectEntries(all, o.only)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		printCorpus(os.Stdout, entries)
		return nil
	case "label":
		return cmdLabel(ctx, o, entries)
	case "score":
		return cmdScore(ctx, o, entries)
	}
	return fmt.Errorf("unknown subcommand %q\n%s", sub, usage)
}

// forEach calls f(0..n-1) on at most parallel goroutines at once.
func forEach(n, parallel int, f func(int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

func writeJSON(dir, name string, v any) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), append(data, '\n'), 0o644)
}

// moduleRoot finds gvcheck's module root from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/gvcheck/gvcheck\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the gvcheck module")
		}
		dir = parent
	}
}

func buildGvcheck(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/gvcheck")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/gvcheck: %w", err)
	}
	return nil
}

// describeGvcheck names the gvcheck scored: the checkout's commit, marked
// dirty when gvcheck's own sources differ from it, or the prebuilt binary's
// path.
func describeGvcheck(ctx context.Context, root, prebuilt string) string {
	if prebuilt != "" {
		return prebuilt
	}
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no",
		"--", "cmd", "internal", "go.mod", "go.sum").Output()
	if err != nil || len(bytes.TrimSpace(st)) > 0 {
		rev += "-dirty"
	}
	return rev
}

// runscVersion names runsc by its gVisor module version (a go-installed
// runsc reports no release).
func runscVersion(ctx context.Context, runsc string) string {
	path, err := exec.LookPath(runsc)
	if err != nil {
		return "missing"
	}
	out, err := exec.CommandContext(ctx, "go", "version", "-m", path).Output()
	if err == nil {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 3 && f[0] == "mod" && f[1] == "gvisor.dev/gvisor" {
				return f[2]
			}
		}
	}
	return path
}

func kernelRelease() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "unknown"
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}
