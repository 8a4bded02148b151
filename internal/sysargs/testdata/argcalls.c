// argcalls makes argument-sensitive syscalls, one per check. Before each
// call it prints "CHECK <id> <syscall> <key values...>" (the values it is
// about to pass, in the key's order) and after it "RESULT <id> <ret>
// <errno name|OK>", each with a single write(2), so a trace of the program
// pairs every check with its syscall and its outcome.
// Usage: argcalls [check-name...] (all checks when none are given).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/futex.h>
#include <linux/if_ether.h>
#include <linux/membarrier.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/sched.h>
#include <termios.h>
#include <unistd.h>
#include <arpa/inet.h>

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x3
#endif

static int id;

static void result(long ret) {
	int e = errno;
	const char *name = ret < 0 ? strerrorname_np(e) : "OK";
	dprintf(1, "RESULT %d %ld %s\n", id, ret, name ? name : "E?");
}

#define CHECK(sys, fmt, ...) (id++, dprintf(1, "CHECK %d " sys " " fmt "\n", id, __VA_ARGS__))

// nlrequest sends a NETLINK_ROUTE request and reads the answer: -1 with
// errno set when the answer is an error, 0 otherwise. The send succeeds
// either way: the kernel (or gVisor) answers in a message.
static long nlrequest(int s, int type, int flags) {
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req = {.h = {.nlmsg_len = sizeof(req), .nlmsg_type = type, .nlmsg_flags = flags}, .g = {.rtgen_family = AF_UNSPEC}};
	if (sendto(s, &req, sizeof(req), 0, NULL, 0) < 0)
		return -1;
	static char buf[1 << 16];
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		if (n <= 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				if (err == 0)
					return 0;
				errno = -err;
				return -1;
			}
			if (!(h->nlmsg_flags & NLM_F_MULTI))
				return 0; // a single answer
		}
	}
}

static int want(int argc, char **argv, const char *name) {
	if (argc < 2) return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0) return 1;
	return 0;
}

