/*
 * Output files that appear whole or not at all, written safely by root: a temporary file renamed
 * into place, never through a symbolic link, never into a file another user planted in a shared
 * directory.
 */
#ifndef SNAG_OUTFILE_H
#define SNAG_OUTFILE_H

#include <stdio.h>

struct outfile {
	const char *path; /* the final path (borrowed), or NULL for stdout */
	const char *what; /* what is written, for messages: "report", "diff" */
	int dir_fd;	  /* path's directory (O_PATH), or -1: temporary file and rename go here */
	char *base;	  /* path's last component, in dir_fd */
	char *tmp_name;	  /* the temporary file in dir_fd, until commit or discard */
	FILE *f;	  /* write here: the temporary file, the device or FIFO, or stdout */
	int direct;	  /* a character device or FIFO (or /dev/stdout, ...): written in place */
};

/*
 * Start writing what (e.g. "report") to path, or to stdout when path is
 * NULL. Checked now, before any work is done:
 * - a new or regular file is written to a temporary file next to it, created
 *   with mode 0666 less the umask, and renamed over path on commit;
 * - a character device or FIFO named as path itself is written in place
 *   (-o /dev/null, a named pipe): a FIFO with no reader fails at once
 *   (-ENXIO) rather than blocking;
 * - /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N write to that
 *   open descriptor, in place;
 * - refused: a symbolic link as the last component (-ELOOP), a directory
 *   (-EISDIR), a block device or socket (-EINVAL), and a file that another
 *   user owns in a sticky world-writable directory such as /tmp (-EPERM, the
 *   rule of the kernel's protected_regular and protected_fifos).
 * Opens never follow the last component, never block and never take a
 * controlling terminal. Returns 0, or -errno with snag_set_error() naming the
 * path and the fix. Call outfile__commit() or outfile__discard() afterwards,
 * either way.
 */
int outfile__open(struct outfile *o, const char *path, const char *what);

/*
 * Flush, and rename the temporary file over path. Returns 0, or -errno with
 * snag_set_error() set and the temporary file removed. For stdout, only
 * flushes and checks the stream.
 */
int outfile__commit(struct outfile *o);

/* Remove the temporary file, if any (path is left as it was). Safe to call twice. */
void outfile__discard(struct outfile *o);

#endif
