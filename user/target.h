/* The processes snag traces: checking -p pids, starting a -c command held before exec, noticing
 * exits. */
#ifndef SNAG_TARGET_H
#define SNAG_TARGET_H

#include <stdbool.h>
#include <stddef.h>

struct target_proc {
	int pid;
	int pidfd; /* readable once the process exits; -1 if unavailable */
	bool exited;
};

struct targets {
	struct target_proc *procs;
	size_t n;
	/* -c only: */
	bool command;
	char *command_path; /* resolved program path */
	char **argv;	    /* parsed words */
	int go_fd;	    /* write end: closing it lets the child exec */
	int err_fd;	    /* read end: the child's exec errno, EOF on success */
	bool released;
	int exit_status; /* of the -c child, once reaped */
};

/*
 * Check that each pid is a live process (not a thread id) and open a pidfd
 * for it. Returns 0, or -ENOENT / -EINVAL with snag_set_error() set.
 */
int targets__open_pids(struct targets *t, const int *pids, size_t n);

/*
 * Parse the command line (shell-like quoting, no substitutions), find the
 * program on PATH and fork a child that waits before exec until
 * targets__release(). Returns 0, or -EINVAL / -ENOENT / -EACCES with
 * snag_set_error() set.
 */
int targets__spawn(struct targets *t, const char *command);

/*
 * Let a spawned child exec. Returns 0 once exec succeeded, or -errno of the
 * failed exec with snag_set_error() set.
 */
int targets__release(struct targets *t);

/*
 * Note which targets have exited (reaping a -c child without blocking).
 * Returns true when every target has exited.
 */
bool targets__update(struct targets *t);

/* Send sig to every target still running that snag started (-c only). */
void targets__signal_command(struct targets *t, int sig);

/* Close fds; a spawned child never released is killed and reaped. */
void targets__free(struct targets *t);

#endif