int main(int argc, char **argv) {
	long r;
	if (want(argc, argv, "netlink")) {
		// The key is the protocol (NETLINK_ROUTE, 0), the message type and
		// whether a GET asks for a dump; the result is the answer's error.
		// First, before a check may unshare the network namespace: strace
		// finds a socket's protocol in its own.
		int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		// Bound, as programs do: strace only finds the protocol of a bound
		// socket, and prints the message types of others as numbers.
		struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
		bind(s, (struct sockaddr *)&sa, sizeof(sa));
		// A descriptor number no earlier check used: strace remembers
		// what a number was.
		int hi = fcntl(s, F_DUPFD_CLOEXEC, 100);
		close(s);
		s = hi;
		int dump = NLM_F_REQUEST | NLM_F_DUMP;
		CHECK("sendto", "%d %d %d", 0, RTM_GETLINK, 1);
		result(nlrequest(s, RTM_GETLINK, dump));
		CHECK("sendto", "%d %d %d", 0, RTM_GETADDR, 1);
		result(nlrequest(s, RTM_GETADDR, dump));
		CHECK("sendto", "%d %d %d", 0, RTM_GETROUTE, 1);
		result(nlrequest(s, RTM_GETROUTE, dump));
		CHECK("sendto", "%d %d %d", 0, RTM_GETRULE, 1);
		result(nlrequest(s, RTM_GETRULE, dump));
		CHECK("sendto", "%d %d %d", 0, RTM_GETNEIGH, 1);
		result(nlrequest(s, RTM_GETNEIGH, dump));
		CHECK("sendto", "%d %d %d", 0, RTM_GETQDISC, 1);
		result(nlrequest(s, RTM_GETQDISC, dump));
		close(s);
	}
	if (want(argc, argv, "prctl")) {
		CHECK("prctl", "%d", PR_SET_NAME);
		result(syscall(SYS_prctl, PR_SET_NAME, "argcalls", 0, 0, 0));
		CHECK("prctl", "%d %d", PR_SET_MM, PR_SET_MM_START_CODE);
		result(syscall(SYS_prctl, PR_SET_MM, PR_SET_MM_START_CODE, 0, 0, 0));
		CHECK("prctl", "%d", PR_SET_TIMERSLACK);
		result(syscall(SYS_prctl, PR_SET_TIMERSLACK, 50000, 0, 0, 0));
	}
	if (want(argc, argv, "socket")) {
		CHECK("socket", "%d %d %d", AF_INET, SOCK_STREAM, IPPROTO_TCP);
		r = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
		result(r);
		if (r >= 0) close(r);
		CHECK("socket", "%d %d %d", AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
		r = syscall(SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
		result(r);
		if (r >= 0) close(r);
		CHECK("socket", "%d %d %d", AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
		r = syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
		result(r);
		if (r >= 0) close(r);
		CHECK("socket", "%d %d %d", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
		r = syscall(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
		result(r);
		if (r >= 0) close(r);
		CHECK("socket", "%d %d %d", AF_ALG, SOCK_SEQPACKET, 0);
		r = syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
		result(r);
		if (r >= 0) close(r);
	}
	if (want(argc, argv, "sockopt")) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		int one = 1, bad = -1;
		CHECK("setsockopt", "%d %d", SOL_SOCKET, SO_REUSEADDR);
		result(syscall(SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
		CHECK("setsockopt", "%d %d", SOL_SOCKET, SO_ATTACH_BPF);
		result(syscall(SYS_setsockopt, s, SOL_SOCKET, SO_ATTACH_BPF, &bad, sizeof bad));
		close(s);
	}
	if (want(argc, argv, "ioctl")) {
		int m = posix_openpt(O_RDWR | O_NOCTTY);
		struct termios t;
		char c = 'x';
		CHECK("ioctl", "%d", TCGETS);
		result(syscall(SYS_ioctl, m, TCGETS, &t));
		CHECK("ioctl", "%d", TIOCSTI);
		result(syscall(SYS_ioctl, m, TIOCSTI, &c));
		close(m);
	}
	if (want(argc, argv, "futex")) {
		static uint32_t word, other;
		CHECK("futex", "%d", FUTEX_LOCK_PI);
		result(syscall(SYS_futex, &word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
		CHECK("futex", "%d", FUTEX_UNLOCK_PI);
		result(syscall(SYS_futex, &word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
		CHECK("futex", "%d", FUTEX_WAIT_REQUEUE_PI);
		// word != 1: Linux fails with EAGAIN before waiting.
		result(syscall(SYS_futex, &word, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 1, NULL, &other, 0));
	}
	if (want(argc, argv, "fallocate")) {
		char path[] = "/tmp/argcallsXXXXXX";
		int fd = mkstemp(path);
		unlink(path);
		CHECK("fallocate", "%d", 0);
		result(syscall(SYS_fallocate, fd, 0, 0, 8192));
		CHECK("fallocate", "%d", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
		result(syscall(SYS_fallocate, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
		close(fd);
	}
	if (want(argc, argv, "unshare")) {
		CHECK("unshare", "%d", CLONE_NEWNET);
		result(syscall(SYS_unshare, CLONE_NEWNET));
		CHECK("unshare", "%d", CLONE_NEWCGROUP);
		result(syscall(SYS_unshare, CLONE_NEWCGROUP));
	}
	if (want(argc, argv, "xattr")) {
		// The key is the attribute's namespace, numbered as package
		// sysargs numbers them: 1 user, 2 trusted, 3 security, 4 system,
		// 5 security.capability.
		char path[] = "/tmp/argcalls-XXXXXX";
		int fd = mkstemp(path);
		CHECK("setxattr", "%d", 1);
		result(setxattr(path, "user.argcalls", "v", 1, 0));
		CHECK("setxattr", "%d", 3);
		result(setxattr(path, "security.argcalls", "v", 1, 0));
		CHECK("removexattr", "%d", 3);
		result(removexattr(path, "security.argcalls"));
		// A version 2 capability set: CAP_NET_BIND_SERVICE, permitted.
		unsigned int caps[5] = {0x02000000, 1u << 10, 0, 0, 0};
		CHECK("fsetxattr", "%d", 5);
		result(fsetxattr(fd, "security.capability", caps, sizeof caps, 0));
		close(fd);
		unlink(path);
	}
	if (want(argc, argv, "clone3")) {
		struct clone_args ca;
		memset(&ca, 0, sizeof ca);
		ca.flags = CLONE_NEWTIME;
		ca.exit_signal = SIGCHLD;
		CHECK("clone3", "%d", CLONE_NEWTIME);
		r = syscall(SYS_clone3, &ca, sizeof ca);
		if (r == 0) _exit(0);
		result(r);
		if (r > 0) waitpid(r, NULL, 0);
	}
	if (want(argc, argv, "paths")) {
		const char *paths[] = {"/proc/self/maps", "/proc/kcore", "/proc/sys/kernel/core_pattern",
			"/proc/sys/kernel/hostname", "/dev/null", "/dev/kmsg", "/proc/self/net/tcp", "/proc/cpuinfo",
			"/sys/kernel/mm/transparent_hugepage/enabled", "/sys/devices/system/cpu/online", "/sys/class/net",
			"/sys/fs/cgroup", "/proc/self/ns/net", "/proc/self/attr/current", "/proc/sys/net/ipv4/tcp_sack",
			"/dev/mqueue", "/dev/mem", "/sys/class/power_supply", "/sys/devices/system/cpu/cpu0/topology/core_cpus",
			"/dev/fuse", "/dev/net/tun", "/proc/self/fd/1", "/proc/self/task"};
		for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++) {
			id++;
			dprintf(1, "CHECK %d open %s\n", id, paths[i]);
			r = open(paths[i], O_RDONLY | O_CLOEXEC);
			result(r);
			if (r >= 0) close(r);
		}
	}
	if (want(argc, argv, "madvise")) {
		void *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK("madvise", "%d", MADV_DONTNEED);
		result(syscall(SYS_madvise, p, 4096, MADV_DONTNEED));
		// MADV_REMOVE, not MADV_HWPOISON: as root the latter really poisons.
		CHECK("madvise", "%d", MADV_REMOVE);
		result(syscall(SYS_madvise, p, 4096, MADV_REMOVE));
		munmap(p, 8192);
	}
	if (want(argc, argv, "mmap")) {
		CHECK("mmap", "%d", MAP_SHARED_VALIDATE);
		r = syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0);
		result(r);
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK("mremap", "%d", MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
		r = syscall(SYS_mremap, p, 4096, 4096, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
		result(r);
	}
	if (want(argc, argv, "rseq")) {
		static struct { uint32_t w[8]; } __attribute__((aligned(32))) area;
		id++;
		dprintf(1, "CHECK %d rseq\n", id);
		// glibc may have registered already (EBUSY natively); gVisor on a
		// platform without preemption detection answers ENOSYS.
		result(syscall(SYS_rseq, &area, 32, 0, 0x53053053));
	}
	if (want(argc, argv, "personality")) {
		CHECK("personality", "%d", ADDR_NO_RANDOMIZE);
		r = syscall(SYS_personality, ADDR_NO_RANDOMIZE);
		result(r < 0 ? r : 0);
		syscall(SYS_personality, 0);
	}
	if (want(argc, argv, "misc")) {
		CHECK("membarrier", "%d", MEMBARRIER_CMD_QUERY);
		result(syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0));
		CHECK("fcntl", "%d", F_GETFL);
		result(syscall(SYS_fcntl, 1, F_GETFL));
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		CHECK("setrlimit", "%d", RLIMIT_NOFILE);
		result(syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl));
		int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
		CHECK("shmctl", "%d", SHM_LOCK);
		result(syscall(SYS_shmctl, shm, SHM_LOCK, NULL));
		shmctl(shm, IPC_RMID, NULL);
	}
	return 0;
}
