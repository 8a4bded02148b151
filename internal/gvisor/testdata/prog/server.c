// A tiny TCP server ("server PORT") answering "hello\n" to each
// connection, and its client ("server client PORT"), which exits 0 when it
// gets the answer: a server gvcheck checks with Ready and Test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
	int client = argc == 3 && strcmp(argv[1], "client") == 0;
	if (argc != 2 && !client) {
		fprintf(stderr, "usage: server PORT | server client PORT\n");
		return 2;
	}
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(atoi(argv[argc - 1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0) {
		perror("socket");
		return 1;
	}
	if (client) {
		char buf[16] = {0};
		if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
			perror("connect");
			return 1;
		}
		ssize_t n = read(s, buf, sizeof buf - 1);
		return n == 6 && strcmp(buf, "hello\n") == 0 ? 0 : 1;
	}
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0) {
		perror("bind/listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0) {
			perror("accept");
			return 1;
		}
		write(c, "hello\n", 6);
		close(c);
	}
}
