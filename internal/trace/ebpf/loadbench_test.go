//go:build linux && amd64

package ebpf

import "testing"

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		p, err := load(config{mode: modeSeeds})
		if err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}
