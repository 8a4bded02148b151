package diverge

import (
	"testing"

	"github.com/gvcheck/gvcheck/internal/reap"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

// Runs under runsc start runsc through a reaper: this test binary.
func TestMain(m *testing.M) { testenv.Main(m, reap.Dispatch) }
