package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// unknownCommand is the error for a subcommand that does not exist: status
// 127 as a shell gives, with the nearest commands as a hint.
func unknownCommand(root *cobra.Command, args []string) error {
	cmd, word := root, ""
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		sub := findSub(cmd, a)
		if sub == nil {
			word = a
			break
		}
		cmd = sub
	}
	err := &statusError{fmt.Errorf("unknown command %q for %q", word, cmd.CommandPath()), ExitNotFound}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, set only on the path it walks
	}
	if s := cmd.SuggestionsFor(word); len(s) > 0 {
		for i := range s {
			s[i] = "'" + cmd.CommandPath() + " " + s[i] + "'"
		}
		return withHint(err, "did you mean "+orList(s)+"?")
	}
	return withHint(err, fmt.Sprintf("run '%s --help' for the commands", cmd.CommandPath()))
}

func findSub(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || slices.Contains(c.Aliases, name) {
			return c
		}
	}
	return nil
}

// subcommandsOnly makes a command that only groups others (db) report a
// wrong subcommand as unknown rather than print its help and succeed.
func subcommandsOnly(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return unknownCommand(cmd.Root(), append(strings.Fields(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name())), args...))
}

// flagError marks flag parsing errors as usage errors and suggests the
// flags nearest to an unknown one (--ful: did you mean --full?).
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return &usageError{err}
	}
	name, _, _ = strings.Cut(name, "=")
	var near []string
	seen := map[string]bool{}
	visit := func(f *pflag.Flag) {
		if f.Hidden || seen[f.Name] {
			return
		}
		seen[f.Name] = true
		// Short names get fewer edits: "ful" is --full, not --all.
		if strings.HasPrefix(f.Name, name) || levenshtein(name, f.Name) <= min(2, len(name)/3) {
			near = append(near, "--"+f.Name)
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	if len(near) == 0 || len(near) > 4 {
		return &usageError{err}
	}
	slices.Sort(near)
	return withHint(&usageError{err}, "did you mean "+orList(near)+"?")
}

func orList(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// levenshtein is the edit distance between a and b (bytes).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
