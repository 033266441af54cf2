/* Output files that appear whole or not at all: written to a temporary file, renamed into place. */
#ifndef SNAG_OUTFILE_H
#define SNAG_OUTFILE_H

#include <stdio.h>

struct outfile {
	const char *path; /* the final path (borrowed), or NULL for stdout */
	const char *what; /* what is written, for messages: "report", "diff" */
	char *tmp_path;	  /* the temporary file next to path, until commit or discard */
	FILE *f;	  /* write here: the temporary file, or stdout */
	int direct;	  /* path is a device, FIFO or socket: written in place */
};

/*
 * Start writing what (e.g. "report") to path, or to stdout when path is
 * NULL. The temporary file is created now, next to path, so an unwritable
 * path fails before any work is done. Returns 0, or -errno with
 * snag_set_error() naming the path and the fix (a directory: -EISDIR).
 * Call outfile__commit() or outfile__discard() afterwards, either way.
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
