// Children made with CLONE_UNTRACED, which the kernel never attaches to a
// tracer: with clone and with clone3, each sets a parent-death signal, execs
// echo and exits; the parent checks the register holding clone's flags is
// intact afterwards (the syscall instruction preserves it). With "hold
// FILE" the clone child writes its pid to FILE and sleeps instead.
#define _GNU_SOURCE
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *hold; // "untraced hold FILE": the clone child stays

static int child(void *arg) {
	if (hold) {
		char cmd[512];
		snprintf(cmd, sizeof cmd, "echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 100", hold, hold, hold);
		execl("/bin/sh", "sh", "-c", cmd, (char *)0);
		_exit(5);
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
		perror("prctl");
		_exit(3);
	}
	execl("/bin/echo", "echo", (const char *)arg, (char *)0);
	perror("execl");
	_exit(4);
}

static char stack[256 * 1024];

static long raw_clone(unsigned long flags, void *sp) {
	long ret;
	unsigned long kept;
#if defined(__x86_64__)
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	__asm__ volatile("syscall"
			 : "=a"(ret), "=D"(kept)
			 : "a"(SYS_clone), "D"(flags), "S"(sp), "d"(0), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	if (ret == 0) {
		// The child shares the parent's memory but has its own stack.
		_exit(child("clone"));
	}
	if (kept != flags) {
		fprintf(stderr, "clone flags register changed: %#lx, was %#lx\n", kept, flags);
		exit(9);
	}
#else
	ret = syscall(SYS_clone, flags, sp, 0, 0, 0);
	if (ret == 0)
		_exit(child("clone"));
#endif
	return ret;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 2 && strcmp(argv[1], "hold") == 0)
		hold = argv[2];
	long pid = raw_clone(CLONE_UNTRACED | SIGCHLD, stack + sizeof stack - 64);
	if (pid < 0) {
		perror("clone");
		return 1;
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "clone child status %#x\n", st);
		return 1;
	}
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_UNTRACED;
	ca.exit_signal = SIGCHLD;
	pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid == 0)
		_exit(child("clone3"));
	if (pid < 0) {
		perror("clone3");
		return 1;
	}
	if (ca.flags != CLONE_UNTRACED) {
		fprintf(stderr, "clone3 flags changed in memory: %#llx\n", (unsigned long long)ca.flags);
		return 1;
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "clone3 child status %#x\n", st);
		return 1;
	}
	printf("done\n");
	return 0;
}
