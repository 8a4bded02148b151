package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// chunkSize is how much of a log one parsing goroutine takes at a time;
// tests lower it to exercise chunk boundaries.
var chunkSize = 1 << 20

// lines calls fn for each line of data (the last one may lack its newline).
func lines(data []byte, fn func(line []byte) bool) {
	for len(data) > 0 {
		k := bytes.IndexByte(data, '\n')
		if k < 0 {
			fn(data)
			return
		}
		if !fn(data[:k]) {
			return
		}
		data = data[k+1:]
	}
}

func (s *straceParser) parseSequential(r io.Reader, name string, filePid int) error {
	if s.lx == nil {
		s.lx = newLexer(s.arch)
	}
	var rc rec
	lineNo := 0
	var err error
	size := chunkSize
	if s.smallIn {
		size = min(size, headSize)
	}
	readErr := readChunks(r, size, func(data []byte) bool {
		lines(data, func(line []byte) bool {
			lineNo++
			s.lx.lex(line, &rc)
			if err = s.apply(&rc, filePid); err != nil {
				err = fmt.Errorf("%s:%d: %w", name, lineNo, err)
				return false
			}
			return true
		})
		return err == nil
	})
	if err != nil {
		return err
	}
	if readErr != nil {
		return fmt.Errorf("%s: %w", name, readErr)
	}
	return nil
}

// readChunks reads r into buffers of whole lines and calls fn with each;
// fn must be done with the data when it returns. A line longer than the
// buffer grows it, up to maxLine.
func readChunks(r io.Reader, size int, fn func(data []byte) bool) error {
	buf := make([]byte, size)
	end := 0
	for {
		n, err := r.Read(buf[end:])
		end += n
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			return err
		}
		if eof {
			if end > 0 {
				fn(buf[:end])
			}
			return nil
		}
		last := bytes.LastIndexByte(buf[:end], '\n')
		if last < 0 {
			if end == len(buf) {
				if len(buf) >= maxLine {
					return fmt.Errorf("a line is longer than %d MiB", maxLine>>20)
				}
				buf = append(buf, make([]byte, len(buf))...)
			}
			continue
		}
		if end < len(buf)/2 && n > 0 {
			continue // fill the buffer before handing it on
		}
		if !fn(buf[:last+1]) {
			return nil
		}
		end = copy(buf, buf[last+1:end])
	}
}

type job struct {
	buf  []byte
	data []byte
	recs []rec
	done chan struct{}
}

// parseParallel lexes chunks of the log on several goroutines and applies
// the records in order on this one. Memory stays bounded: a fixed number of
// chunk buffers circulate between reader, lexers and applier.
func (s *straceParser) parseParallel(r io.Reader, name string, filePid int, workers int) error {
	nbuf := 2*workers + 2
	free := make(chan *job, nbuf)
	for len(s.jobs) < nbuf {
		s.jobs = append(s.jobs, &job{buf: make([]byte, chunkSize), recs: make([]rec, 0, chunkSize/64)})
	}
	for _, j := range s.jobs[:nbuf] {
		free <- j
	}
	work := make(chan *job, nbuf)
	order := make(chan *job, nbuf)
	var stop atomic.Bool
	var readErr error
	go func() {
		defer close(order)
		defer close(work)
		var carry []byte
		for j := range free {
			if stop.Load() {
				return
			}
			end := copy(j.buf, carry)
			if end < len(carry) { // a line longer than a chunk
				j.buf = append(j.buf[:0], carry...)
				end = len(carry)
			}
			eof := false
			for {
				if end == len(j.buf) {
					if bytes.IndexByte(j.buf, '\n') >= 0 {
						break
					}
					if len(j.buf) >= maxLine {
						readErr = fmt.Errorf("a line is longer than %d MiB", maxLine>>20)
						return
					}
					j.buf = append(j.buf, make([]byte, len(j.buf))...)
				}
				n, err := r.Read(j.buf[end:])
				end += n
				if errors.Is(err, io.EOF) {
					eof = true
					break
				}
				if err != nil {
					readErr = err
					return
				}
			}
			cut := end
			if !eof {
				cut = bytes.LastIndexByte(j.buf[:end], '\n') + 1
			}
			carry = append(carry[:0], j.buf[cut:end]...)
			j.data = j.buf[:cut]
			j.done = make(chan struct{})
			work <- j
			order <- j
			if eof {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lx := newLexer(s.arch)
			for j := range work {
				j.recs = j.recs[:0]
				lines(j.data, func(line []byte) bool {
					j.recs = append(j.recs, rec{})
					lx.lex(line, &j.recs[len(j.recs)-1])
					return true
				})
				close(j.done)
			}
		}()
	}
	lineNo := 0
	var err error
	for j := range order {
		<-j.done
		if err == nil {
			for i := range j.recs {
				if e := s.apply(&j.recs[i], filePid); e != nil {
					err = fmt.Errorf("%s:%d: %w", name, lineNo+i+1, e)
					stop.Store(true)
					break
				}
			}
			lineNo += len(j.recs)
		}
		j.data = nil
		free <- j
	}
	wg.Wait()
	if err != nil {
		return err
	}
	if readErr != nil {
		return fmt.Errorf("%s: %w", name, readErr)
	}
	return nil
}
