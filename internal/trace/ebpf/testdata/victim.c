// A deterministic program for the backend-equality test: the same syscalls,
// key arguments, paths and results on every run, whichever tracer watches.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

static void *thread(void *arg)
{
	syscall(SYS_getpid);
	return arg;
}

static void *blocked(void *arg)
{
	char c;
	read(*(int *)arg, &c, 1);
	return NULL;
}

// drain reads a netlink socket's answers until the end of a dump or an
// acknowledgement, so that every run reads the same way.
static void drain(int s)
{
	char buf[16384];
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		if (n <= 0)
			return;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				return;
	}
}

// netlink sends route requests with sendto (no address, as send does)
// and sendmsg, and ordinary sends that carry no netlink message.
static void netlink(void)
{
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req = {.h = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP}, .g = {.rtgen_family = AF_UNSPEC}};
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	send(s, &req, sizeof(req), 0);
	drain(s);
	req.h.nlmsg_type = RTM_GETRULE;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	struct iovec iov = {.iov_base = &req, .iov_len = sizeof(req)};
	struct msghdr mh = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1};
	sendmsg(s, &mh, 0);
	drain(s);
	req.h.nlmsg_type = RTM_GETADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	sendto(s, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa));
	drain(s);
	close(s);
	int p[2];
	socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, p);
	send(p[0], &req, sizeof(req), 0); // the same bytes, not to a netlink socket
	sendmsg(p[0], &mh, 0);           // EISCONN: an address on a connected socket
	close(p[0]);
	close(p[1]);
}

static void sockets(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, v;
	socklen_t len = sizeof(v);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len);
	close(s);
	s = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
	close(s);
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	close(s);
	netlink();
	s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (s >= 0)
		close(s);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	close(sv[0]);
	close(sv[1]);
}

static void options(void)
{
	prctl(PR_SET_NAME, "victim");
	prctl(PR_GET_DUMPABLE);
	prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0, 0, 0); // EINVAL/EPERM
	struct termios t;
	ioctl(0, TCGETS, &t); // ENOTTY on a pipe or /dev/null
	int fd = open("/dev/null", O_RDONLY);
	int n = 0;
	ioctl(fd, FIONREAD, &n);
	fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	close(fd);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	setrlimit(RLIMIT_NOFILE, &rl);
	prlimit(0, RLIMIT_CORE, NULL, &rl); // a query: no key
	prlimit(0, RLIMIT_CORE, &rl, NULL);
	personality(0xffffffff);
	personality(PER_LINUX);
	fd = open(".", O_TMPFILE | O_RDWR, 0600); // mkstemp's getrandom calls vary
	fallocate(fd, 0, 0, 4096);
	fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 4096);
	close(fd);
	void *p = mmap(NULL, 1 << 21, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(p, 1 << 21, MADV_DONTNEED);
	munmap(p, 1 << 21);
	p = mmap(NULL, 1 << 21, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p != MAP_FAILED)
		munmap(p, 1 << 21);
	unshare(CLONE_NEWUTS);
	syscall(SYS_membarrier, 0, 0, 0);
	// Keys in memory: an extended attribute's namespace.
	fd = open("xattrs", O_CREAT | O_RDWR, 0600);
	fsetxattr(fd, "user.victim", "v", 1, 0);
	setxattr("xattrs", "security.victim", "v", 1, 0);
	lsetxattr("xattrs", "trusted.a-name-longer-than-what-the-kernel-keeps", "v", 1, 0);
	removexattr("xattrs", "security.victim");
	fremovexattr(fd, "no-namespace"); // EOPNOTSUPP: no key
	setxattr("xattrs", NULL, "v", 1, 0); // EFAULT: no key
	close(fd);
	unlink("xattrs");
	syscall(999); // ENOSYS
}

static void paths(void)
{
	struct stat st;
	char buf[256];
	int fd = open("/proc/self/status", O_RDONLY);
	close(fd);
	stat("/dev/null", &st);
	access("/proc/no-such-file", R_OK);
	access("/etc/hostname", R_OK); // not synthesized: no path
	readlink("/proc/self/exe", buf, sizeof(buf));
	syscall(SYS_statx, AT_FDCWD, "/dev/zero", 0, 0x7ff, buf);
	fd = open("/proc/sys", O_RDONLY | O_DIRECTORY);
	int f2 = openat(fd, "kernel/hostname", O_RDONLY);
	close(f2);
	faccessat(fd, "vm/../kernel", R_OK, 0);
	close(fd);
	fd = open("/", O_RDONLY | O_DIRECTORY);
	faccessat(fd, "proc/../dev/null", R_OK, 0);
	faccessat(fd, "usr/../sys/kernel", R_OK, 0);
	faccessat(fd, "./proc/./sys", R_OK, 0);
	close(fd);
	chdir("/proc");
	fd = open("sys/kernel/ostype", O_RDONLY);
	close(fd);
	access("../sys/devices", R_OK);
	chdir("/");
	access("dev/../dev/./urandom", F_OK);
	chdir("sys"); // relative: resolved against the directory before the call
	chdir("nonexistent");
	chdir("/tmp");
	open("/nonexistent/dir/file", O_RDONLY);
}

static void processes(char *self)
{
	pthread_t th;
	pthread_create(&th, NULL, thread, NULL);
	usleep(20000); // joined after it ended: no futex wait, whatever the timing
	pthread_join(th, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		syscall(SYS_getppid);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	char *argv[] = {self, "child", NULL};
	posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);
	waitpid(pid, NULL, 0);
	struct clone_args {
		unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} ca = {.flags = CLONE_NEWUTS, .exit_signal = SIGCHLD};
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	pid = syscall(SYS_clone, CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	char *argv2[] = {"nope", NULL};
	execve("/nonexistent/prog", argv2, environ); // ENOENT
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		int fd = open("/proc/self/stat", O_RDONLY);
		close(fd);
		// fexecve: execveat(fd, "", AT_EMPTY_PATH) names no path.
		fd = open("/proc/self/exe", O_RDONLY);
		char *args[] = {argv[0], "grandchild", NULL};
		fexecve(fd, args, environ);
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "grandchild") == 0) {
		// Exit while another thread is blocked in a call, which never
		// returns.
		int p[2];
		pipe(p);
		pthread_t th;
		pthread_create(&th, NULL, blocked, &p[0]);
		usleep(50000);
		exit(0);
	}
	options();
	sockets();
	paths();
	processes(argv[0]);
	return 0;
}
