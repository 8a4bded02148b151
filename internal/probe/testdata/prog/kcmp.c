// Needs kcmp (gVisor: CapError, ENOSYS with CAP_SYS_PTRACE, EPERM without).
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
	pid_t self = getpid();
	long r = syscall(SYS_kcmp, self, self, 1 /* KCMP_VM */, 0, 0);
	if (r != 0) {
		fprintf(stderr, "kcmp: %s\n", r < 0 ? strerror(errno) : "differs");
		return 1;
	}
	printf("same address space\n");
	return 0;
}
