// Calls tuxcall and vserver, which Linux does not implement either
// (ENOSYS natively and under gVisor), then vmsplice, which only gVisor
// lacks; it needs none of them.
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
	syscall(184 /* tuxcall */);
	syscall(236 /* vserver */);
	syscall(SYS_vmsplice, -1, NULL, 0, 0);
	printf("done\n");
	return 0;
}
