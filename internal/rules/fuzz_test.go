package rules

import (
	"testing"

	"github.com/gvcheck/gvcheck/internal/sysno"
)

// FuzzPathProvided: any path a trace or log reports gets an answer, never a
// panic.
func FuzzPathProvided(f *testing.F) {
	for _, p := range []string{"/proc/self/maps", "/proc/12/task/13/fd/4", "/proc/net/tcp", "/proc", "/dev/", "/sys/x/../y", "", "relative", "/proc//self"} {
		f.Add(p)
	}
	s, ok := For(newest, sysno.AMD64)
	if !ok {
		f.Fatal("newest version not embedded")
	}
	f.Fuzz(func(t *testing.T, p string) {
		if _, note := s.PathProvided(p); note == "" {
			t.Fatalf("PathProvided(%q): empty note", p)
		}
	})
}
