package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gvcheck/gvcheck/internal/testenv"
)

// TestOutputKeepsSpecialFiles writes a report to a character device (a
// second /dev/null) and to a FIFO: they must be written in place, not
// replaced by a regular file through the atomic rename used for files.
func TestOutputKeepsSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		testenv.Missingf(t, "cannot create a device node here (needs CAP_MKNOD): %v", err)
	}
	o := outputFlags{file: null}
	if err := o.writeTo(nil, func(w io.Writer) error { _, err := io.WriteString(w, "report\n"); return err }); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(null); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("the device was replaced: %v %v", st.Mode(), err)
	}

	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- b
	}()
	o = outputFlags{file: fifo}
	if err := o.writeTo(nil, func(w io.Writer) error { _, err := io.WriteString(w, "via fifo\n"); return err }); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, []byte("via fifo\n")) {
		t.Errorf("fifo read %q", b)
	}
	if st, _ := os.Stat(fifo); st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v", st.Mode())
	}

	// A regular file is replaced atomically.
	file := filepath.Join(dir, "report.txt")
	o = outputFlags{file: file}
	if err := o.writeTo(nil, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Errorf("file holds %q", b)
	}
}
