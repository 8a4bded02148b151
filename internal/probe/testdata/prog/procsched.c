// Reads /proc/self/sched, which gVisor does not provide, and fails
// without it.
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
int main(void) {
	int fd = open("/proc/self/sched", O_RDONLY);
	if (fd < 0) { perror("open /proc/self/sched"); return 1; }
	char buf[64];
	if (read(fd, buf, sizeof buf) < 0) return 1;
	close(fd);
	puts("ok");
	return 0;
}
