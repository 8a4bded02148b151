package outfile

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const nobody = 65534

func text(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another user's victim; CI runs as root")
	}
}

// sticky returns a world-writable sticky directory, as /tmp is.
func sticky(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(d, 0o1777); err != nil {
		t.Fatal(err)
	}
	return d
}

func content(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPlantedLinkRefused: a link another user made in a sticky directory is
// never followed, whether it points at a device, a root file or, as a
// directory, elsewhere; the targets stay as they were.
func TestPlantedLinkRefused(t *testing.T) {
	needRoot(t)
	tmp := sticky(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(t.TempDir(), "null")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{secret, dev, filepath.Dir(secret)} {
		link := filepath.Join(tmp, "report")
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(link, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		name := link
		if target == filepath.Dir(secret) {
			name = filepath.Join(link, "secret") // through a planted directory link
		}
		err := Write(name, text("report\n"))
		if err == nil || !strings.Contains(err.Error(), "refusing to follow") {
			t.Errorf("%s -> %s: %v, want a refusal", name, target, err)
		}
		if got := content(t, secret); got != "root's\n" {
			t.Fatalf("%s was written through a planted link: %q", secret, got)
		}
	}
	// gvcheck's user's own link in the same place is followed.
	mine := filepath.Join(tmp, "mine")
	if err := os.Symlink(secret, mine); err != nil {
		t.Fatal(err)
	}
	if err := Write(mine, text("mine\n")); err != nil || content(t, secret) != "mine\n" {
		t.Errorf("own link: %v, %q", err, content(t, secret))
	}
}

// TestFlippingLinkRace: another user flips a link in /tmp between /dev/null
// and a root-owned file as fast as it can; the file is never written.
func TestFlippingLinkRace(t *testing.T) {
	needRoot(t)
	tmp := sticky(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(tmp, "out")
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := filepath.Join(tmp, "out.next")
		for i := 0; !stop.Load(); i++ {
			target := "/dev/null"
			if i%2 == 1 {
				target = secret
			}
			_ = os.Remove(next)
			if os.Symlink(target, next) == nil {
				_ = os.Lchown(next, nobody, nobody)
				_ = os.Rename(next, link)
			}
		}
	}()
	for range 300 {
		_ = Write(link, text("report\n"))
	}
	stop.Store(true)
	wg.Wait()
	if got := content(t, secret); got != "root's\n" {
		t.Errorf("the root-owned file was overwritten: %q", got)
	}
}

// TestOthersFilesInStickyDirRefused: another user's regular file or FIFO
// in a sticky directory is not replaced or written.
func TestOthersFilesInStickyDirRefused(t *testing.T) {
	needRoot(t)
	tmp := sticky(t)
	file := filepath.Join(tmp, "theirs")
	if err := os.WriteFile(file, []byte("theirs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(tmp, "fifo")
	if err := unix.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, fifo} {
		if err := os.Chown(p, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		if err := Write(p, text("x")); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("%s: %v, want a refusal", p, err)
		}
	}
	if got := content(t, file); got != "theirs\n" {
		t.Errorf("their file now holds %q", got)
	}
}

// TestLinkToFileWrittenThrough: a link of one's own to a regular file is
// written through: the target gets the report and keeps its mode, the link
// stays a link.
func TestLinkToFileWrittenThrough(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.txt")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.txt")
	if err := os.Symlink("real.txt", link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, text("new")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
	}
	fi, err := os.Stat(target)
	if err != nil || content(t, target) != "new" || fi.Mode().Perm() != 0o600 {
		t.Errorf("target: %v, %q, mode %v; want \"new\", 0600 kept", err, content(t, target), fi.Mode().Perm())
	}
	// Through a relative link in a linked directory, and with ".." after it.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(dir, "subl")); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "subl", "..", "real.txt"), text("dotdot")); err != nil || content(t, target) != "dotdot" {
		t.Errorf("via subl/..: %v, %q", err, content(t, target))
	}
}

// TestModes: a new file gets 0666 less the umask; an existing one keeps its
// mode.
func TestModes(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	p := filepath.Join(dir, "new")
	if err := Write(p, text("x")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v under umask 077, want 0600", fi.Mode().Perm())
	}
	syscall.Umask(0o022)
	q := filepath.Join(dir, "kept")
	if err := os.WriteFile(q, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(q, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(q, text("y")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(q); fi.Mode().Perm() != 0o640 || content(t, q) != "y" {
		t.Errorf("existing file mode %v, want 0640 kept", fi.Mode().Perm())
	}
	// A failed write leaves the old content and no temporary file.
	if err := Write(q, func(io.Writer) error { return io.ErrUnexpectedEOF }); err == nil {
		t.Error("failed write: no error")
	}
	if content(t, q) != "y" {
		t.Error("a failed write changed the file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestSpecialFiles: character devices and FIFOs are written in place, block
// devices refused, and gvcheck's own descriptors written directly.
func TestSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("cannot create a device node here (needs CAP_MKNOD): %v", err)
	}
	if err := Write(null, text("x")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(null); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the device was replaced: %v", err)
	}
	blk := filepath.Join(dir, "blk")
	if err := unix.Mknod(blk, unix.S_IFBLK|0o666, int(unix.Mkdev(7, 0))); err != nil {
		t.Fatal(err)
	}
	if err := Write(blk, text("x")); err == nil || !strings.Contains(err.Error(), "block device") {
		t.Errorf("block device: %v", err)
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
	if err := Write(fifo, text("via fifo\n")); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, []byte("via fifo\n")) {
		t.Errorf("fifo read %q", b)
	}
	// /dev/fd/N and /proc/self/fd/N write to the descriptor, appending where
	// it is (a shell redirection's file), not over its start.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	for _, p := range []string{"/dev/fd/", "/proc/self/fd/"} {
		if err := Write(p+strconv.Itoa(int(w.Fd())), text(p+"\n")); err != nil {
			t.Error(err)
		}
	}
	w.Close()
	if b := <-done; string(b) != "/dev/fd/\n/proc/self/fd/\n" {
		t.Errorf("descriptor writes: %q", b)
	}
	f, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("before\n")
	if err := Write("/dev/fd/"+strconv.Itoa(int(f.Fd())), text("after\n")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := content(t, filepath.Join(dir, "log")); got != "before\nafter\n" {
		t.Errorf("redirected file holds %q", got)
	}
	// Errors: a directory, a missing directory, a link loop.
	loop := filepath.Join(dir, "loop")
	_ = os.Symlink("loop", loop)
	for _, p := range []string{dir, dir + "/", filepath.Join(dir, "missing", "x"), loop, filepath.Join(null, "x")} {
		if err := Write(p, text("x")); err == nil {
			t.Errorf("%s: no error", p)
		}
	}
}
