/* --cgroup: a cgroup v2 directory as the id and depth the BPF filter compares. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "cgroup.h"
#include "errors.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static int is_cgroup2(const char *path, struct stat *st)
{
	struct statfs fs;

	return !statfs(path, &fs) && fs.f_type == CGROUP2_SUPER_MAGIC && !stat(path, st) &&
	       S_ISDIR(st->st_mode);
}

int cgroup__resolve(const char *path, uint64_t *id, uint32_t *level)
{
	char real[PATH_MAX], *slash;
	struct stat st, up;
	uint32_t depth = 0;

	if (!realpath(path, real) || stat(real, &st)) {
		snag_set_error("no cgroup '%s': %s (give a cgroup v2 directory, e.g. "
			       "/sys/fs/cgroup/system.slice/nginx.service)",
			       path, strerror(errno));
		return -ENOENT;
	}
	if (!is_cgroup2(real, &st)) {
		snag_set_error("'%s' is not a cgroup v2 directory (cgroup v1 hierarchies are not "
			       "supported; on a hybrid system use the one under "
			       "/sys/fs/cgroup/unified)",
			       path);
		return -EINVAL;
	}
	*id = (uint64_t)st.st_ino;
	/* Depth: parents on the same cgroup2 mount, up to its root. */
	while ((slash = strrchr(real, '/')) && slash != real) {
		*slash = '\0';
		if (!is_cgroup2(real, &up) || up.st_dev != st.st_dev)
			break;
		depth++;
	}
	*level = depth;
	return 0;
}
