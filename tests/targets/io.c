/* Test target with known I/O: direct block writes, small writes, loopback TCP and UDP messages.
 * tools/bench-io.sh runs it with --time. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --time: print "elapsed_ns=N" after the mode's own line: the time of its I/O loop alone. */
static bool timed;
static struct timespec t_start;

static void clock_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t_start);
}

static long long elapsed_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t_start.tv_sec) * 1000000000LL + (t.tv_nsec - t_start.tv_nsec);
}

static int die(const char *what)
{
	fprintf(stderr, "io: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* With --wait: say "ready pid=N" and block until SIGUSR1, so a tracer can attach first. */
static void wait_for_go(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready pid=%d\n", getpid());
	fflush(stdout);
	sigwait(&set, &sig);
}

/* write_all without retry semantics hidden: each call is one write(2) of exactly len bytes. */
static void write_exact(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	if (n != (ssize_t)len)
		die("write");
}

/* direct PATH N: N 4 KiB writes with O_DIRECT (each one block request). */
static int direct(const char *path, long n)
{
	void *buf;
	long long ns;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0600);

	if (fd < 0)
		die("open O_DIRECT (the directory must be on a disk, not tmpfs)");
	if (posix_memalign(&buf, 4096, 4096))
		die("posix_memalign");
	memset(buf, 0xab, 4096);
	clock_start();
	for (long i = 0; i < n; i++)
		write_exact(fd, buf, 4096);
	ns = elapsed_ns();
	close(fd);
	unlink(path);
	free(buf);
	printf("direct pid=%d writes=%ld\n", getpid(), n);
	if (timed)
		printf("elapsed_ns=%lld\n", ns);
	return 0;
}

/*
 * small PATH N SIZE: N write(2) calls of SIZE bytes each to PATH: a new
 * regular file (removed afterwards), or an existing device such as /dev/null.
 */
static int small(const char *path, long n, long size)
{
	char *buf = calloc(1, size);
	struct stat st;
	bool device = !stat(path, &st) && !S_ISREG(st.st_mode);
	int fd = open(path, device ? O_WRONLY : O_WRONLY | O_CREAT | O_TRUNC, 0600);
	long long ns;

	if (fd < 0 || !buf)
		die("open");
	clock_start();
	for (long i = 0; i < n; i++)
		write_exact(fd, buf, size);
	ns = elapsed_ns();
	close(fd);
	if (!device)
		unlink(path);
	free(buf);
	printf("small pid=%d writes=%ld size=%ld\n", getpid(), n, size);
	if (timed)
		printf("elapsed_ns=%lld\n", ns);
	return 0;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* tcp-server: listen on a loopback port, print it, receive one connection until EOF. */
static int tcp_server(void)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	char buf[65536];
	long total = 0, calls = 0;
	ssize_t n;
	int ls = socket(AF_INET, SOCK_STREAM, 0), c;

	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&a, &len))
		die("listen");
	printf("listening port=%d pid=%d\n", ntohs(a.sin_port), getpid());
	fflush(stdout);
	c = accept(ls, NULL, NULL);
	if (c < 0)
		die("accept");
	while ((n = recv(c, buf, sizeof(buf), 0)) > 0) {
		total += n;
		calls++;
	}
	if (n < 0)
		die("recv");
	printf("server pid=%d received=%ld recvs=%ld\n", getpid(), total, calls);
	return 0;
}

/*
 * tcp-client PORT N SIZE [PAUSE_US]: connect to the loopback port and send N
 * messages of SIZE bytes, pausing PAUSE_US between them (so that each leaves
 * as a packet of its own instead of coalescing with the next).
 */
