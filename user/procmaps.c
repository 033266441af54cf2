/* Executable file mappings of a process (/proc/PID/maps), and finding a library by name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "elfsym.h"
#include "errors.h"
#include "procmaps.h"

#define DELETED_MARK	   " (deleted)"
#define CONF_INCLUDE_MAX   8
#define DEFAULT_LD_SO_CONF "/etc/ld.so.conf"

#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#endif

/* A growable list of owned strings. */
struct strv {
	char **v;
	size_t n;
	size_t cap;
};

static int strv__push(struct strv *sv, const char *s)
{
	char *copy;

	if (sv->n == sv->cap) {
		size_t ncap = sv->cap ? sv->cap * 2 : 16;
		char **nv = realloc(sv->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		sv->v = nv;
		sv->cap = ncap;
	}
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	sv->v[sv->n++] = copy;
	return 0;
}

void libsearch__free_dirs(char **dirs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
}

static void strv__free(struct strv *sv)
{
	libsearch__free_dirs(sv->v, sv->n);
	memset(sv, 0, sizeof(*sv));
}

static int procmaps__push(struct procmaps *m, size_t *cap, const struct procmap *pm)
{
	if (m->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct procmap *nv = realloc(m->maps, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		m->maps = nv;
		*cap = ncap;
	}
	m->maps[m->n] = *pm;
	m->maps[m->n].path = strdup(pm->path);
	if (!m->maps[m->n].path)
		return -ENOMEM;
	m->n++;
	return 0;
}

/*
 * Parse one maps line into pm (path points into line). Returns 1 to keep, 2
 * for the executable [vdso], 0 to skip, -EINVAL.
 */
/*
 * Whether line starts "START-END PERM " with a permission field that is not executable:
 * most lines of a process with many threads (each thread's stack and guard page), which
 * need no further parsing. 20,000 of them took a quarter of snag's time at 10,000 threads.
 */
static bool not_executable(const char *line)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strspn(line, hex);

	if (!n || line[n] != '-')
		return false;
	line += n + 1;
	n = strspn(line, hex);
	if (!n || line[n] != ' ')
		return false;
	line += n + 1;
	return strnlen(line, 5) == 5 && line[4] == ' ' && line[2] == '-';
}

static int parse_line(char *line, struct procmap *pm)
{
	char perms[5];
	size_t len;
	int path_at = -1;

	if (not_executable(line))
		return 0;
	if (sscanf(line,
		   "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %" SCNx32 ":%" SCNx32 " %" SCNu64 "%n",
		   &pm->start, &pm->end, perms, &pm->offset, &pm->dev_major, &pm->dev_minor,
		   &pm->inode, &path_at) != 7 ||
	    path_at < 0 || strlen(perms) != 4)
		return -EINVAL;
	pm->path = line + path_at;
	pm->path += strspn(pm->path, " \t");
	len = strcspn(pm->path, "\n");
	pm->path[len] = '\0';
	pm->deleted = len >= strlen(DELETED_MARK) &&
		      !strcmp(pm->path + len - strlen(DELETED_MARK), DELETED_MARK);
	if (pm->deleted)
		pm->path[len - strlen(DELETED_MARK)] = '\0';
	if (perms[2] != 'x')
		return 0;
	if (!pm->inode && !strcmp(pm->path, "[vdso]"))
		return 2;
	return pm->inode && pm->path[0] == '/';
}

int procmaps__parse(FILE *f, struct procmaps *out)
{
	char *line = NULL;
	size_t line_cap = 0, cap = 0, lineno = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (getline(&line, &line_cap, f) > 0) {
		struct procmap pm;
		int keep;

		lineno++;
		if (line[strspn(line, " \t\n")] == '\0')
			continue;
		keep = parse_line(line, &pm);
		if (keep < 0) {
			snag_set_error(
			    "maps line %zu is malformed: '%.60s' (expected the format of "
			    "/proc/PID/maps)",
			    lineno, strtok(line, "\n"));
			err = keep;
			goto cleanup;
		}
		if (keep == 2) {
			out->vdso_start = pm.start;
			out->vdso_end = pm.end;
		} else if (keep) {
			err = procmaps__push(out, &cap, &pm);
			if (err)
				goto cleanup;
		}
	}
cleanup:
	free(line);
	if (err)
		procmaps__free(out);
	return err;
}

int procmaps__load_pid_at(const char *proc_root, int pid, struct procmaps *out)
{
	char path[PATH_MAX];
	FILE *f = NULL;
	int err, n;

	memset(out, 0, sizeof(*out));
	n = snprintf(path, sizeof(path), "%s/%d/maps", proc_root, pid);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snag_set_error("cannot read the maps of pid %d: %s is too long", pid, proc_root);
		return -ENAMETOOLONG;
	}
	if (pid > 0)
		f = fopen(path, "re");
	if (!f) {
		err = pid > 0 ? -errno : -ENOENT;
		if (err == -ENOENT || err == -ESRCH)
			snag_set_error("no process with pid %d (is it still running? see 'ps')",
				       pid);
		else
			snag_set_error("cannot read %s: %s (run snag as root)", path,
				       strerror(-err));
		return err == -ESRCH ? -ENOENT : err;
	}
	err = procmaps__parse(f, out);
	fclose(f);
	return err;
}

