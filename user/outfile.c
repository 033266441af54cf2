/* Output files written safely by root: temporary file renamed into place, no links, no planted
 * files. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "errors.h"
#include "outfile.h"

#define TMP_ATTEMPTS 100

/* The descriptor /dev/stdout, /dev/stderr, /dev/fd/N or /proc/self/fd/N names, or -1. */
static int std_alias_fd(const char *path)
{
	static const char *const prefixes[] = {"/dev/fd/", "/proc/self/fd/"};
	char *end;
	long n;

	if (!strcmp(path, "/dev/stdout"))
		return 1;
	if (!strcmp(path, "/dev/stderr"))
		return 2;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t len = strlen(prefixes[i]);

		if (strncmp(path, prefixes[i], len) || path[len] < '0' || path[len] > '9')
			continue;
		errno = 0;
		n = strtol(path + len, &end, 10);
		if (!errno && !*end && n >= 0 && n <= INT32_MAX)
			return (int)n;
	}
	return -1;
}

/* What a file type is called in messages, for the types snag refuses to write in place. */
static const char *refused_type(mode_t mode)
{
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISDIR(mode))
		return "a directory";
	return "not a regular file, FIFO or character device";
}

static int refuse_type(const struct outfile *o, mode_t mode)
{
	if (S_ISDIR(mode)) {
		snag_set_error("cannot write the %s to '%s': it is a directory (give a file "
			       "name, e.g. -o %s/%s.json)",
			       o->what, o->path, o->path, o->what);
		return -EISDIR;
	}
	snag_set_error("cannot write the %s to '%s': it is %s (give a regular file, a FIFO or a "
		       "character device such as /dev/stdout)",
		       o->what, o->path, refused_type(mode));
	return -EINVAL;
}

/* Write in place to fd, which is the caller's (closed on failure). Returns 0 or -errno. */
static int open_stream(struct outfile *o, int fd)
{
	int err;

	o->f = fdopen(fd, "w");
	if (!o->f) {
		err = -errno;
		close(fd);
		snag_set_error("cannot write the %s to '%s': %s", o->what, o->path, strerror(-err));
		return err;
	}
	return 0;
}

/* -o /dev/stdout and the like: a copy of the descriptor, written in place. */
static int open_alias(struct outfile *o, int n)
{
	struct stat st;
	int fd, err;

	fd = fcntl(n, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		err = -errno;
		snag_set_error("cannot write the %s to '%s': %s (is descriptor %d open? choose "
			       "another path for -o)",
			       o->what, o->path, strerror(-err), n);
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		snag_set_error("cannot write the %s to '%s': %s", o->what, o->path, strerror(-err));
		return err;
	}
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode) &&
	    !S_ISSOCK(st.st_mode)) {
		close(fd);
		return refuse_type(o, st.st_mode);
	}
	o->direct = 1;
	return open_stream(o, fd);
}

/*
 * Whether a directory is shared with other users the way /tmp is: sticky and
 * writable by others (the kernel's protected_regular=2 takes group-writable too).
 */
static bool shared_dir(const struct stat *dir)
{
	return (dir->st_mode & S_ISVTX) && (dir->st_mode & (S_IWOTH | S_IWGRP));
}

/* Split o->path into its directory (opened as o->dir_fd) and its last component (o->base). */
static int open_dir(struct outfile *o, char **dir_out)
{
	const char *slash = strrchr(o->path, '/');
	size_t len = strlen(o->path);
	char *dir;
	int err;

	if (!len || o->path[len - 1] == '/' || !strcmp(slash ? slash + 1 : o->path, ".") ||
	    !strcmp(slash ? slash + 1 : o->path, ".."))
		return refuse_type(o, S_IFDIR);
	if (!slash)
		dir = strdup(".");
	else if (slash == o->path)
		dir = strdup("/");
	else
		dir = strndup(o->path, (size_t)(slash - o->path));
	o->base = strdup(slash ? slash + 1 : o->path);
	if (!dir || !o->base) {
		free(dir);
		snag_set_error("out of memory");
		return -ENOMEM;
	}
	o->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (o->dir_fd < 0) {
		err = -errno;
		snag_set_error(
		    "cannot write the %s to '%s': %s: %s (choose a writable path for -o)", o->what,
		    o->path, dir, strerror(-err));
		free(dir);
		return err;
	}
	*dir_out = dir;
	return 0;
}

/* A character device or FIFO at o->base (st: as lstat saw it), opened and written in place. */
static int open_in_place(struct outfile *o, const struct stat *st)
{
	struct stat now;
	int fd, err, flags;

	/* O_NONBLOCK: a FIFO with no reader fails with ENXIO instead of waiting for one. */
	fd = openat(o->dir_fd, o->base, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (err == -ENXIO && S_ISFIFO(st->st_mode))
			snag_set_error("cannot write the %s to '%s': it is a FIFO with no reader "
				       "(start its reader first, or choose another path for -o)",
				       o->what, o->path);
		else if (err == -ELOOP)
			goto link;
		else
			snag_set_error("cannot write the %s to '%s': %s", o->what, o->path,
				       strerror(-err));
		return err;
	}
	if (fstat(fd, &now)) {
		err = -errno;
		close(fd);
		snag_set_error("cannot write the %s to '%s': %s", o->what, o->path, strerror(-err));
		return err;
	}
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino ||
	    (!S_ISCHR(now.st_mode) && !S_ISFIFO(now.st_mode))) {
		close(fd);
		snag_set_error("cannot write the %s to '%s': it was replaced while snag opened it "
			       "(check who else writes there, or choose another path for -o)",
			       o->what, o->path);
		return -EAGAIN;
	}
	/* Writes block as usual from here: the report is written when the reader reads it. */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	o->direct = 1;
	return open_stream(o, fd);
