//go:build linux && amd64

package ebpf

import (
	"os"
	"testing"

	"github.com/gvcheck/gvcheck/internal/policy"
)

func TestMain(m *testing.M) {
	if policy.ShimMain() {
		return
	}
	os.Exit(m.Run())
}
