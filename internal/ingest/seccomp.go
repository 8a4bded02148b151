package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/gvcheck/gvcheck/internal/profile"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// seccompSpec is the shape shared by OCI/Docker seccomp profiles and the
// spec of a Security Profiles Operator SeccompProfile.
type seccompSpec struct {
	DefaultAction   string        `json:"defaultAction" yaml:"defaultAction"`
	Architectures   []string      `json:"architectures" yaml:"architectures"`
	ArchMap         []archMapItem `json:"archMap" yaml:"archMap"`
	Syscalls        []seccompRule `json:"syscalls" yaml:"syscalls"`
	BaseProfileName string        `json:"baseProfileName" yaml:"baseProfileName"`
}

type archMapItem struct {
	Architecture     string   `json:"architecture" yaml:"architecture"`
	SubArchitectures []string `json:"subArchitectures" yaml:"subArchitectures"`
}

type seccompRule struct {
	Names    []string       `json:"names" yaml:"names"`
	Name     string         `json:"name" yaml:"name"` // the pre-2016 Docker form
	Action   string         `json:"action" yaml:"action"`
	Args     []any          `json:"args" yaml:"args"`
	Includes *seccompFilter `json:"includes" yaml:"includes"`
	Excludes *seccompFilter `json:"excludes" yaml:"excludes"`
}

type seccompFilter struct {
	Caps   []string `json:"caps" yaml:"caps"`
	Arches []string `json:"arches" yaml:"arches"`
}

// allows reports whether a seccomp action lets the syscall run. TRACE and
// NOTIFY hand the decision to another process, which may let it run.
func allows(action string) (bool, error) {
	switch strings.ToUpper(strings.TrimSpace(action)) {
	case "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY":
		return true, nil
	case "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP":
		return false, nil
	case "":
		return false, errors.New("missing action")
	}
	return false, fmt.Errorf("unknown seccomp action %q", action)
}

var seccompArches = map[string]sysno.Arch{
	"SCMP_ARCH_X86_64": sysno.AMD64, "SCMP_ARCH_AARCH64": sysno.ARM64,
}

// goArches maps an arch named in includes/excludes (Docker uses Go's names)
// to ours.
func ruleArchMatches(list []string, a sysno.Arch) bool {
	for _, s := range list {
		if got, err := sysno.ParseArch(s); err == nil && got == a {
			return true
		}
		if seccompArches[strings.ToUpper(s)] == a {
			return true
		}
	}
	return false
}

// seccompProfile turns a seccomp spec into the set of permitted syscalls.
// where names the profile in messages (the file, and the object in it).
func seccompProfile(spec *seccompSpec, kind, name, where string, opt Options) (*profile.Profile, error) {
	var notes []string
	arch := opt.Arch
	if arch == "" {
		var named []sysno.Arch
		for _, a := range spec.Architectures {
			if x, ok := seccompArches[strings.ToUpper(a)]; ok && !slices.Contains(named, x) {
				named = append(named, x)
			}
		}
		for _, m := range spec.ArchMap {
			if x, ok := seccompArches[strings.ToUpper(m.Architecture)]; ok && !slices.Contains(named, x) {
				named = append(named, x)
			}
		}
		switch len(named) {
		case 1:
			arch = named[0]
		case 0:
			arch = sysno.Host()
			notes = append(notes, "architecture not named, "+string(arch)+" assumed")
		default:
			arch = sysno.Host()
		}
	}
	defAllows, err := allows(spec.DefaultAction)
	if err != nil {
		return nil, fmt.Errorf("%s: defaultAction: %w", where, err)
	}
	allowed := map[int]bool{}
	denied := map[int]bool{}
	var conditional, unknown []string
	for i, r := range spec.Syscalls {
		ok, err := allows(r.Action)
		if err != nil {
			return nil, fmt.Errorf("%s: syscalls[%d]: %w", where, i, err)
		}
		if r.Includes != nil && len(r.Includes.Arches) > 0 && !ruleArchMatches(r.Includes.Arches, arch) {
			continue
		}
		if r.Excludes != nil && ruleArchMatches(r.Excludes.Arches, arch) {
			continue
		}
		cond := len(r.Args) > 0 || (r.Includes != nil && len(r.Includes.Caps) > 0) || (r.Excludes != nil && len(r.Excludes.Caps) > 0)
		names := r.Names
		if r.Name != "" {
			names = append(slices.Clip(names), r.Name)
		}
		for _, n := range names {
			nr, known := sysno.Number(arch, n)
			if !known {
				// Profiles list the names of every architecture they serve.
				if !slices.Contains(unknown, n) {
					unknown = append(unknown, n)
				}
				continue
			}
			switch {
			case ok:
				allowed[nr] = true
				if cond {
					conditional = append(conditional, n)
				}
			case !cond:
				denied[nr] = true
			}
		}
	}
	p := profile.New(arch)
	if defAllows {
		n := 0
		for _, nr := range sysno.Numbers(arch) {
			if !denied[nr] || allowed[nr] {
				p.Syscall(nr)
				n++
			}
		}
		notes = append(notes, fmt.Sprintf("defaultAction %s allows every syscall not denied: all %d %s syscalls minus %d denied", spec.DefaultAction, n, arch, len(denied)))
	} else {
		for nr := range allowed {
			p.Syscall(nr)
		}
		notes = append(notes, fmt.Sprintf("%d syscalls allowed, default %s", len(allowed), spec.DefaultAction))
	}
	if len(p.Syscalls) > maxSyscalls {
		return nil, tooManySyscalls(where)
	}
	if len(conditional) > 0 {
		slices.Sort(conditional)
		conditional = slices.Compact(conditional)
		notes = append(notes, "allowed only for some arguments or capabilities: "+strings.Join(conditional, ", "))
	}
	if len(unknown) > 0 {
		notes = append(notes, fmt.Sprintf("%d names not syscalls of %s ignored", len(unknown), arch))
	}
	if spec.BaseProfileName != "" {
		notes = append(notes, "base profile "+printable(spec.BaseProfileName)+" not included")
	}
	if len(p.Syscalls) == 0 {
		return nil, fmt.Errorf("%s: the seccomp profile allows no syscall of %s", where, arch)
	}
	p.Sources = append(p.Sources, profile.Source{Kind: kind, Name: name, Coverage: profile.CoveragePermitted, Detail: strings.Join(notes, "; ")})
	return p, nil
}

