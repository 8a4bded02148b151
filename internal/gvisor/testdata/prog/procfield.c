// Reads /proc/self/status and needs its Cpus_allowed_list field, which
// gVisor does not provide: every call succeeds, yet the program gives up,
// as programs that parse /proc do.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	static char buf[8192];
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0) {
		perror("/proc/self/status");
		return 3;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || strstr(buf, "Cpus_allowed_list:") == NULL) {
		fprintf(stderr, "no Cpus_allowed_list in /proc/self/status\n");
		return 4;
	}
	// Work the program goes on with when it has what it needs.
	for (int i = 0; i < 24; i++) {
		access("/", F_OK);
	}
	printf("ok\n");
	return 0;
}
