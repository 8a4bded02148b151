package report

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/gvcheck/gvcheck/internal/analyze"
)

// Grouping folds findings that share a cause into one row for people
// (text, Markdown, HTML, JUnit); JSON and SARIF keep every finding, and
// --all shows them all.
//
//   - Paths gVisor does not provide, under one directory: a program that
//     walks /sys/block reads hundreds of files gVisor lacks for one
//     reason. Rows are folded from the deepest directory up until at most
//     maxPathRows remain, each with a count and examples.
//   - One argument of one syscall in several variants with the same
//     answer (prctl(PR_SET_MM,PR_SET_MM_START_CODE) and
//     prctl(PR_SET_MM,PR_SET_MM_END_CODE)): one row for the option.

// maxPathRows is how many rows the paths of one workload may take.
const maxPathRows = 6

// maxArgRows is how many rows one syscall's arguments with the same answer
// may take (stress-ng's prctl tries thirty options gVisor refuses alike).
const maxArgRows = 4

// maxExamples is how many members a folded row names.
const maxExamples = 3

// shownFindings returns w's findings as people read them: grouped unless
// opt.All.
func shownFindings(w Workload, opt Options) []analyze.Finding {
	if opt.All {
		return w.Findings
	}
	return groupFindings(w.Findings)
}

// groupKey is what findings must share to fold: the same answer, note
// aside, and the same experimental status and baseline state.
type groupKey struct {
	kind, syscall, errno, needs, tried string
	level                              analyze.Level
	accepted                           bool
}

func keyOf(f analyze.Finding) groupKey {
	k := groupKey{kind: f.Kind, errno: f.Errno, needs: f.NeedsFlag, tried: f.Tried, level: f.Level, accepted: f.Accepted}
	if f.Kind == analyze.KindArgument {
		k.syscall = f.Syscall + "\x00" + f.Source
	}
	return k
}

// groupFindings folds findings that share a cause (see above), keeping
// the order of the first member of each row.
func groupFindings(fs []analyze.Finding) []analyze.Finding {
	paths := map[groupKey][]analyze.Finding{}
	args := map[groupKey]map[string][]analyze.Finding{}
	for _, f := range fs {
		switch f.Kind {
		case analyze.KindPath:
			k := keyOf(f)
			paths[k] = append(paths[k], f)
		case analyze.KindArgument:
			k := keyOf(f)
			if args[k] == nil {
				args[k] = map[string][]analyze.Finding{}
			}
			opt := firstArg(f.Arg)
			args[k][opt] = append(args[k][opt], f)
		}
	}
	// Rows in the order of their first member.
	var out []analyze.Finding
	done := map[string]bool{}
	for _, f := range fs {
		switch f.Kind {
		case analyze.KindPath:
			k := keyOf(f)
			id := fmt.Sprintf("p%v", k)
			if done[id] {
				continue
			}
			done[id] = true
			out = append(out, foldPaths(paths[k])...)
		case analyze.KindArgument:
			k := keyOf(f)
			if len(args[k]) > maxArgRows {
				// Too many options answered alike: one row for them all.
				id := fmt.Sprintf("A%v", k)
				if done[id] {
					continue
				}
				done[id] = true
				out = append(out, foldOptions(args[k]))
				continue
			}
			opt := firstArg(f.Arg)
			id := fmt.Sprintf("a%v\x00%s", k, opt)
			if done[id] {
				continue
			}
			done[id] = true
			out = append(out, foldArgs(args[k][opt]))
		default:
			out = append(out, f)
		}
	}
	return out
}

// firstArg is the first component of an argument's display form, the
// option that decides it ("PR_SET_MM" of "PR_SET_MM,PR_SET_MM_START_CODE").
func firstArg(a string) string {
	first, _, _ := strings.Cut(a, ",")
	return first
}

func foldArgs(fs []analyze.Finding) analyze.Finding {
	if len(fs) == 1 {
		return fs[0]
	}
	g := merge(fs)
	g.Arg = firstArg(fs[0].Arg) + ",…"
	g.Args = nil
	for _, f := range fs {
		g.Args = append(g.Args, f.Arg)
	}
	if len(fs) > 1 && !sameNote(fs) {
		g.Note = ""
	}
	return g
}

