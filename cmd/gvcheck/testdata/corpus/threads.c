// Threads that fork, exec and signal each other; deterministic output.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1;
static void onusr1(int s) { (void)s; usr1++; }

static void *work(void *arg) {
	long n = (long)arg, sum = 0;
	for (long i = 0; i < 200000 * (n + 1); i++)
		sum += i % 7;
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/true", "true", (char *)0);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	return (void *)(sum + WEXITSTATUS(st));
}

int main(void) {
	signal(SIGUSR1, onusr1);
	pthread_t t[8];
	for (long i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, work, (void *)i);
	long total = 0;
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (long)r;
	}
	for (int i = 0; i < 10; i++)
		kill(getpid(), SIGUSR1);
	printf("total %ld usr1 %d\n", total, (int)usr1);
	return 0;
}
