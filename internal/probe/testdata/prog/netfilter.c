// Opens a netfilter netlink socket, which gVisor refuses, and says so but
// exits 0: a degraded program.
#include <stdio.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <unistd.h>
int main(void) {
	int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	if (s < 0) { perror("nfnetlink: feature disabled"); return 0; }
	close(s);
	puts("nfnetlink ready");
	return 0;
}