link:
	snag_set_error("cannot write the %s to '%s': it is a symbolic link, which snag does not "
		       "write through (give the path it points to, or another path for -o)",
		       o->what, o->path);
	return -ELOOP;
}

/* Random letters and digits for a temporary name (not a secret: O_EXCL makes it safe). */
static void random_suffix(char *s, size_t n)
{
	static const char chars[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static unsigned counter;
	unsigned char r[16];
	struct timespec ts;
	uint64_t x;

	if (n > sizeof(r))
		n = sizeof(r);
	if (getrandom(r, n, GRND_NONBLOCK) != (ssize_t)n) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^ ++counter;

		for (size_t i = 0; i < n;
		     i++, x = x * 6364136223846793005ull + 1442695040888963407ull)
			r[i] = (unsigned char)(x >> 56);
	}
	for (size_t i = 0; i < n; i++)
		s[i] = chars[r[i] % (sizeof(chars) - 1)];
	s[n] = '\0';
}

/*
 * The temporary file next to o->base: created new (O_EXCL, no link followed),
 * with mode 0666 from which the kernel takes the umask (or a default ACL).
 */
static int open_temporary(struct outfile *o, const char *dir)
{
	char suffix[7];
	int fd = -1, err = -EEXIST;

	for (int i = 0; i < TMP_ATTEMPTS && err == -EEXIST; i++) {
		free(o->tmp_name);
		random_suffix(suffix, 6);
		if (asprintf(&o->tmp_name, "%s.snag-%s", o->base, suffix) < 0) {
			o->tmp_name = NULL;
			snag_set_error("out of memory");
			return -ENOMEM;
		}
		fd = openat(o->dir_fd, o->tmp_name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0666);
		err = fd < 0 ? -errno : 0;
	}
	if (err) {
		free(o->tmp_name);
		o->tmp_name = NULL;
		snag_set_error(
		    "cannot write the %s to '%s': %s: %s (choose a writable path for -o)", o->what,
		    o->path, dir, strerror(-err));
		return err;
	}
	err = open_stream(o, fd);
	if (err)
		outfile__discard(o);
	return err;
}

int outfile__open(struct outfile *o, const char *path, const char *what)
{
	struct stat st, dst;
	char *dir = NULL;
	int n, err;

	*o = (struct outfile){.path = path, .what = what, .dir_fd = -1};
	if (!path) {
		o->f = stdout;
		return 0;
	}
	n = std_alias_fd(path);
	if (n >= 0)
		return open_alias(o, n);
	err = open_dir(o, &dir);
	if (err)
		goto cleanup;
	if (fstat(o->dir_fd, &dst)) {
		err = -errno;
		snag_set_error("cannot write the %s to '%s': %s", what, path, strerror(-err));
		goto cleanup;
	}
	if (fstatat(o->dir_fd, o->base, &st, AT_SYMLINK_NOFOLLOW)) {
		err = -errno;
		if (err == -ENOENT) {
			err = open_temporary(o, dir);
		} else {
			snag_set_error("cannot write the %s to '%s': %s (choose a writable path "
				       "for -o)",
				       what, path, strerror(-err));
		}
		goto cleanup;
	}
	if (S_ISLNK(st.st_mode)) {
		snag_set_error("cannot write the %s to '%s': it is a symbolic link, which snag "
			       "does not write through (give the path it points to, or another "
			       "path for -o)",
			       what, path);
		err = -ELOOP;
		goto cleanup;
	}
	if (shared_dir(&dst) && st.st_uid != geteuid() && st.st_uid != dst.st_uid) {
		snag_set_error("cannot write the %s to '%s': another user (uid %u) owns it, in the "
			       "shared directory %s (remove it, or choose another path for -o)",
			       what, path, (unsigned)st.st_uid, dir);
		err = -EPERM;
		goto cleanup;
	}
	if (S_ISREG(st.st_mode))
		err = open_temporary(o, dir);
	else if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
		err = open_in_place(o, &st);
	else
		err = refuse_type(o, st.st_mode);
cleanup:
	free(dir);
	if (err)
		outfile__discard(o);
	return err;
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
	if (!o->tmp_name) {
		if (err)
			snag_set_error("cannot write the %s: %s", o->what, strerror(-err));
		outfile__discard(o);
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
	/* rename(2) replaces whatever is at path (a link too) and never follows it. */
	if (!err && renameat(o->dir_fd, o->tmp_name, o->dir_fd, o->base))
		err = -errno;
	if (err)
		snag_set_error("cannot write the %s to '%s': %s", o->what, o->path, strerror(-err));
	else {
		free(o->tmp_name);
		o->tmp_name = NULL;
	}
	outfile__discard(o);
	return err;
}

void outfile__discard(struct outfile *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	o->f = NULL;
	o->direct = 0;
	if (o->tmp_name)
		unlinkat(o->dir_fd, o->tmp_name, 0);
	free(o->tmp_name);
	o->tmp_name = NULL;
	/* dir_fd is only meaningful with base set: a zeroed struct holds nothing. */
	if (o->base && o->dir_fd >= 0)
		close(o->dir_fd);
	o->dir_fd = -1;
	free(o->base);
	o->base = NULL;
}
