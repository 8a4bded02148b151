#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <linux/netlink.h>
#include <linux/falloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sched.h>
int main(){
 int s = socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0);
 int one=1; setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
 setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
 int n = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
 int n2 = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
 prctl(PR_SET_NAME, "x");
 prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0, 0, 0);
 int fd = open("f", O_CREAT|O_RDWR, 0644);
 fcntl(fd, F_GETLEASE);
 fcntl(fd, F_SETFD, FD_CLOEXEC);
 fallocate(fd, FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE, 0, 4096);
 int fl; ioctl(fd, 0x80086601, &fl);
 ioctl(1, TIOCGWINSZ, &fl);
 struct rlimit rl; getrlimit(RLIMIT_NOFILE, &rl); setrlimit(RLIMIT_NOFILE, &rl);
 printf("max=%d\n", sched_get_priority_max(SCHED_FIFO));
 unshare(CLONE_NEWUTS);
 return 0;
}
