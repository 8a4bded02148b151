package profile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

func sample() *Profile {
	p := New(sysno.AMD64)
	p.Sources = []Source{{Kind: "strace", Name: "a.log", Coverage: CoverageFull}}
	p.Add(&Call{Nr: 0, Exe: "/bin/cat"})
	p.Add(&Call{Nr: 2, Errno: "ENOENT", Path: "/proc/self/foo", Exe: "/bin/cat"})
	p.Add(&Call{Nr: 157, Key: "PR_SET_NAME", KeyValues: []uint64{15}})
	p.Add(&Call{Nr: 157, Key: "PR_SET_MM", KeyValues: []uint64{35}, Errno: "EINVAL"})
	return p
}

func TestRoundTrip(t *testing.T) {
	p := sample()
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	q, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := q.Write(&again); err != nil {
		t.Fatal(err)
	}
	p.Write(&buf)
	if buf.String() != again.String() {
		t.Errorf("round trip changed the profile:\n%s\nvs\n%s", buf.String(), again.String())
	}
	if s := q.Syscalls["prctl"]; s == nil || s.Count != 2 || s.Args["PR_SET_MM"].Errors["EINVAL"] != 1 {
		t.Errorf("prctl after round trip: %+v", s)
	}
	if u := q.Paths["/proc/self/foo"]; u == nil || u.Errors["ENOENT"] != 1 || u.Syscalls[0] != "open" {
		t.Errorf("path after round trip: %+v", u)
	}
}

func TestMerge(t *testing.T) {
	p, q := sample(), sample()
	q.Sources[0].Coverage = CoverageFiltered
	if err := p.Merge(q); err != nil {
		t.Fatal(err)
	}
	if got := p.Syscalls["read"].Count; got != 2 {
		t.Errorf("read count %d, want 2", got)
	}
	if got := p.Syscalls["prctl"].Args["PR_SET_MM"].Count; got != 2 {
		t.Errorf("PR_SET_MM count %d, want 2", got)
	}
	if got := p.Paths["/proc/self/foo"].Count; got != 2 {
		t.Errorf("path count %d, want 2", got)
	}
	if got := p.Syscalls["read"].Exes["/bin/cat"]; got != 2 {
		t.Errorf("exe count %d, want 2", got)
	}
	if p.Coverage() != CoverageFiltered {
		t.Errorf("coverage %s: a merge is as complete as its weakest part", p.Coverage())
	}
	if err := p.Merge(New(sysno.ARM64)); err == nil {
		t.Error("merging arm64 evidence into an amd64 profile succeeded")
	}
}

func TestReadRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":       "read\nwrite\n",
		"no version":     `{"arch":"amd64","syscalls":{}}`,
		"future version": `{"gvcheck_profile":99,"arch":"amd64","syscalls":{}}`,
		"bad arch":       `{"gvcheck_profile":1,"arch":"mips","syscalls":{}}`,
		"unknown name":   `{"gvcheck_profile":1,"arch":"amd64","syscalls":{"nosuch":{"name":"nosuch","number":0,"count":1}}}`,
		"null syscall":   `{"gvcheck_profile":1,"arch":"amd64","syscalls":{"read":null}}`,
		"unknown field":  `{"gvcheck_profile":1,"arch":"amd64","syscalls":{},"extra":1}`,
		"duplicate":      `{"gvcheck_profile":1,"arch":"amd64","syscalls":{"sysctl":{"name":"_sysctl","count":1},"_sysctl":{"name":"_sysctl","count":1}}}`,
	} {
		if _, err := Read(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadCanonicalises(t *testing.T) {
	p, err := Read(strings.NewReader(`{"gvcheck_profile":1,"arch":"x86_64","syscalls":{"sysctl":{"name":"sysctl","number":0,"count":2}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Arch != sysno.AMD64 {
		t.Errorf("arch %q", p.Arch)
	}
	if s := p.Syscalls["_sysctl"]; s == nil || s.Number != 156 || s.Count != 2 {
		t.Errorf("syscalls %+v", p.Syscalls)
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	sample().Write(&buf)
	f.Add(buf.String())
	f.Add(`{"gvcheck_profile":1,"arch":"arm64","syscalls":{}}`)
	f.Add(`{"gvcheck_profile":1,"arch":"amd64","syscalls":{"x":{"name":"syscall_0x3e7","count":1,"args":{"k":null}}}}`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Read(strings.NewReader(in))
		if err != nil {
			return
		}
		// Whatever was accepted must write and read back.
		var out bytes.Buffer
		if err := p.Write(&out); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(&out); err != nil {
			t.Fatalf("re-read of accepted profile failed: %v\n%s", err, out.String())
		}
	})
}