// foldPaths folds path findings into at most maxPathRows rows.
func foldPaths(fs []analyze.Finding) []analyze.Finding {
	if len(fs) <= maxPathRows {
		return fs
	}
	// Each row is a directory prefix with its members; start with one row
	// per path and fold the deepest directory holding several rows until
	// few enough remain.
	rows := map[string][]analyze.Finding{}
	for _, f := range fs {
		rows[f.Arg] = append(rows[f.Arg], f)
	}
	for len(rows) > maxPathRows {
		parents := map[string][]string{}
		for r := range rows {
			p := path.Dir(strings.TrimSuffix(r, "/"))
			if p == "/" || p == "." {
				continue
			}
			parents[p] = append(parents[p], r)
		}
		// The deepest parent with more than one row folds first; a parent
		// with one row only moves it up when nothing else can fold.
		best := ""
		for p, members := range parents {
			if len(members) < 2 && !onlySingles(parents) {
				continue
			}
			if best == "" || depth(p) > depth(best) || depth(p) == depth(best) && p < best {
				best = p
			}
		}
		if best == "" {
			break
		}
		var folded []analyze.Finding
		for _, r := range parents[best] {
			folded = append(folded, rows[r]...)
			delete(rows, r)
		}
		rows[best+"/"] = append(rows[best+"/"], folded...)
	}
	var out []analyze.Finding
	for _, r := range slices.Sorted(maps.Keys(rows)) {
		members := rows[r]
		if len(members) == 1 {
			out = append(out, members[0])
			continue
		}
		g := merge(members)
		g.Arg = fmt.Sprintf("%s (%d paths)", r, len(members))
		var ex []string
		for _, m := range members {
			ex = append(ex, m.Arg)
		}
		sort.Strings(ex)
		if len(ex) > maxExamples {
			ex = append(ex[:maxExamples], fmt.Sprintf("and %d more", len(members)-maxExamples))
		}
		g.Args = ex
		if !sameNote(members) {
			g.Note = fmt.Sprintf("gVisor does not provide these entries under %s", r)
		}
		out = append(out, g)
	}
	// Rows keep the findings' order: most-used first reads best.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}

func onlySingles(parents map[string][]string) bool {
	for _, m := range parents {
		if len(m) > 1 {
			return false
		}
	}
	return true
}

func depth(p string) int { return strings.Count(p, "/") }

func sameNote(fs []analyze.Finding) bool {
	for _, f := range fs[1:] {
		if f.Note != fs[0].Note {
			return false
		}
	}
	return true
}

// merge sums members into the first: counts, errors, programs, syscalls.
func merge(fs []analyze.Finding) analyze.Finding {
	g := fs[0]
	g.Count = 0
	g.Errors = nil
	exes := map[string]bool{}
	scs := map[string]bool{}
	for _, f := range fs {
		g.Count += f.Count
		for e, n := range f.Errors {
			if g.Errors == nil {
				g.Errors = map[string]uint64{}
			}
			g.Errors[e] += n
		}
		for _, e := range f.Exes {
			exes[e] = true
		}
		for _, s := range strings.Split(f.Syscall, ",") {
			scs[s] = true
		}
	}
	g.Exes = slices.Sorted(maps.Keys(exes))
	if g.Kind == analyze.KindPath {
		g.Syscall = strings.Join(slices.Sorted(maps.Keys(scs)), ",")
	}
	return g
}

// foldOptions folds every argument of one syscall answered alike into one
// row: "prctl(31 options)", with examples.
func foldOptions(byOpt map[string][]analyze.Finding) analyze.Finding {
	var all []analyze.Finding
	for _, opt := range slices.Sorted(maps.Keys(byOpt)) {
		all = append(all, byOpt[opt]...)
	}
	g := merge(all)
	g.Arg = fmt.Sprintf("%d arguments", len(all))
	var ex []string
	for _, f := range all {
		ex = append(ex, f.Arg)
	}
	if len(ex) > maxExamples {
		ex = append(ex[:maxExamples], fmt.Sprintf("and %d more", len(all)-maxExamples))
	}
	g.Args = ex
	if !sameNote(all) {
		g.Note = ""
	}
	return g
}
