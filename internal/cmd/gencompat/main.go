// Command gencompat generates gvcheck's embedded gVisor compatibility
// database (internal/compat/zdata.go) from the syscall tables in the source
// of every gvisor.dev/gvisor module version listed in
// internal/compat/extract, plus the 2020-04-23 documentation list. It needs
// the go command and network access to the module proxy (or a warm module
// cache). Run it with "go generate ./internal/compat".
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gvcheck/gvcheck/internal/cmd/golit"
	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/compat/extract"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

func main() {
	out := flag.String("o", ".", "directory of package compat to write into")
	quiet := flag.Bool("q", false, "do not print the summary")
	flag.Parse()
	if err := run(*out, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, "gencompat:", err)
		os.Exit(1)
	}
}

func run(out string, quiet bool) error {
	ctx := context.Background()
	versions := make([]string, len(extract.Sources))
	for i, s := range extract.Sources {
		versions[i] = s.Module
	}
	start := time.Now()
	dl, err := extract.Download(ctx, versions)
	if err != nil {
		return err
	}
	took := time.Since(start)

	var results []*extract.Result
	var summary []string
	for _, src := range extract.Sources {
		res, err := extract.Extract(dl[src.Module].Dir, src)
		if err != nil {
			return err
		}
		results = append(results, res)
		summary = append(summary, describe(res))
	}
	docs, err := extract.Docs()
	if err != nil {
		return err
	}
	results = append(results, docs)
	summary = append(summary, describe(docs))

	sums := make([][2]string, len(extract.Sources))
	for i, s := range extract.Sources {
		sums[i] = [2]string{s.Module, dl[s.Module].Sum}
	}
	src, err := Render(results, sums)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "zdata.go"), src, 0o644); err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(os.Stderr, "downloaded %d module versions in %s\n", len(versions), took.Round(time.Millisecond))
		fmt.Fprintf(os.Stderr, "zdata.go: %d bytes\n", len(src))
		fmt.Fprintln(os.Stderr, strings.Join(summary, "\n"))
	}
	return nil
}

