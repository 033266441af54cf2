/* Helpers shared by the unit and integration tests: paths into the build tree, running commands. */
#ifndef SNAG_TESTUTIL_H
#define SNAG_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* The build directory the tests were built in ($SNAG_BUILD, default "build"). */
const char *test_build_dir(void);

/* "<build dir>/<rel>" in a static buffer (valid until the next call). */
const char *test_build_path(const char *rel);

struct test_run {
	int status;    /* exit status, or 128+signal */
	char *out;     /* captured stdout (NUL-terminated, owned) */
	char *err;     /* captured stderr (NUL-terminated, owned) */
};

/*
 * Run argv (argv[0] is a path) to completion with a timeout in seconds,
 * capturing stdout and stderr. Kills it with SIGKILL at the timeout and
 * reports status 128+9. Returns 0 or -errno.
 */
int test_run(char *const argv[], int timeout_s, struct test_run *out);
void test_run__free(struct test_run *r);

/* Read a whole file; returns a malloc'd NUL-terminated buffer or NULL. */
char *test_read_file(const char *path, size_t *len);

#endif
