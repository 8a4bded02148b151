// Two threads that keep reading /proc/self/stat; every second the main
// thread also forks a child that opens /dev/null and exits.
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void poll_stat(void)
{
	int fd = open("/proc/self/stat", O_RDONLY);
	if (fd >= 0)
		close(fd);
	syscall(SYS_gettid);
	usleep(10000);
}

static void *worker(void *arg)
{
	for (;;)
		poll_stat();
	return arg;
}

int main(void)
{
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	time_t last = 0;
	for (;;) {
		poll_stat();
		if (time(NULL) != last) {
			last = time(NULL);
			pid_t pid = fork();
			if (pid == 0) {
				close(open("/dev/null", O_RDONLY));
				_exit(0);
			}
			waitpid(pid, NULL, 0);
		}
	}
}
