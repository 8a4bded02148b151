// Victim programs for the tracer's tests; the first argument picks one.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct clone_args_v0 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static void *exec_thread(void *arg) {
	(void)arg;
	char *argv[] = {"echo", "exec from a thread", NULL};
	execv("/bin/echo", argv);
	perror("execv");
	exit(99);
}

static void *delayed_exec_thread(void *arg) {
	(void)arg;
	usleep(100000);
	char *argv[] = {"echo", "exec after the leader exited", NULL};
	execv("/bin/echo", argv);
	perror("execv");
	exit(99);
}

static void *spin_thread(void *arg) {
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig) {
	(void)sig;
	got_signal++;
}

int main(int argc, char **argv) {
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "gvisor")) {
		// Syscalls gVisor lacks; print only the errno names that are the
		// same traced and native.
		long r1 = syscall(__NR_io_uring_setup, 0, NULL);
		int e1 = errno;
		long r2 = syscall(__NR_kexec_load, 0, 0, NULL, 0);
		long r3 = syscall(999);
		int e3 = errno;
		printf("io_uring_setup=%ld/%d kexec_load=%ld syscall999=%ld/%d\n", r1, e1, r2, r3, e3);
		return 0;
	}
	if (!strcmp(mode, "small")) {
		// A deterministic program for comparing syscall sets with strace.
		int fd = open("/proc/self/status", O_RDONLY);
		char buf[64];
		if (fd >= 0) {
			read(fd, buf, sizeof buf);
			close(fd);
		}
		struct stat st;
		stat("/dev/null", &st);
		// Relative paths: against a directory descriptor and the cwd.
		int sys = open("/sys", O_RDONLY | O_DIRECTORY);
		if (sys >= 0) {
			fstatat(sys, "kernel", &st, 0);
			close(sys);
		}
		if (chdir("/proc") == 0)
			access("self/stat", R_OK);
		access("/nonexistent", F_OK);
		prctl(PR_SET_NAME, "victim", 0, 0, 0);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s >= 0)
			close(s);
		int p[2];
		pipe(p);
		pid_t pid = fork();
		if (pid == 0) {
			write(p[1], "x", 1);
			_exit(3);
		}
		read(p[0], buf, 1);
		int status;
		waitpid(pid, &status, 0);
		printf("child status %d\n", WEXITSTATUS(status));
		return 0;
	}
	if (!strcmp(mode, "threadexec")) {
		pthread_t t1, t2;
		pthread_create(&t1, NULL, spin_thread, NULL);
		pthread_create(&t2, NULL, exec_thread, NULL);
		pthread_join(t2, NULL);
		return 98;
	}
	if (!strcmp(mode, "leaderexit")) {
		// The main thread exits first; another thread then execs, taking
		// over the zombie leader's thread id.
		pthread_t t;
		pthread_create(&t, NULL, delayed_exec_thread, NULL);
		pthread_exit(NULL);
	}
	if (!strcmp(mode, "vfork")) {
		pid_t pid = vfork();
		if (pid == 0) {
			execl("/bin/echo", "echo", "vforked", NULL);
			_exit(97);
		}
		int status;
		waitpid(pid, &status, 0);
		printf("vfork child status %d\n", WEXITSTATUS(status));
		return 0;
	}
	if (!strcmp(mode, "clone3")) {
		struct clone_args_v0 ca;
		memset(&ca, 0, sizeof ca);
		ca.exit_signal = SIGCHLD;
		long pid = syscall(__NR_clone3, &ca, sizeof ca);
		if (pid == 0)
			_exit(5);
		if (pid < 0) {
			// No clone3 here: fall back like glibc.
			pid = fork();
			if (pid == 0)
				_exit(5);
		}
		int status;
		waitpid(pid, &status, 0);
		printf("clone3 child status %d\n", WEXITSTATUS(status));
		return 0;
	}
	if (!strcmp(mode, "execveat")) {
		char *av[] = {"echo", "via execveat", NULL};
		extern char **environ;
		syscall(__NR_execveat, AT_FDCWD, "/bin/echo", av, environ, 0);
		perror("execveat");
		return 96;
	}
	if (!strcmp(mode, "raise")) {
		printf("raising SIGUSR1\n");
		fflush(stdout);
		raise(SIGUSR1);
		return 95;
	}
	if (!strcmp(mode, "handler")) {
		// A handled signal, sent by a child, interrupts a blocking read.
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigaction(SIGUSR2, &sa, NULL);
		int p[2];
		pipe(p);
		pid_t pid = fork();
		if (pid == 0) {
			usleep(100000);
			kill(getppid(), SIGUSR2);
			usleep(100000);
			write(p[1], "y", 1);
			_exit(0);
		}
		char c = 0;
		ssize_t n = read(p[0], &c, 1);
		int eintr = n < 0 && errno == EINTR;
		if (eintr)
			n = read(p[0], &c, 1);
		waitpid(pid, NULL, 0);
		printf("eintr=%d read=%zd %c signals=%d\n", eintr, n, c, (int)got_signal);
		return 0;
	}
	if (!strcmp(mode, "netlink")) {
		// Plain sends, a NETLINK_ROUTE socket, then a dump request sent as
		// send() does (no address) and answered, and more plain sends.
		int p[2];
		socketpair(AF_UNIX, SOCK_DGRAM, 0, p);
		char b[32] = {0};
		for (int i = 0; i < 100; i++) {
			send(p[0], b, sizeof b, 0);
			recv(p[1], b, sizeof b, 0);
		}
		struct {
			struct nlmsghdr h;
			struct rtgenmsg g;
		} req = {.h = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETRULE, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP}};
		int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		send(s, &req, sizeof req, 0);
		static char buf[1 << 16];
		recv(s, buf, sizeof buf, 0);
		close(s);
		for (int i = 0; i < 100; i++) {
			send(p[0], b, sizeof b, 0);
			recv(p[1], b, sizeof b, 0);
		}
		puts("sent");
		return 0;
	}
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
