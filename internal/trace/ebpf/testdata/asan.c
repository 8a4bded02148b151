// An AddressSanitizer hello world; with an argument it leaks, and
// LeakSanitizer (which stops the program's threads with ptrace, so cannot
// work under a ptrace tracer) reports it at exit.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// leak allocates and forgets: no copy of the pointer stays in a register
// or on the stack for LeakSanitizer to find.
__attribute__((noinline)) static void leak(void)
{
	char *volatile p = malloc(32);
	p[0] = 1;
	p = NULL;
}

int main(int argc, char **argv)
{
	char *p = malloc(16);
	strcpy(p, "hello, world");
	puts(p);
	free(p);
	if (argc > 1) {
		leak();
		printf("leaked %d\n", argc);
	}
	return 0;
}
