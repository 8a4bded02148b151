package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// printCorpus prints the corpus as a Markdown table with its counts.
func printCorpus(w io.Writer, entries []*Entry) {
	fmt.Fprintln(w, "| program | category | package | label | mechanism | ci |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	count := map[string]int{}
	mech := map[string]int{}
	for _, e := range entries {
		ci := ""
		if e.CI {
			ci = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", e.Name, e.Category, e.Package, orDash(e.Label), orDash(e.Mechanism), ci)
		count[orDash(e.Label)]++
		if e.Mechanism != "" {
			mech[e.Mechanism]++
		}
	}
	var ms []string
	for m, n := range mech {
		ms = append(ms, fmt.Sprintf("%s %d", m, n))
	}
	sort.Strings(ms)
	fmt.Fprintf(w, "\n%d programs: %d work, %d fail, %d unlabelled; %d mechanisms: %s\n",
		len(entries), count[labelWorks], count[labelFails], count["-"], len(mech), strings.Join(ms, ", "))
}
