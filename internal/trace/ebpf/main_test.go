//go:build linux && amd64

package ebpf

import (
	"testing"

	"github.com/gvcheck/gvcheck/internal/policy"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, policy.ShimMain) }
