/* --cgroup: a cgroup v2 directory as the id and depth the BPF filter compares. */
#ifndef SNAG_CGROUP_H
#define SNAG_CGROUP_H

#include <stdint.h>

/*
 * Resolve path, a cgroup v2 directory, to its cgroup id (the directory's
 * inode number, which is the kernfs node id the kernel reports) and its depth
 * below the cgroup2 mount root (the root is depth 0). Returns 0, or -ENOENT
 * (no such directory) / -EINVAL (not cgroup v2) with snag_set_error().
 */
int cgroup__resolve(const char *path, uint64_t *id, uint32_t *level);

#endif
