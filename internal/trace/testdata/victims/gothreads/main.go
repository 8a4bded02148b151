// A multi-threaded Go program: goroutines locked to their own threads
// compute and exchange results, then the program exits with status 7.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	results := make([]uint64, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			var s uint64
			for j := 0; j < 200000*(i+1); j++ {
				s += uint64(j ^ i)
			}
			f, err := os.Open("/proc/self/stat")
			if err == nil {
				f.Close()
			}
			results[i] = s
		}()
	}
	wg.Wait()
	for i, r := range results {
		fmt.Printf("%d %d\n", i, r)
	}
	os.Exit(7)
}
