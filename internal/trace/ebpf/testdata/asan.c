// An AddressSanitizer hello world; with an argument it leaks, and
// LeakSanitizer (which stops the program's threads with ptrace, so cannot
// work under a ptrace tracer) reports it at exit.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char *p = malloc(16);
	strcpy(p, "hello, world");
	puts(p);
	if (argc < 2)
		free(p);
	return 0;
}
