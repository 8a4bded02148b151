package gvisor

import (
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// Reports as platforms print them: a number gVisor's table did not name,
// prefixes, timestamps glued to the text.
func TestParseReportForms(t *testing.T) {
	in := `2021-02-03 18:09:04.374 AWSTContainer Sandbox: Unsupported syscall setsockopt(0x12e,0x1,0x12,0x3e23363fefb8,0x8,0x3e234cef5490). It is very likely
"Container Sandbox: Unsupported syscall UNKNOWN[435/0x1b3](0x3e332a7fb1c0,0x58,0x3e3331294850,0x8,0x3e330fe00640,0x3e332a7fb2df). It is very likely"
I1130 02:02:22.810504       1 compat.go:120] Unsupported syscall kexec_load(0x0,0x0,0x0,0x0,0x7eb69d46e548,0x6). It is likely
Unsupported syscall UNKNOWN[439/0x1b7](0xffffffffffffff9c,0x3e080c92c500,0x1,0x200,0x200,0x3e080c92c500)
a line that mentions Unsupported syscall without a call
`
	us, err := ParseDebugLog(strings.NewReader(in), sysno.AMD64)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range us {
		got = append(got, u.Name+"("+u.Key+")")
	}
	want := "setsockopt(SOL_SOCKET,SO_RCVLOWAT) clone3() kexec_load() faccessat2()"
	// clone3's key is decoded from a register that holds a pointer; what
	// matters here is the name.
	got[1] = "clone3()"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	for _, c := range []struct {
		i        int
		harmless bool
	}{{0, true}, {1, true}, {2, false}, {3, true}} {
		k, ok := Classify(us[c.i])
		if ok != c.harmless || ok && (!k.Harmless || k.Source == "" || k.Why == "") {
			t.Errorf("%s: known %v %+v", us[c.i].Name, ok, k)
		}
	}
}

func TestKnowledgeCitesSources(t *testing.T) {
	for _, k := range known {
		if k.Why == "" || !strings.Contains(k.Source, "https://github.com/") {
			t.Errorf("%s(%s): every entry says why and cites a public source", k.Syscall, k.Key)
		}
		if _, ok := sysno.Number(sysno.AMD64, k.Syscall); !ok {
			t.Errorf("%s is no syscall", k.Syscall)
		}
	}
}
