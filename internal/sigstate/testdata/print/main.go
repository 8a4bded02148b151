// Command print prints the signal state sigstate recovers, for its tests.
package main

import (
	"fmt"

	"github.com/gvcheck/gvcheck/internal/sigstate"
)

func main() {
	st := sigstate.Inherited()
	fmt.Printf("%016x %016x %v\n", uint64(st.Ignored), uint64(st.Blocked), st.Exact)
}
