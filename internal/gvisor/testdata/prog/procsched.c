// Reads /proc/self/sched, which Linux has and gVisor does not, and fails
// without it, as a program depending on a /proc file would.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
	char buf[256];
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0) {
		perror("/proc/self/status");
		return 3;
	}
	close(fd);
	fd = open("/proc/self/sched", O_RDONLY);
	if (fd < 0) {
		perror("/proc/self/sched");
		return 1;
	}
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	printf("read %zd bytes\n", n);
	return 0;
}
