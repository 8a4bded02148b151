// Package stracegen writes synthetic but realistic strace -f logs for
// benchmarks: a process tree making a typical mix of calls, with failures,
// unfinished/resumed pairs, signals and exits, in the format strace 6 writes
// with -f -o.
package stracegen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
)

var lines = []string{
	`openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3`,
	`openat(AT_FDCWD, "/usr/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY|O_CLOEXEC) = 3`,
	`read(3, "\177ELF\2\1\1\3\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0\220\243\2\0\0\0\0\0"..., 832) = 832`,
	`newfstatat(3, "", {st_mode=S_IFREG|0755, st_size=1926232, ...}, AT_EMPTY_PATH) = 0`,
	`mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f3e5c1d6000`,
	`mmap(NULL, 1974096, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0) = 0x7f3e5bff4000`,
	`mprotect(0x7f3e5c1c3000, 16384, PROT_READ) = 0`,
	`close(3)                                = 0`,
	`access("/etc/ld.so.preload", R_OK)      = -1 ENOENT (No such file or directory)`,
	`openat(AT_FDCWD, "/proc/self/status", O_RDONLY) = 3`,
	`read(3, "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t15901\nNgid:\t0\nPid:\t15901\nPPid:\t15899\n"..., 131072) = 1432`,
	`write(1, "hello world\n", 12)           = 12`,
	`brk(NULL)                               = 0x55d0f7a6c000`,
	`futex(0x7f3e5c1d8a70, FUTEX_WAKE_PRIVATE, 2147483647) = 0`,
	`epoll_wait(4, [{events=EPOLLIN, data={u32=7, u64=7}}], 1024, 500) = 1`,
	`recvfrom(7, "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.5.0\r\n"..., 65536, 0, NULL, NULL) = 78`,
	`sendto(7, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 43, MSG_NOSIGNAL, NULL, 0) = 43`,
	`recvfrom(7, 0x7f3e4c000b70, 65536, 0, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)`,
	`getpid()                                = 15901`,
	`clock_gettime(CLOCK_MONOTONIC, {tv_sec=5123, tv_nsec=123456789}) = 0`,
	`rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0`,
	`rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[PIPE], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f3e5c02c520}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0`,
	`ioctl(1, TCGETS, 0x7ffd4f8e3a40)        = -1 ENOTTY (Inappropriate ioctl for device)`,
	`set_robust_list(0x7f3e5bfd3a20, 24)     = 0`,
	`prctl(PR_SET_NAME, "worker")            = 0`,
	`socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 5`,
	`setsockopt(5, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0`,
	`lseek(3, 0, SEEK_CUR)                   = -1 ESPIPE (Illegal seek)`,
	`getdents64(3, 0x55d0f7a72a90 /* 24 entries */, 32768) = 744`,
	`statx(AT_FDCWD, "/sys/fs/cgroup/cpu.max", AT_STATX_SYNC_AS_STAT, STATX_ALL, 0x7ffd4f8e39a0) = -1 ENOENT (No such file or directory)`,
}

// Write writes about size bytes of log to w and returns the bytes written.
func Write(w io.Writer, size int64, seed uint64) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var n int64
	pids := []int{15899, 15900, 15901, 15902, 15903, 15904, 15905, 15906}
	put := func(s string) error {
		k, err := bw.WriteString(s)
		n += int64(k)
		return err
	}
	first := fmt.Sprintf("%d  execve(\"/usr/bin/server\", [\"server\", \"--port\", \"8080\"], 0x7ffd4f8e3b28 /* 24 vars */) = 0\n", pids[0])
	if err := put(first); err != nil {
		return n, err
	}
	for n < size {
		pid := pids[r.IntN(len(pids))]
		switch k := r.IntN(100); {
		case k < 3: // an interrupted call and its resumption
			other := pids[r.IntN(len(pids))]
			if other == pid {
				other = pids[(r.IntN(len(pids)-1)+1+indexOf(pids, pid))%len(pids)]
			}
			s := fmt.Sprintf("%-5d futex(0x55d0f7a6d2c8, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, NULL, FUTEX_BITSET_MATCH_ANY <unfinished ...>\n"+
				"%-5d %s\n"+
				"%-5d <... futex resumed>)       = 0\n", pid, other, lines[r.IntN(len(lines))], pid)
			if err := put(s); err != nil {
				return n, err
			}
		case k < 4:
			if err := put(fmt.Sprintf("%-5d --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=%d, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---\n", pid, pid+9)); err != nil {
				return n, err
			}
		default:
			if err := put(fmt.Sprintf("%-5d %s\n", pid, lines[r.IntN(len(lines))])); err != nil {
				return n, err
			}
		}
	}
	for i := len(pids) - 1; i >= 0; i-- {
		if err := put(fmt.Sprintf("%-5d exit_group(0)                           = ?\n%-5d +++ exited with 0 +++\n", pids[i], pids[i])); err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return 0
}
