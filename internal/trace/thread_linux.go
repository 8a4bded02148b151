//go:build linux

package trace

import (
	"bytes"
	"os"
	"runtime"
)

// goOnChildlessThread runs body on a new goroutine locked to an OS thread
// that has no child processes. The tracer waits with wait4(-1, __WNOTHREAD),
// which reaps any child of its thread: on a thread that earlier forked a
// program for another goroutine (an exec.Cmd not yet waited for, say
// runsc's version check in verify's parallel run), it would take that
// goroutine's exit status. body owns the lock: it may return still locked,
// which ends the thread.
func goOnChildlessThread(body func()) {
	goOnChildless(body, 0)
}

// maxThreadTries bounds the threads passed over; the last one is used
// whatever it holds.
const maxThreadTries = 8

func goOnChildless(body func(), tries int) {
	go func() {
		runtime.LockOSThread()
		if tries >= maxThreadTries || !threadHasChildren() {
			body()
			return
		}
		// Hold this thread, so that the runtime gives the next goroutine
		// another one, until body is done.
		done := make(chan struct{})
		goOnChildless(func() {
			defer close(done)
			body()
		}, tries+1)
		<-done
		runtime.UnlockOSThread()
	}()
}

// threadHasChildren reports whether the calling thread has child processes
// (zombies included). Without /proc/thread-self/children (a kernel built
// without CONFIG_PROC_CHILDREN) it cannot tell and says no.
func threadHasChildren() bool {
	b, err := os.ReadFile("/proc/thread-self/children")
	return err == nil && len(bytes.TrimSpace(b)) > 0
}
