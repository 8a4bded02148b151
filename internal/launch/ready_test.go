package launch

import (
	"strings"
	"testing"
	"time"
)

func TestParseReady(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Ready
		err  string
	}{
		{"8080", Ready{Port: 8080}, ""},
		{"port:80", Ready{Port: 80}, ""},
		{"tcp:443,delay:2s", Ready{Port: 443, Delay: 2 * time.Second}, ""},
		{"file:/run/app.pid", Ready{File: "/run/app.pid"}, ""},
		{"500ms", Ready{Delay: 500 * time.Millisecond}, ""},
		{" port:1 , file:x ", Ready{Port: 1, File: "x"}, ""},
		{"", Ready{}, "empty"},
		{"port:0", Ready{}, "1..65535"},
		{"port:99999", Ready{}, "1..65535"},
		{"port:1,port:2", Ready{}, "only one port"},
		{"file:", Ready{}, "no file name"},
		{"delay:-1s", Ready{}, "duration"},
		{"soon", Ready{}, "duration"},
		{"udp:53", Ready{}, "unknown condition"},
	} {
		got, err := ParseReady(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseReady(%q) error %v, want one saying %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseReady(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseReady(f *testing.F) {
	for _, s := range []string{"8080", "port:80,delay:1s", "file:/tmp/x", "2s", "udp:1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReady(s)
		if err != nil {
			if strings.ContainsRune(err.Error(), '\n') {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if r == (Ready{}) && r.String() != "" {
			t.Errorf("empty ready prints %q", r.String())
		}
		// The printed form reads back the same.
		back, err := ParseReady(r.String())
		if r != (Ready{}) && (err != nil || back != r) {
			t.Errorf("ParseReady(%q) = %+v; its String %q reads back as %+v, %v", s, r, r.String(), back, err)
		}
	})
}
