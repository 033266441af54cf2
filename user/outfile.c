/* Output files that appear whole or not at all: written to a temporary file, renamed into place. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "errors.h"
#include "outfile.h"

int outfile__open(struct outfile *o, const char *path, const char *what)
{
	struct stat st;
	int fd, err;

	*o = (struct outfile){.path = path, .what = what};
	if (!path) {
		o->f = stdout;
		return 0;
	}
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		snag_set_error("cannot write the %s to '%s': it is a directory (give a file "
			       "name, e.g. -o %s/%s.json)",
			       what, path, path, what);
		return -EISDIR;
	}
	/*
	 * A device, FIFO or socket (-o /dev/null, -o /dev/stdout, a named pipe) is
	 * written in place: renaming a temporary file over it would replace the
	 * device node with a regular file, for the whole machine.
	 */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		o->f = fopen(path, "w");
		if (!o->f) {
			err = -errno;
			snag_set_error("cannot write the %s to '%s': %s", what, path,
				       strerror(-err));
			return err;
		}
		o->direct = 1;
		return 0;
	}
	if (asprintf(&o->tmp_path, "%s.snag-XXXXXX", path) < 0) {
		o->tmp_path = NULL;
		snag_set_error("out of memory");
		return -ENOMEM;
	}
	fd = mkstemp(o->tmp_path);
	if (fd < 0) {
		err = -errno;
		snag_set_error("cannot write the %s to '%s': %s (choose a writable path for -o)",
			       what, path, strerror(-err));
		free(o->tmp_path);
		o->tmp_path = NULL;
		return err;
	}
	/* mkstemp() makes it 0600; a report is an ordinary file (0644 less the usual umask). */
	fchmod(fd, 0644 & ~0022);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		err = -errno;
		close(fd);
		outfile__discard(o);
		snag_set_error("cannot write the %s to '%s': %s", what, path, strerror(-err));
		return err;
	}
	return 0;
}

int outfile__commit(struct outfile *o)
{
	int err = 0;

	errno = 0;
	if (fflush(o->f) || ferror(o->f))
		err = errno ? -errno : -EIO;
	if (o->direct) {
		if (fclose(o->f) && !err)
			err = -errno;
		o->f = NULL;
		o->direct = 0;
	}
	if (!o->tmp_path) {
		if (err)
			snag_set_error("cannot write the %s: %s", o->what, strerror(-err));
		return err;
	}
	/*
	 * No fsync: the rename already makes the file appear whole or not at
	 * all to every reader; fsync only adds power-loss durability, and on
	 * ext4 it can wait for the journal to write out every dirty file on the
	 * machine (minutes here after a big build).
	 */
	if (fclose(o->f) && !err)
		err = -errno;
	o->f = NULL;
	if (!err && rename(o->tmp_path, o->path))
		err = -errno;
	if (err) {
		unlink(o->tmp_path);
		snag_set_error("cannot write the %s to '%s': %s", o->what, o->path, strerror(-err));
	}
	free(o->tmp_path);
	o->tmp_path = NULL;
	return err;
}

void outfile__discard(struct outfile *o)
{
	if (o->direct && o->f) {
		fclose(o->f);
		o->f = NULL;
		o->direct = 0;
	}
	if (!o->tmp_path)
		return;
	if (o->f)
		fclose(o->f);
	o->f = NULL;
	unlink(o->tmp_path);
	free(o->tmp_path);
	o->tmp_path = NULL;
}
