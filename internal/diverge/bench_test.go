package diverge

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gvcheck/gvcheck/internal/profile"
)

// synthetic makes a stream of n calls over a small vocabulary, the way real
// programs repeat a few calls on many paths.
func synthetic(r *rand.Rand, pid, n int) []profile.Call {
	names := []string{"openat", "read", "write", "newfstatat", "ioctl", "fcntl", "lseek", "getdents64", "sendto", "recvfrom"}
	out := make([]profile.Call, n)
	for i := range out {
		c := profile.Call{Pid: pid, Tid: pid, Exe: "/app", Name: names[r.IntN(len(names))]}
		if c.Name == "openat" {
			c.Text = fmt.Sprintf(`AT_FDCWD, "/data/f%d", O_RDONLY`, r.IntN(50))
		}
		if r.IntN(20) == 0 {
			c.Errno, c.Ret = "ENOENT", -1
		}
		out[i] = c
	}
	return out
}

func BenchmarkCompareSimilar(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	native := synthetic(r, 10, 200000)
	gv := make([]profile.Call, 0, len(native))
	for _, c := range native {
		if r.IntN(50) == 0 {
			continue // a call gVisor's run skipped
		}
		c.Pid, c.Tid = 1, 1
		gv = append(gv, c)
	}
	b.ResetTimer()
	for b.Loop() {
		CompareWith(native, gv, Options{})
	}
}

func BenchmarkCompareUnrelated(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	native := synthetic(r, 10, 100000)
	gv := synthetic(r, 1, 100000)
	b.ResetTimer()
	for b.Loop() {
		CompareWith(native, gv, Options{})
	}
}

func BenchmarkCompareDisjoint(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	native := synthetic(r, 10, 50000)
	gv := make([]profile.Call, 50000)
	for i := range gv {
		gv[i] = profile.Call{Pid: 1, Tid: 1, Exe: "/app", Name: "pwrite64", Errno: "EBADF"}
	}
	b.ResetTimer()
	for b.Loop() {
		CompareWith(native, gv, Options{})
	}
}
