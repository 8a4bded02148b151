// Makes five syscalls that Linux implements and gVisor does not, with
// arguments that make each fail harmlessly (or, for setfsgid(-1), change
// nothing). The arguments name the ones the program cannot do without: it
// exits 1 if any of those fails with ENOSYS, and ignores the others.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long call(const char *name) {
	if (!strcmp(name, "mq_getsetattr"))
		return syscall(SYS_mq_getsetattr, -1, NULL, NULL);
	if (!strcmp(name, "vmsplice"))
		return syscall(SYS_vmsplice, -1, NULL, 0, 0);
	if (!strcmp(name, "io_pgetevents"))
		return syscall(SYS_io_pgetevents, 0, 0, 0, NULL, NULL, NULL);
	if (!strcmp(name, "fspick"))
		return syscall(433 /* fspick */, -1, "", 0);
	if (!strcmp(name, "setfsgid"))
		return syscall(SYS_setfsgid, -1);
	fprintf(stderr, "unknown syscall %s\n", name);
	exit(2);
}

int main(int argc, char **argv) {
	static const char *all[] = {"mq_getsetattr", "vmsplice", "io_pgetevents", "fspick", "setfsgid"};
	int failed = 0;
	for (int i = 0; i < 5; i++) {
		errno = 0;
		long r = call(all[i]);
		int missing = r == -1 && errno == ENOSYS;
		for (int j = 1; j < argc; j++) {
			if (!strcmp(argv[j], all[i]) && missing) {
				fprintf(stderr, "%s: %s\n", all[i], strerror(errno));
				failed = 1;
			}
		}
	}
	printf("done\n");
	return failed;
}