func readOCI(r io.Reader, name string, opt Options) (*profile.Profile, error) {
	data, err := readDoc(r, name)
	if err != nil {
		return nil, err
	}
	var spec seccompSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, jsonError(name, data, err)
	}
	if spec.DefaultAction == "" {
		return nil, fmt.Errorf("%s: not a seccomp profile: no defaultAction", name)
	}
	return seccompProfile(&spec, string(FormatOCISeccomp), name, name, opt)
}

// jsonError names the line of a JSON syntax or type error.
func jsonError(name string, data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off >= 0 && off <= int64(len(data)) {
		line := 1 + bytes.Count(data[:off], []byte("\n"))
		return fmt.Errorf("%s:%d: %w", name, line, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec  seccompSpec `yaml:"spec"`
	Items []yaml.Node `yaml:"items"`
}

// readSPO parses SeccompProfile objects: one, a YAML stream of them, or a
// List; JSON is read as the YAML it is.
func readSPO(r io.Reader, name string, opt Options) (ws []Workload, err error) {
	defer func() {
		// The YAML decoder is third-party code fed untrusted input; a bug in
		// it must not bring gvcheck down.
		if v := recover(); v != nil {
			ws, err = nil, fmt.Errorf("%s: malformed YAML (%v)", name, v)
		}
	}()
	lim := &yamlLimiter{r: r}
	dec := yaml.NewDecoder(lim)
	var skipped []string
	var add func(obj *k8sObject, doc int) error
	add = func(obj *k8sObject, doc int) error {
		switch obj.Kind {
		case "SeccompProfile":
			wname := obj.Metadata.Name
			if wname == "" {
				wname = fmt.Sprintf("document %d", doc)
			}
			if obj.Metadata.Namespace != "" {
				wname = obj.Metadata.Namespace + "/" + wname
			}
			wname = printable(wname)
			if obj.Spec.DefaultAction == "" {
				return fmt.Errorf("%s: %s: spec has no defaultAction", name, wname)
			}
			p, err := seccompProfile(&obj.Spec, string(FormatSPO), name, name+": "+wname, opt)
			if err != nil {
				return err
			}
			p.Sources[0].Detail = joinDetail("workload "+wname, p.Sources[0].Detail)
			ws = append(ws, Workload{Name: wname, Profile: p})
		case "List", "SeccompProfileList":
			for i := range obj.Items {
				var item k8sObject
				if err := obj.Items[i].Decode(&item); err != nil {
					return fmt.Errorf("%s:%d: %w", name, obj.Items[i].Line, oneLine(err))
				}
				if err := add(&item, doc); err != nil {
					return err
				}
			}
		default:
			skipped = append(skipped, printable(obj.Kind))
		}
		return nil
	}
	for doc := 1; ; doc++ {
		var obj k8sObject
		err := dec.Decode(&obj)
		if err == io.EOF {
			break
		}
		if lim.tooLong != "" {
			return nil, fmt.Errorf("%s: %s", name, lim.tooLong)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, doc, oneLine(err))
		}
		if err := add(&obj, doc); err != nil {
			return nil, err
		}
	}
	if len(ws) == 0 {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("%s: no SeccompProfile object (found kind %s)", name, strings.Join(skipped, ", "))
		}
		return nil, fmt.Errorf("%s: no SeccompProfile object", name)
	}
	return ws, nil
}

// oneLine flattens the YAML decoder's multi-line type errors: gvcheck's
// errors are one line each.
func oneLine(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		// Each entry may quote the input, newlines and all.
		return fmt.Errorf("yaml: %s", strings.ReplaceAll(strings.Join(te.Errors, "; "), "\n", `\n`))
	}
	if msg := err.Error(); strings.Contains(msg, "\n") {
		return errors.New(strings.ReplaceAll(msg, "\n", `\n`))
	}
	return err
}

// printable returns s, quoted if it holds characters that would break a
// one-line message.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
