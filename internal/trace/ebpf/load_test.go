//go:build linux && amd64

package ebpf

import (
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		p, err := load(config{mode: modeSeeds})
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		p.Close()
		t.Log("load", t1.Sub(t0), "close", time.Since(t1))
	}
}