// Render returns zdata.go: the versions oldest first, every distinct entry
// once (in order of first appearance, so that a new version appends), every
// distinct table once as a list of entry indices sorted by syscall number,
// and the module versions and go.sum hashes the data came from. The tables
// are statically initialised Go data: nothing is decoded at run time.
func Render(results []*extract.Result, sums [][2]string) ([]byte, error) {
	results = append([]*extract.Result(nil), results...)
	sort.SliceStable(results, func(i, j int) bool { return results[i].Version.Date.Before(results[j].Version.Date) })

	var entries, tables []string
	entryIdx, tableIdx := map[string]int{}, map[string]int{}
	table := func(es []compat.Entry) (int, error) {
		es = append([]compat.Entry(nil), es...)
		sort.SliceStable(es, func(i, j int) bool { return es[i].Number < es[j].Number })
		idx := make([]int, 0, len(es))
		for k, e := range es {
			if k > 0 && es[k-1].Number == e.Number {
				return 0, fmt.Errorf("syscall %d twice", e.Number)
			}
			lit := entryLit(e)
			i, ok := entryIdx[lit]
			if !ok {
				i = len(entries)
				entries = append(entries, lit)
				entryIdx[lit] = i
			}
			idx = append(idx, i)
		}
		lit, err := golit.Indices(idx, "\t\t", 20)
		if err != nil {
			return 0, err
		}
		i, ok := tableIdx[lit]
		if !ok {
			i = len(tables)
			tables = append(tables, lit)
			tableIdx[lit] = i
		}
		return i, nil
	}

	var vs strings.Builder
	for _, r := range results {
		v := r.Version
		var refs []string
		for _, a := range sysno.Arches {
			vars, ok := r.Tables[a]
			if !ok {
				continue
			}
			if _, ok := vars[""]; !ok {
				return nil, fmt.Errorf("version %s: %s has no default table", v.ID, a)
			}
			names := make([]string, 0, len(vars))
			for name := range vars {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				i, err := table(vars[name])
				if err != nil {
					return nil, fmt.Errorf("version %s %s: %w", v.ID, a, err)
				}
				refs = append(refs, fmt.Sprintf("{%q, %q, %d}", a, name, i))
			}
		}
		if len(refs) == 0 {
			return nil, fmt.Errorf("version %s: no tables", v.ID)
		}
		if v.Date.Location() != time.UTC || v.Date.Nanosecond() != 0 {
			return nil, fmt.Errorf("version %s: date %s is not whole UTC seconds", v.ID, v.Date)
		}
		fields := golit.Fields("id", golit.String(v.ID), "date", fmt.Sprint(v.Date.Unix()), "tag", golit.String(v.Tag),
			"source", golit.String(v.Source), "namesOnly", golit.Bool(v.NamesOnly), "variants", golit.Strings(v.Variants))
		fmt.Fprintf(&vs, "\t{\n\t\t%s,\n\t\ttables: []generatedTable{%s},\n\t},\n", fields[1:len(fields)-1], strings.Join(refs, ", "))
	}

	var g bytes.Buffer
	g.WriteString("// Code generated by internal/cmd/gencompat from gVisor's syscall tables; DO NOT EDIT.\n\npackage compat\n\n")
	g.WriteString("// generatedFrom lists the gvisor.dev/gvisor module versions the embedded\n// data was extracted from, with the go.sum hash of each module zip.\n")
	g.WriteString("var generatedFrom = []struct{ Version, Sum string }{\n")
	for _, s := range sums {
		fmt.Fprintf(&g, "\t{%q, %q},\n", s[0], s[1])
	}
	g.WriteString("}\n\n")
	g.WriteString("// generatedVersions are the embedded versions, oldest first, with their\n// tables per architecture and variant (indices into tablePool).\n")
	g.WriteString("var generatedVersions = [...]generatedVersion{\n" + vs.String() + "}\n\n")
	g.WriteString("// tablePool holds every distinct table once: indices into entryPool, by\n// syscall number.\nvar tablePool = [...][]uint16{\n")
	for i, t := range tables {
		fmt.Fprintf(&g, "\t// %d\n\t%s,\n", i, t)
	}
	g.WriteString("}\n\n")
	g.WriteString("// entryPool holds every distinct entry once.\nvar entryPool = [...]Entry{\n")
	for i, e := range entries {
		if i%10 == 0 {
			fmt.Fprintf(&g, "\t// %d\n", i)
		}
		fmt.Fprintf(&g, "\t%s,\n", e)
	}
	g.WriteString("}\n")
	src, err := format.Source(g.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format zdata.go: %w", err)
	}
	return src, nil
}

var supportNames = map[compat.Support]string{compat.Full: "Full", compat.Partial: "Partial", compat.Unimplemented: "Unimplemented"}

// entryLit writes an entry of gVisor's table (InTable always true).
func entryLit(e compat.Entry) string {
	return golit.Fields("Number", fmt.Sprint(e.Number), "Name", golit.String(e.Name), "Support", supportNames[e.Support],
		"Errno", golit.String(e.Errno), "Cap", golit.String(e.Cap), "Note", golit.String(e.Note), "URLs", golit.Strings(e.URLs),
		"InTable", "true")
}

func describe(r *extract.Result) string {
	var parts []string
	for _, a := range sysno.Arches {
		vars, ok := r.Tables[a]
		if !ok {
			continue
		}
		for _, v := range append([]string{""}, r.Version.Variants...) {
			es, ok := vars[v]
			if !ok {
				continue
			}
			var n [3]int
			for _, e := range es {
				n[e.Support]++
			}
			label := string(a)
			if v != "" {
				label += " " + v
			}
			parts = append(parts, fmt.Sprintf("%s %d (%d/%d/%d)", label, len(es), n[compat.Full], n[compat.Partial], n[compat.Unimplemented]))
		}
	}
	return fmt.Sprintf("%-36s %s  %s", r.Version.ID, r.Version.Tag, strings.Join(parts, "  "))
}
