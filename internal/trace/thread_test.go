//go:build linux

package trace

import (
	"os/exec"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestChildlessThread: bodies never run on a thread that has a child of
// another goroutine's (an exec.Cmd still running), though the runtime
// offers such threads again and again; the child's exit status stays its
// owner's.
func TestChildlessThread(t *testing.T) {
	var cmds []*exec.Cmd
	for i := 0; i < 4; i++ {
		// Fork from a thread that is then free for other goroutines.
		done := make(chan *exec.Cmd)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c := exec.Command("sleep", "0.5")
			if err := c.Start(); err != nil {
				t.Error(err)
			}
			done <- c
		}()
		cmds = append(cmds, <-done)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		goOnChildlessThread(func() {
			defer wg.Done()
			defer runtime.UnlockOSThread()
			if threadHasChildren() {
				mu.Lock()
				bad++
				mu.Unlock()
			}
			// A tracer's wait: it must find nothing to reap here.
			var ws unix.WaitStatus
			if pid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD|unix.WNOHANG, nil); pid > 0 {
				t.Errorf("reaped %d, another goroutine's child (%v)", pid, err)
			}
		})
	}
	wg.Wait()
	if bad > 0 {
		t.Errorf("%d bodies ran on a thread with children", bad)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("the owner lost its child: %v", err)
		}
	}
}