int procmaps__load_pid(int pid, struct procmaps *out)
{
	return procmaps__load_pid_at("/proc", pid, out);
}

int procmaps__file_path_at(const char *proc_root, int pid, const struct procmap *pm, char *buf,
			   size_t len)
{
	int n;

	if (pm->deleted)
		n = snprintf(buf, len, "%s/%d/map_files/%" PRIx64 "-%" PRIx64, proc_root, pid,
			     pm->start, pm->end);
	else
		n = snprintf(buf, len, "%s/%d/root%s", proc_root, pid, pm->path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int procmaps__file_path(int pid, const struct procmap *pm, char *buf, size_t len)
{
	return procmaps__file_path_at("/proc", pid, pm, buf, len);
}

/* Open path for reading whatever it is, without blocking or following a last link. */
static int open_untrusted(const char *path, int extra_flags, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | extra_flags);

	if (fd < 0)
		return -errno;
	if (fstat(fd, st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOEXEC;
	}
	return fd;
}

/*
 * Whether st is the file pm maps: the same inode on the same device. Where
 * maps and stat(2) name devices differently (btrfs subvolumes and overlayfs
 * give stat an anonymous device, major 0), the inode must still match.
 */
static bool same_file(const struct stat *st, const struct procmap *pm)
{
	if (st->st_ino != pm->inode)
		return false;
	if (major(st->st_dev) == pm->dev_major && minor(st->st_dev) == pm->dev_minor)
		return true;
	return major(st->st_dev) == 0 && pm->dev_major == 0;
}

int procmaps__open_file(const char *proc_root, int pid, const struct procmap *pm, struct stat *st)
{
	struct procmap by_mapping = *pm;
	char path[PATH_MAX];
	int fd;

	/* The mapping itself: the exact file, no path resolved in the process's tree. */
	by_mapping.deleted = true;
	if (procmaps__file_path_at(proc_root, pid, &by_mapping, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = open_untrusted(path, 0, st);
	if (fd >= 0 || pm->deleted)
		return fd;
	/* No map_files (not root, or a tree without it): the path, if it is still that file. */
	if (procmaps__file_path_at(proc_root, pid, pm, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = open_untrusted(path, O_NOFOLLOW, st);
	if (fd < 0)
		return fd == -ELOOP ? -ENOEXEC : fd;
	if (!same_file(st, pm)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

void procmaps__free(struct procmaps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->maps[i].path);
	free(m->maps);
	m->maps = NULL;
	m->n = 0;
}

/* Whether s contains ".so" followed by the end or '.'. */
static bool has_so_suffix(const char *s)
{
	for (const char *p = strstr(s, ".so"); p; p = strstr(p + 1, ".so"))
		if (p[3] == '\0' || p[3] == '.')
			return true;
	return false;
}

bool procmaps__lib_matches(const char *basename, const char *name)
{
	size_t n = strlen(name);
	const char *rest = basename + n;

	if (!n || strncmp(basename, name, n))
		return false;
	if (!*rest)
		return true;
	if (!strncmp(rest, ".so", 3) && (rest[3] == '\0' || rest[3] == '.'))
		return true;
	if (rest[0] == '-' && has_so_suffix(rest))
		return true;
	return n >= 3 && !strcmp(name + n - 3, ".so") && rest[0] == '.';
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

const struct procmap *procmaps__find_lib(const struct procmaps *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (procmaps__lib_matches(base_name(m->maps[i].path), name))
			return &m->maps[i];
	return NULL;
}

/* Trim leading and trailing whitespace in place. */
static char *trim(char *s)
{
	char *end;

	s += strspn(s, " \t\r\n");
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]))
		*--end = '\0';
	return s;
}

static int conf_include(const char *conf, const char *pattern, int depth, struct strv *dirs);

/* Read one ld.so.conf file into dirs. Returns 0, -ENOENT if it cannot be opened, -ENOMEM. */
static int conf_read(const char *conf, int depth, struct strv *dirs)
{
	char *line = NULL;
	size_t cap = 0;
	int err = 0;
	FILE *f;

	f = fopen(conf, "re");
	if (!f)
		return -ENOENT;
	while (!err && getline(&line, &cap, f) > 0) {
		char *s;

		line[strcspn(line, "#")] = '\0';
		s = trim(line);
		if (!*s)
			continue;
		if (!strncmp(s, "include", 7) && (s[7] == ' ' || s[7] == '\t')) {
			err = conf_include(conf, trim(s + 7), depth, dirs);
			continue;
		}
		if (!strncmp(s, "hwcap", 5) && (s[5] == ' ' || s[5] == '\t'))
			continue;
		for (size_t len = strlen(s); len > 1 && s[len - 1] == '/'; len--)
			s[len - 1] = '\0';
		err = strv__push(dirs, s);
	}
	free(line);
	fclose(f);
	return err;
}

/* Expand an include glob (relative to conf's directory) and read each file. */
static int conf_include(const char *conf, const char *pattern, int depth, struct strv *dirs)
{
	char full[4096];
	glob_t g;
	int err = 0;

	if (depth >= CONF_INCLUDE_MAX || !*pattern)
		return 0;
	if (pattern[0] == '/')
		snprintf(full, sizeof(full), "%s", pattern);
	else
		snprintf(full, sizeof(full), "%.*s%s", (int)(base_name(conf) - conf), conf,
			 pattern);
	if (glob(full, 0, NULL, &g))
		return 0; /* no match: nothing to include */
	for (size_t i = 0; !err && i < g.gl_pathc; i++) {
		err = conf_read(g.gl_pathv[i], depth + 1, dirs);
		if (err == -ENOENT)
			err = 0;
	}
	globfree(&g);
	return err;
}

int libsearch__conf_dirs(const char *ld_so_conf, char ***dirs, size_t *n)
{
	struct strv sv = {0};
	int err;

	*dirs = NULL;
	*n = 0;
	err = conf_read(ld_so_conf, 0, &sv);
	if (err) {
		strv__free(&sv);
		return err;
	}
	*dirs = sv.v;
	*n = sv.n;
	return 0;
}

/* Whether candidate beats best: shorter name, then alphabetically first. */
static bool better_name(const char *candidate, const char *best)
{
	size_t lc = strlen(candidate), lb;

	if (!best)
		return true;
	lb = strlen(best);
	return lc != lb ? lc < lb : strcmp(candidate, best) < 0;
}

/* Look for the library in one directory. Returns 0 with *path set, -ENOENT, -ENOMEM. */
static int find_in_dir(const char *dir, const char *name, char **path)
{
	char full[4096], *best = NULL;
	struct dirent *de;
	int err = -ENOENT;
	DIR *d;

	snprintf(full, sizeof(full), "%s/%s", dir, name);
	if (!elfsym__check_native(full)) {
		*path = strdup(full);
		return *path ? 0 : -ENOMEM;
	}
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		if (!procmaps__lib_matches(de->d_name, name) || !better_name(de->d_name, best))
			continue;
		snprintf(full, sizeof(full), "%s/%s", dir, de->d_name);
		if (elfsym__check_native(full))
			continue;
		free(best);
		best = strdup(de->d_name);
		if (!best) {
			err = -ENOMEM;
			break;
		}
	}
	closedir(d);
	if (!best)
		return err;
	snprintf(full, sizeof(full), "%s/%s", dir, best);
	free(best);
	*path = strdup(full);
	return *path ? 0 : -ENOMEM;
}

/* Add the entries of a ':'/';' separated list, skipping empty ones. */
static int push_path_list(struct strv *sv, const char *list)
{
	char *copy, *save = NULL;
	int err = 0;

	if (!list)
		return 0;
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ":;", &save); tok && !err;
	     tok = strtok_r(NULL, ":;", &save))
		err = strv__push(sv, tok);
	free(copy);
	return err;
}

int libsearch__find_in(const char *name, const char *ld_library_path, const char *ld_so_conf,
		       const char *const *dirs, char **path)
{
	struct strv sv = {0};
	int err;

	*path = NULL;
	err = push_path_list(&sv, ld_library_path);
	if (!err && ld_so_conf)
		err = conf_read(ld_so_conf, 0, &sv);
	if (err == -ENOENT)
		err = 0; /* no ld.so.conf: the other directories still count */
	for (size_t i = 0; !err && dirs && dirs[i]; i++)
		err = strv__push(&sv, dirs[i]);
	if (err)
		goto cleanup;
	err = -ENOENT;
	for (size_t i = 0; err == -ENOENT && i < sv.n; i++)
		err = find_in_dir(sv.v[i], name, path);
cleanup:
	strv__free(&sv);
	return err;
}

int libsearch__find(const char *name, char **path)
{
	static const char *const dirs[] = {
#ifdef MULTIARCH
	    "/lib/" MULTIARCH, "/usr/lib/" MULTIARCH,
#endif
	    "/lib64",	       "/usr/lib64",	      "/lib", "/usr/lib", NULL,
	};

	return libsearch__find_in(name, getenv("LD_LIBRARY_PATH"), DEFAULT_LD_SO_CONF, dirs, path);
}
