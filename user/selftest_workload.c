/* snag selftest-workload: the workloads with known answers that `snag selftest` traces. Each runs
 * in a child process of snag's own binary, so `snag record -c` traces it from exec. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include "commands.h"
#include "errors.h"
#include "selftest.h"

#define DIRECT_BLOCK 4096 /* O_DIRECT needs block-aligned buffers, offsets and sizes */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleep ns, resuming after signals, so a sleep is never shorter than asked. */
static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * noipa: never inlined, cloned or specialized, so it stays one symbol under
 * this name at -O2; used: kept even if a build drops its only caller. The
 * Makefile also exports it in .dynsym, so a stripped snag still has it.
 */
__attribute__((noipa, used)) void snag_selftest_sleep_2ms(void)
{
	sleep_ns(SELFTEST_SLEEP_NS);
}

/* A positive count from argv, or -EINVAL with the error set. */
static int parse_count(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v <= 0 || v > INT_MAX) {
		snag_set_error("selftest-workload: invalid count '%s'", s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* The test hook: one unit of work more than asked, so the selftest must fail. */
static long skewed(long n)
{
	const char *skew = getenv(SELFTEST_SKEW_ENV);

	return skew && !strcmp(skew, "1") ? n + 1 : n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * sleep N: N calls of snag_selftest_sleep_2ms(), each timed by this process's
 * own clock; *p50_ns gets their median by nearest rank, as snag defines p50.
 */
static int run_sleep(long n, uint64_t *p50_ns)
{
	uint64_t *ns = calloc((size_t)n, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (long i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		snag_selftest_sleep_2ms();
		ns[i] = now_ns() - t0;
	}
	qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
	*p50_ns = ns[(n + 1) / 2 - 1];
	free(ns);
	return 0;
}

/* offcpu N MS: N sleeps of MS ms, each one block off the CPU. */
static int run_offcpu(long n, long ms)
{
	for (long i = 0; i < n; i++)
		sleep_ns((uint64_t)ms * 1000000ull);
	return 0;
}

/* direct PATH N: N writes of 4 KiB with O_DIRECT to a new file, each one block write request. */
static int run_direct(const char *path, long n)
{
	struct statfs fs;
	void *buf = NULL;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		snag_set_error("cannot open '%s' with O_DIRECT: %s (direct I/O needs a "
			       "directory on a disk, not tmpfs: choose one with --dir)",
			       path, strerror(-err));
		return err;
	}
	/* tmpfs accepts O_DIRECT (kernel 6.6+), but nothing it holds ever reaches a disk. */
	if (!fstatfs(fd, &fs) && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC)) {
		snag_set_error("'%s' is on %s, which keeps files in memory: its writes never "
			       "reach a disk (choose a directory on a disk with --dir)",
			       path, fs.f_type == TMPFS_MAGIC ? "tmpfs" : "ramfs");
		err = -EINVAL;
		goto cleanup;
	}
	if (posix_memalign(&buf, DIRECT_BLOCK, DIRECT_BLOCK)) {
		err = -ENOMEM;
		goto cleanup;
	}
	memset(buf, 0xab, DIRECT_BLOCK);
	for (long i = 0; i < n; i++) {
		ssize_t w = write(fd, buf, DIRECT_BLOCK);

		if (w != DIRECT_BLOCK) {
			err = w < 0 ? -errno : -EIO;
			snag_set_error("O_DIRECT write to '%s' failed: %s (direct I/O needs a "
				       "directory on a disk, not tmpfs: choose one with --dir)",
				       path, w < 0 ? strerror(-err) : "short write");
			goto cleanup;
		}
	}
cleanup:
	free(buf);
	close(fd);
	unlink(path);
	return err;
}

/* small PATH N SIZE: N write(2) calls of SIZE bytes each to a new file. */
static int run_small(const char *path, long n, long size)
{
	char *buf = calloc(1, (size_t)size);
	int fd, err = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		snag_set_error("cannot create '%s': %s", path, strerror(-err));
		free(buf);
		return err;
	}
	for (long i = 0; i < n && !err; i++) {
		ssize_t w = write(fd, buf, (size_t)size);

		if (w != size) {
			err = w < 0 ? -errno : -EIO;
			snag_set_error("write to '%s' failed: %s", path,
				       w < 0 ? strerror(-err) : "short write");
		}
	}
	close(fd);
	unlink(path);
	free(buf);
	return err;
}

/* A connected pair of loopback TCP sockets: *tx connected to *rx, in this one process. */
static int tcp_pair(int *tx, int *rx)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int ls, one = 1, err = 0;

	*tx = *rx = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&a, &len))
		goto fail;
	*tx = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*tx < 0 || connect(*tx, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	*rx = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (*rx < 0)
		goto fail;
	/* Each send leaves at once as its own segment, however small. */
	setsockopt(*tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(ls);
	return 0;
fail:
	err = -errno;
	snag_set_error("cannot connect two loopback TCP sockets: %s", strerror(-err));
	if (ls >= 0)
		close(ls);
	if (*tx >= 0)
		close(*tx);
	*tx = -1;
	return err;
}

/*
 * tcp N SIZE: N send() calls of SIZE bytes on loopback TCP, each received
 * before the next is sent, so one thread does both ends and no buffer fills.
 */
static int run_tcp(long n, long size)
{
	char *buf = calloc(1, (size_t)size);
	int tx, rx, err;

	if (!buf)
		return -ENOMEM;
	err = tcp_pair(&tx, &rx);
	for (long i = 0; i < n && !err; i++) {
		long got = 0;

		if (send(tx, buf, (size_t)size, 0) != size) {
			err = -errno ? -errno : -EIO;
			snag_set_error("loopback send failed: %s", strerror(-err));
			break;
		}
		while (got < size && !err) {
			ssize_t r = recv(rx, buf, (size_t)(size - got), 0);

			if (r <= 0) {
				err = r < 0 ? -errno : -ECONNRESET;
				snag_set_error("loopback recv failed: %s", strerror(-err));
			}
			got += r > 0 ? r : 0;
		}
	}
	if (tx >= 0)
		close(tx);
	if (rx >= 0)
		close(rx);
	free(buf);
	return err;
}

static int usage_error(void)
{
	snag_set_error("usage: snag selftest-workload sleep N | offcpu N MS | direct PATH N | "
		       "small PATH N SIZE | tcp N SIZE (run by 'snag selftest')");
	return -EINVAL;
}

/* Parse argv[first..] as counts into v (n of them); -EINVAL unless exactly n remain. */
static int counts(int argc, char **argv, int first, long *v, int n)
{
	if (argc - first != n)
		return usage_error();
	for (int i = 0; i < n; i++) {
		int err = parse_count(argv[first + i], &v[i]);

		if (err)
			return err;
	}
	return 0;
}

int cmd_selftest_workload(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "";
	uint64_t start, p50_ns = 0;
	long v[2];
	int err;

	if (!strcmp(name, "sleep"))
		err = counts(argc, argv, 2, v, 1);
	else if (!strcmp(name, "offcpu") || !strcmp(name, "tcp"))
		err = counts(argc, argv, 2, v, 2);
	else if (!strcmp(name, "direct") && argc == 4)
		err = counts(argc, argv, 3, v, 1);
	else if (!strcmp(name, "small") && argc == 5)
		err = counts(argc, argv, 3, v, 2);
	else
		err = usage_error();
	if (err) {
		snag_print_error("invalid arguments");
		return SNAG_EXIT_USAGE;
	}
	v[0] = skewed(v[0]);
	start = now_ns();
	if (!strcmp(name, "sleep"))
		err = run_sleep(v[0], &p50_ns);
	else if (!strcmp(name, "offcpu"))
		err = run_offcpu(v[0], v[1]);
	else if (!strcmp(name, "direct"))
		err = run_direct(argv[2], v[0]);
	else if (!strcmp(name, "small"))
		err = run_small(argv[2], v[0], v[1]);
	else
		err = run_tcp(v[0], v[1]);
	if (err) {
		fprintf(stderr, "snag: selftest workload '%s': %s\n", name,
			*snag_last_error() ? snag_last_error() : strerror(-err));
		return SNAG_EXIT_RUNTIME;
	}
	/* To the pipe snag selftest reads: not a file, so no write counts as file I/O. */
	printf("%s %s pid=%d elapsed_ns=%llu p50_ns=%llu\n", SELFTEST_WORKLOAD_PREFIX, name,
	       getpid(), (unsigned long long)(now_ns() - start), (unsigned long long)p50_ns);
	if (fflush(stdout))
		return SNAG_EXIT_RUNTIME;
	/*
	 * Nothing may run after the known work that the trace would count: under
	 * ASan, LeakSanitizer's check at exit stops the thread with ptrace for
	 * over a millisecond, an off-CPU block the workload never asked for.
	 */
	_exit(SNAG_EXIT_OK);
}
