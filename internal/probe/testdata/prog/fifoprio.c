// Asks for the highest real-time priority and fails when there is none
// (gVisor answers sched_get_priority_max with 0).
#include <sched.h>
#include <stdio.h>
int main(void) {
	int max = sched_get_priority_max(SCHED_FIFO);
	if (max < 1) { fprintf(stderr, "no real-time priorities (max %d)\n", max); return 1; }
	printf("max priority %d\n", max);
	return 0;
}
