// Needs io_uring: no fallback, exits 1 when io_uring_setup fails.
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
		fprintf(stderr, "io_uring_setup: %s\n", strerror(errno));
		return 1;
	}
	printf("io_uring ready\n");
	return 0;
}
