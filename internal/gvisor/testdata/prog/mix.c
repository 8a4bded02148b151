// Makes calls gVisor reports as unsupported or answers differently: used to
// capture real log lines for the parser tests.
#include <pthread.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thread(void *arg) {
	(void)arg;
	syscall(246 /* kexec_load */, 0, 0, 0, 0);
	return NULL;
}

int main(void) {
	pthread_t t;
	prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0, 0, 0);
	ioctl(0, 0x1234, 0);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int v = 1;
	setsockopt(s, SOL_SOCKET, 0x7fff, &v, sizeof v);
	socket(AF_BLUETOOTH, SOCK_STREAM, 0);
	pthread_create(&t, NULL, thread, NULL);
	pthread_join(t, NULL);
	if (fork() == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	wait(NULL);
	printf("done\n");
	return 0;
}