static int tcp_client(int port, long n, long size, long pause_us)
{
	struct sockaddr_in a = loopback(port);
	char *buf = calloc(1, size);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (s < 0 || !buf || connect(s, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (long i = 0; i < n; i++) {
		if (send(s, buf, size, 0) != size)
			die("send");
		if (pause_us > 0)
			usleep((useconds_t)pause_us);
	}
	close(s);
	free(buf);
	printf("client pid=%d sent=%ld sends=%ld\n", getpid(), n * size, n);
	return 0;
}

/*
 * tcp N SIZE: the whole loopback TCP workload in one command. A forked child is the
 * server (as tcp-server: receives one connection until EOF); this process is the client
 * (as tcp-client: N send()s of SIZE bytes, TCP_NODELAY). The time runs from the first
 * send until the server has received everything and exited; it is always printed.
 */
static int tcp(long n, long size)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	char *buf = calloc(1, size);
	int ls = socket(AF_INET, SOCK_STREAM, 0), s, one = 1, status;
	long long ns;
	pid_t server;

	if (ls < 0 || !buf || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&a, &len))
		die("listen");
	server = fork();
	if (server < 0)
		die("fork");
	if (server == 0) {
		char rbuf[65536];
		long total = 0, calls = 0;
		ssize_t r;
		int c = accept(ls, NULL, NULL);

		if (c < 0)
			die("accept");
		while ((r = recv(c, rbuf, sizeof(rbuf), 0)) > 0) {
			total += r;
			calls++;
		}
		if (r < 0)
			die("recv");
		printf("server pid=%d received=%ld recvs=%ld\n", getpid(), total, calls);
		exit(total == n * size ? 0 : 1);
	}
	close(ls);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
		kill(server, SIGTERM); /* it waits in accept() */
		die("connect");
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	clock_start();
	for (long i = 0; i < n; i++)
		if (send(s, buf, size, 0) != size)
			die("send");
	close(s);
	if (waitpid(server, &status, 0) != server)
		die("waitpid");
	ns = elapsed_ns();
	free(buf);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "io: the server failed (status 0x%x)\n", status);
		return 1;
	}
	printf("client pid=%d server_pid=%d sent=%ld sends=%ld\n", getpid(), server, n * size, n);
	printf("elapsed_ns=%lld\n", ns);
	return 0;
}

/* udp N SIZE: send N datagrams of SIZE bytes over loopback to itself and receive them. */
static int udp(long n, long size)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	char *buf = calloc(1, size);
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	long got = 0;

	if (rx < 0 || tx < 0 || !buf || bind(rx, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(rx, (struct sockaddr *)&a, &len))
		die("udp socket");
	for (long i = 0; i < n; i++) {
		/* One in flight at a time: loopback never drops what is received right away. */
		if (sendto(tx, buf, size, 0, (struct sockaddr *)&a, sizeof(a)) != size)
			die("sendto");
		if (recvfrom(rx, buf, size, 0, NULL, NULL) != size)
			die("recvfrom");
		got++;
	}
	printf("udp pid=%d datagrams=%ld size=%ld\n", getpid(), got, size);
	return 0;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: io [--wait] [--time] direct PATH N | small PATH N SIZE |\n"
	    "          tcp-server | tcp-client PORT N SIZE [PAUSE_US] | tcp N SIZE | udp N SIZE\n"
	    "  --time: also print elapsed_ns=N, the time of the I/O loop (tcp: always)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (i < argc && !strcmp(argv[i], "--wait")) {
		wait_for_go();
		i++;
	}
	if (i < argc && !strcmp(argv[i], "--time")) {
		timed = true;
		i++;
	}
	if (i >= argc)
		usage();
	if (!strcmp(argv[i], "direct") && argc - i == 3)
		return direct(argv[i + 1], atol(argv[i + 2]));
	if (!strcmp(argv[i], "small") && argc - i == 4)
		return small(argv[i + 1], atol(argv[i + 2]), atol(argv[i + 3]));
	if (!strcmp(argv[i], "tcp-server") && argc - i == 1)
		return tcp_server();
	if (!strcmp(argv[i], "tcp-client") && (argc - i == 4 || argc - i == 5))
		return tcp_client(atoi(argv[i + 1]), atol(argv[i + 2]), atol(argv[i + 3]),
				  argc - i == 5 ? atol(argv[i + 4]) : 0);
	if (!strcmp(argv[i], "tcp") && argc - i == 3)
		return tcp(atol(argv[i + 1]), atol(argv[i + 2]));
	if (!strcmp(argv[i], "udp") && argc - i == 3)
		return udp(atol(argv[i + 1]), atol(argv[i + 2]));
	usage();
	return 2;
}
