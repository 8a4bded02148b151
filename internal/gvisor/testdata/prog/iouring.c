// Calls io_uring_setup, which gVisor refuses with ENOSYS unless --iouring.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
	unsigned char params[120];
	memset(params, 0, sizeof params);
	long fd = syscall(425 /* io_uring_setup */, 4, params);
	if (fd < 0) {
		printf("io_uring_setup: %s\n", strerror(errno));
		return 2;
	}
	printf("io_uring_setup: ok\n");
	return 0;
}
