/* Helpers shared by the unit and integration tests: paths into the build tree, running commands. */
#ifndef SNAG_TESTUTIL_H
#define SNAG_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The build directory the tests were built in ($SNAG_BUILD, default "build"). */
const char *test_build_dir(void);

/* "<build dir>/<rel>" in a static buffer (valid until the next call). */
const char *test_build_path(const char *rel);

/*
 * Failure-safe ownership. A cmocka failure jumps out of the test, past its own
 * frees, and under ASan the leak would be reported as a second failure. What a
 * test hands to test_keep() is released by test_release(), which the
 * integration suites run after each test (itest_case()), unless the test
 * freed it before with test_drop(). test_keep() returns p; a NULL p or a full
 * registry keeps nothing.
 */
void *test_keep(void *p, void (*release)(void *));

/* Free p now: through the release function it was kept with, else free(). NULL is a no-op. */
void test_drop(void *p);

/* Release everything still kept. */
void test_release(void);

struct test_run {
	int status; /* exit status, or 128+signal */
	char *out;  /* captured stdout (NUL-terminated, owned, kept: see test_keep()) */
	char *err;  /* captured stderr (NUL-terminated, owned, kept) */
};

/*
 * Run argv (argv[0] is a path) to completion with a timeout in seconds,
 * capturing stdout and stderr. Kills it with SIGKILL at the timeout and
 * reports status 128+9. Returns 0 or -errno.
 */
int test_run(char *const argv[], int timeout_s, struct test_run *out);
void test_run__free(struct test_run *r);

/* A child running in the background with its stdout and stderr on pipes. */
struct test_proc {
	pid_t pid;
	int out_fd;
	int err_fd;
};

/* Start argv in the background. Returns 0 or -errno. */
int test_spawn(char *const argv[], struct test_proc *p);

/*
 * Read fd until a line containing needle arrives (true) or timeout_ms passes
 * or EOF (false). Reads byte by byte, so later lines stay in the pipe.
 */
bool test_wait_line(int fd, const char *needle, int timeout_ms);

/* Wait up to timeout_s for p to exit (SIGKILL after that); returns exit status or 128+signal. */
int test_proc_wait(struct test_proc *p, int timeout_s);

/*
 * Read fd for up to timeout_ms (stops at EOF); returns a malloc'd NUL-terminated string, kept
 * (free it with test_drop()).
 */
char *test_read_for(int fd, int timeout_ms);

struct test_http {
	int status;    /* HTTP status code */
	char *headers; /* the header block, status line included (NUL-terminated, owned) */
	char *body;    /* NUL-terminated, owned */
	size_t body_len;
};

/*
 * One HTTP/1.0 request (no body) to a numeric host and port, e.g.
 * test_http("127.0.0.1", 9090, "GET", "/metrics", 5000, &r), read to EOF
 * within timeout_ms. Returns 0, or -errno (-ETIMEDOUT, -ECONNREFUSED, -EPROTO
 * for a reply that is not HTTP).
 */
int test_http(const char *host, int port, const char *method, const char *path, int timeout_ms,
	      struct test_http *out);
void test_http__free(struct test_http *r);

/*
 * A TCP connection to numeric IPv4 host:port from source address src (another
 * loopback address such as "127.0.0.2" makes a second client on one machine),
 * left idle. Returns the socket or -errno.
 */
int test_connect_from(const char *src, const char *host, int port);

/*
 * Of fds[0..n-1], how many the peer has closed (EOF or reset) within
 * timeout_ms; they are read (and what was sent is dropped), not closed.
 */
int test_count_closed(const int *fds, int n, int timeout_ms);

/* Read a whole file; returns a malloc'd NUL-terminated buffer, kept (test_drop()), or NULL. */
char *test_read_file(const char *path, size_t *len);

#endif
