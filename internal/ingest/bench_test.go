package ingest

import (
	"bytes"
	"testing"

	"github.com/gvcheck/gvcheck/internal/ingest/stracegen"
	"github.com/gvcheck/gvcheck/internal/sysno"
)

// BenchmarkStraceLog measures parsing throughput on a generated strace -f
// log held in memory; bench/ingest/run.sh does the same on a file of over
// 1 GB against the sed | sort | uniq pipeline.
func BenchmarkStraceLog(b *testing.B) {
	var buf bytes.Buffer
	if _, err := stracegen.Write(&buf, 64<<20, 1); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := Read(bytes.NewReader(data), "bench.log", Options{Format: FormatStrace, Arch: sysno.AMD64})
		if err != nil {
			b.Fatal(err)
		}
		if p.Syscalls["openat"] == nil {
			b.Fatal("openat missing")
		}
	}
}
