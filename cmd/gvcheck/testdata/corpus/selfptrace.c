// A ptrace user: a child asks to be traced, stops, and its parent reads a
// register and lets it go.
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
	pid_t p = fork();
	if (p == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) {
			perror("PTRACE_TRACEME");
			_exit(2);
		}
		raise(SIGSTOP);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	if (!WIFSTOPPED(st)) {
		printf("child did not stop (status %#x)\n", st);
		return 1;
	}
	struct user_regs_struct r;
	long ok = ptrace(PTRACE_GETREGS, p, 0, &r);
	ptrace(PTRACE_CONT, p, 0, 0);
	waitpid(p, &st, 0);
	printf("traced the child: getregs %s, child exit %d\n", ok == 0 ? "ok" : "failed", WEXITSTATUS(st));
	return 0;
}
