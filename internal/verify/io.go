//go:build linux

package verify

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/gvcheck/gvcheck/internal/launch"
)

// capture is a pipe whose read end is drained into memory (up to
// launch.DefaultOutputLimit), so a traced program never blocks on output.
type capture struct {
	w    *os.File
	done chan struct{}
	mu   sync.Mutex
	data []byte
}

func newCapture() (*capture, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	c := &capture{w: w, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer r.Close()
		buf := make([]byte, 64*1024)
		for {
			n, err := r.Read(buf)
			c.mu.Lock()
			if room := launch.DefaultOutputLimit - len(c.data); n > 0 && room > 0 {
				c.data = append(c.data, buf[:min(n, room)]...)
			}
			c.mu.Unlock()
			if err != nil {
				if err != io.EOF {
					return
				}
				return
			}
		}
	}()
	return c, nil
}

// close closes the write end and waits for the program's last output.
func (c *capture) close() {
	if c == nil {
		return
	}
	c.w.Close()
	<-c.done
}

func (c *capture) bytes() []byte {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.data
}

func openStdin(name string) (*os.File, error) {
	if name == "" {
		name = os.DevNull
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("verify: stdin: %w", err)
	}
	return f, nil
}
