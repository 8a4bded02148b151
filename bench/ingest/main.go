// Command ingest-bench generates a large strace -f log and parses it with
// gvcheck's ingest package, for bench/ingest/run.sh.
//
//	ingest-bench gen -size 1GiB FILE   write a log
//	ingest-bench parse FILE...         parse and print MB/s and the names
//	                                   ($CPUPROFILE: write a CPU profile there)
//	ingest-bench time CMD ARGS...      run CMD, print its wall time and the
//	                                   peak RSS of its largest process
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gvcheck/gvcheck/internal/ingest"
	"github.com/gvcheck/gvcheck/internal/ingest/stracegen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ingest-bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: ingest-bench gen|parse ARGS")
	}
	switch args[0] {
	case "gen":
		fs := flag.NewFlagSet("gen", flag.ContinueOnError)
		size := fs.String("size", "1GiB", "log size (bytes, or with KiB/MiB/GiB)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: ingest-bench gen [-size N] FILE")
		}
		n, err := parseSize(*size)
		if err != nil {
			return err
		}
		f, err := os.Create(fs.Arg(0))
		if err != nil {
			return err
		}
		if _, err := stracegen.Write(f, n, 1); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case "parse":
		var size int64
		for _, p := range args[1:] {
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			size += fi.Size()
		}
		if path := os.Getenv("CPUPROFILE"); path != "" {
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		start := time.Now()
		p, err := ingest.ReadFiles(args[1:], ingest.Options{})
		if err != nil {
			return err
		}
		d := time.Since(start)
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		fmt.Fprintf(os.Stderr, "parsed %d bytes in %.3fs: %.0f MB/s, %d syscalls, max RSS %d KiB\n",
			size, d.Seconds(), float64(size)/1e6/d.Seconds(), len(p.Syscalls), ru.Maxrss)
		fmt.Println(strings.Join(p.Names(), "\n"))
		return nil
	case "time":
		if len(args) < 2 {
			return fmt.Errorf("usage: ingest-bench time CMD ARGS")
		}
		cmd := exec.Command(args[1], args[2:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return err
		}
		d := time.Since(start)
		// RUSAGE_CHILDREN's ru_maxrss is that of the largest descendant
		// waited for: for a pipeline, its biggest stage.
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "time: %.3f s wall, %.3f s user, %.3f s sys, peak RSS %d KiB\n",
			d.Seconds(), tv(ru.Utime), tv(ru.Stime), ru.Maxrss)
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func tv(t syscall.Timeval) float64 {
	return float64(t.Sec) + float64(t.Usec)/1e6
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
