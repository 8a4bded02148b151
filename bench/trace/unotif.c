// unotif measures the cost of observing every syscall of a program with a
// seccomp user-notification listener instead of ptrace, with and without
// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6), which makes the target
// and the supervisor hand the CPU to each other on the same CPU. It is an
// experiment for a faster full mode, not part of gvcheck.
//   cc -O2 -o /tmp/unotif bench/trace/unotif.c && /tmp/unotif && /tmp/unotif sync
// compare: bench/trace/tracerun -full -- dd if=/dev/zero of=/dev/null bs=1 count=100000
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS _IOW(SECCOMP_IOC_MAGIC, 4, __u64)
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

static int send_fd(int sock, int fd) {
	struct msghdr msg = {0};
	char buf[CMSG_SPACE(sizeof(int))] = {0};
	char c = 'x';
	struct iovec io = {.iov_base = &c, .iov_len = 1};
	msg.msg_iov = &io; msg.msg_iovlen = 1;
	msg.msg_control = buf; msg.msg_controllen = sizeof buf;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET; cm->cmsg_type = SCM_RIGHTS; cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return sendmsg(sock, &msg, 0);
}
static int recv_fd(int sock) {
	struct msghdr msg = {0};
	char buf[CMSG_SPACE(sizeof(int))] = {0};
	char c;
	struct iovec io = {.iov_base = &c, .iov_len = 1};
	msg.msg_iov = &io; msg.msg_iovlen = 1;
	msg.msg_control = buf; msg.msg_controllen = sizeof buf;
	if (recvmsg(sock, &msg, 0) < 0) return -1;
	int fd; memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof fd);
	return fd;
}

int main(int argc, char **argv) {
	int sync = argc > 1 && !strcmp(argv[1], "sync");
	int sp[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	pid_t pid = fork();
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		};
		struct sock_fprog prog = {.len = 6, .filter = f};
		int fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		if (fd < 0) { perror("seccomp"); _exit(1); }
		send_fd(sp[1], fd);
		close(fd);
		execl("/bin/dd", "dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=100000", NULL);
		_exit(2);
	}
	int fd = recv_fd(sp[0]);
	if (sync && ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0) perror("set flags");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long n = 0;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	for (;;) {
		memset(&req, 0, sizeof req);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) break;
		n++;
		memset(&resp, 0, sizeof resp);
		resp.id = req.id;
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		if (req.data.nr == __NR_exit_group) break;
	}
	int st; waitpid(pid, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "%s: %ld notifications in %.3fs\n", sync ? "sync" : "plain", n, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
