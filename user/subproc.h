/* Running a child program to completion with its output captured and a time limit. */
#ifndef SNAG_SUBPROC_H
#define SNAG_SUBPROC_H

#include <stdbool.h>

struct subproc_result {
	char *output;	/* stdout and stderr interleaved, NUL-terminated; owned */
	int status;	/* exit status, or 128 + the signal that ended it */
	bool timed_out; /* killed with SIGKILL at the time limit */
};

/*
 * Run argv[0] (a path, not searched on PATH) with argv, stdin from /dev/null
 * and stdout and stderr both into one pipe, until it exits or timeout_ms
 * passes (then it is killed with SIGKILL). Returns 0 with *r filled (free
 * r->output), or -errno when it could not be run (nothing is allocated then).
 */
int subproc__run(char *const argv[], int timeout_ms, struct subproc_result *r);

#endif
