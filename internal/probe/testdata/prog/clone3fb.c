// Starts a child with clone3 and, where clone3 fails with ENOSYS, falls
// back to fork (glibc's fork uses clone), as glibc's posix_spawn does.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
	struct clone_args args;
	memset(&args, 0, sizeof args);
	args.exit_signal = SIGCHLD;
	const char *how = "clone3";
	long pid = syscall(SYS_clone3, &args, sizeof args);
	if (pid < 0 && errno == ENOSYS) {
		how = "fork";
		pid = fork();
	}
	if (pid < 0) {
		fprintf(stderr, "cannot start a child: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0)
		_exit(7);
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 7) {
		fprintf(stderr, "child did not exit 7\n");
		return 1;
	}
	printf("child started\n");
	fprintf(stderr, "via %s\n", how);
	return 0;
}
