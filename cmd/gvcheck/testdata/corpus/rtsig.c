// Real-time signals: 2000 queued to itself with values while blocked, then
// received in order with sigwaitinfo; prints how many and a checksum.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
	sigset_t set;
	sigemptyset(&set);
	for (int s = SIGRTMIN; s <= SIGRTMIN + 3; s++)
		sigaddset(&set, s);
	sigprocmask(SIG_BLOCK, &set, NULL);
	long sent = 0, got = 0, sum = 0;
	for (int round = 0; round < 500; round++)
		for (int s = 0; s < 4; s++) {
			union sigval v = {.sival_int = round * 4 + s};
			if (sigqueue(getpid(), SIGRTMIN + s, v) == 0)
				sent++;
		}
	siginfo_t si;
	struct timespec zero = {0, 0};
	while (sigtimedwait(&set, &si, &zero) > 0) {
		got++;
		sum += si.si_value.sival_int * (si.si_signo - SIGRTMIN + 1);
	}
	printf("sent %ld got %ld sum %ld\n", sent, got, sum);
	return got == sent ? 0 : 1;
}
