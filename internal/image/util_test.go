package image_test

import (
	"bytes"
	"io"
)

type ioReadCloser = io.ReadCloser

func nopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
