// LeakSanitizer finds these leaks and exits 23 (LSAN_OPTIONS=exitcode=23).
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) static void *make(void) { return malloc(64); }
int main(void) {
	for (int i = 0; i < 100; i++) {
		void *volatile p = make();
		(void)p;
	}
	puts("leaking");
	return 0;
}
