// A child made with CLONE_UNTRACED that execs echo.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
static char stack[65536];
static int child(void *a) { (void)a; execl("/bin/echo", "echo", "from the untraced child", (char *)0); return 127; }
int main(void) {
	int pid = clone(child, stack + sizeof stack, CLONE_UNTRACED | SIGCHLD, NULL);
	int st;
	waitpid(pid, &st, 0);
	printf("child status %d\n", WEXITSTATUS(st));
	return 0;
}
