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

struct test_run {
	int status; /* exit status, or 128+signal */
	char *out;  /* captured stdout (NUL-terminated, owned) */
	char *err;  /* captured stderr (NUL-terminated, owned) */
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

/* Read fd for up to timeout_ms (stops at EOF); returns a malloc'd NUL-terminated string. */
char *test_read_for(int fd, int timeout_ms);

/* Read a whole file; returns a malloc'd NUL-terminated buffer or NULL. */
char *test_read_file(const char *path, size_t *len);

#endif
