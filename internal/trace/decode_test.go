package trace

import "testing"

func TestInterestingPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/proc/self/maps": true, "/proc": true, "/sys/fs/cgroup": true, "/dev/null": true,
		"/devices": false, "/processes": false, "/etc/passwd": false, "proc/self": false,
	} {
		if interestingPath(p) != want {
			t.Errorf("interestingPath(%q) = %v", p, !want)
		}
	}
}
