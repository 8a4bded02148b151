package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gvcheck/gvcheck/internal/image"
	"github.com/gvcheck/gvcheck/internal/image/imagetest"
)

// cmdMkimage builds a test image (package imagetest) as an OCI layout and a
// docker archive under $WORK/images/NAME, imports it into the Docker
// Engine when one answers, and sets $NAME_OCI, $NAME_ARCHIVE and
// $NAME_DOCKER to the three references:
// mkimage busybox
func cmdMkimage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mkimage NAME")
	}
	name := args[0]
	dir := ts.MkAbs(filepath.Join("images", name))
	load := dockerEngine()
	w, err := imagetest.Write(context.Background(), name, dir, strconv.Itoa(os.Getpid()), load)
	if err != nil {
		ts.Fatalf("mkimage: %v", err)
	}
	ts.Setenv(name+"_OCI", "oci:"+w.Layout+":"+name)
	ts.Setenv(name+"_ARCHIVE", "archive:"+w.Archive)
	if w.Docker != "" {
		ts.Setenv(name+"_DOCKER", "docker:"+w.Docker)
		ts.Defer(func() { _ = removeImage(w.Docker) })
	}
}

// cmdTreehash prints a hash of a directory tree (content, modes, owners,
// times, extended attributes): treehash DIR
func cmdTreehash(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: treehash DIR")
	}
	h, err := imagetest.TreeHash(ts.MkAbs(args[0]))
	if err != nil {
		ts.Fatalf("treehash: %v", err)
	}
	ts.Stdout().Write([]byte(h + "\n"))
}

// dockerEngine reports whether a Docker Engine answers on its socket.
func dockerEngine() bool {
	sock, err := image.DockerSocket()
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func removeImage(name string) error {
	eng, err := image.NewEngine("")
	if err != nil {
		return err
	}
	return eng.Remove(context.Background(), name)
}
