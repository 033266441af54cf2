/* Kernel and user addresses to function names: kallsyms, per-process map snapshots, ELF tables by
 * file identity. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/openat2.h>
#include <sys/auxv.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <libiberty/demangle.h>
#include "elfsym.h"
#include "errors.h"
#include "ksyms.h"
#include "perfmap.h"
#include "procmaps.h"
#include "symbolizer.h"

#define DEFAULT_PROC_ROOT "/proc"
#define DEFAULT_KALLSYMS  "/proc/kallsyms"
#define NAME_MAX_LEN	  512 /* "module+0xOFFSET" names longer than this are cut */

/* What a lookup returns when memory runs out: never NULL, never a bare address. */
static const char oom_name[] = "[unknown]";

/* Chained hash table of intrusive entries: each entry type starts with a struct hnode. */
struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **buckets;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/* The first entry of hash's chain (compare e->hash and the key along e->next). */
static struct hnode *htab__chain(const struct htab *t, uint64_t hash)
{
	return t->cap ? t->buckets[hash & (t->cap - 1)] : NULL;
}

/* Insert e under hash; the table grows to keep chains short. Returns 0 or -ENOMEM. */
static int htab__add(struct htab *t, struct hnode *e, uint64_t hash)
{
	if (t->n >= t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct hnode **nb = calloc(ncap, sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		for (size_t i = 0; i < t->cap; i++) {
			for (struct hnode *x = t->buckets[i], *next; x; x = next) {
				next = x->next;
				x->next = nb[x->hash & (ncap - 1)];
				nb[x->hash & (ncap - 1)] = x;
			}
		}
		free(t->buckets);
		t->buckets = nb;
		t->cap = ncap;
	}
	e->hash = hash;
	e->next = t->buckets[hash & (t->cap - 1)];
	t->buckets[hash & (t->cap - 1)] = e;
	t->n++;
	return 0;
}

/* Free every entry with free_entry, then the table. */
static void htab__free(struct htab *t, void (*free_entry)(struct hnode *))
{
	for (size_t i = 0; i < t->cap; i++) {
		for (struct hnode *x = t->buckets[i], *next; x; x = next) {
			next = x->next;
			free_entry(x);
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33; /* murmur3's finalizer */
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/*
 * One ELF file, shared by every process that maps it. Its descriptor stays
 * open until the symbols are loaded (on the first lookup), so the file can
 * be read after its processes exit or it is deleted.
 */
struct symfile {
	struct symfile *next; /* all files, for freeing */
	char *path;	      /* as the first process to map it names it (messages) */
	int fd;		      /* open until loaded, then -1 */
	struct elfsym_tab *tab;
	bool failed; /* not loadable: names fall back to module+offset */
};

/* A name for a file: its build id, or its inode and change time. Several keys may name one file. */
struct filekey {
	struct hnode node;
	struct symfile *file;
	char key[];
};

/* One executable mapping of a snapshot. */
struct snap_map {
	uint64_t start, end, offset;
	const char *base;     /* file basename (interned) */
	struct symfile *file; /* NULL when the file could not be opened */
};

/* The executable mappings of (pid, gen) when it was first seen. */
struct snapshot {
	struct hnode node;
	int pid;
	uint32_t gen;
	int err;	       /* 0, or why there are no mappings (-ESRCH: the process was gone) */
	struct snap_map *maps; /* sorted by start */
	size_t n;
	uint64_t refreshed_ns; /* CLOCK_MONOTONIC of the last refresh, 0 before any */
	unsigned refreshes;
	/* For its JIT map: who it is (from /proc/PID/status while it ran), and the map. */
	bool ids_known;
	uid_t uid;   /* effective uid */
	uid_t fsuid; /* file-system uid (the effective one unless it set another): what the files it
			creates belong to, so the owner its perf map must have */
	gid_t fsgid; /* its perf map is opened with its file-system ids, as it would open it */
	int nspid;   /* its pid in its own pid namespace (the PID in the file name) */
	bool jit_tried;
	bool jit_refused;    /* the last map found was not a regular file of its user */
	uint64_t jit_ns;     /* CLOCK_MONOTONIC of the last load attempt */
	uint64_t jit_gap_ns; /* before the next load: doubles with each, up to JIT_RELOAD_MAX_NS */
	off_t jit_size;	     /* of the file when loaded */
	struct perfmap jit;
};

/*
 * A refresh re-reads the whole maps file (20,000 lines for a process with
 * 10,000 threads: 12 ms), and every new stack of a process asks for one: the
 * first refreshes of a snapshot (libraries the loader maps right after exec)
 * are done at once, later ones at most every 10 s; symbolizer__refresh_live()
 * catches up on what was mapped since, before stacks are named.
 */
#define REFRESH_FREE	   2
#define REFRESH_MIN_GAP_NS 10000000000ull
/*
 * A JIT map that lacks an address is read again once it has grown: at first
 * a second after the last read, then twice as long after each read, up to a
 * minute (a map that keeps growing is not read every second), and never
 * again once it was cut at a limit.
 */
#define JIT_RELOAD_GAP_NS 1000000000ull
#define JIT_RELOAD_MAX_NS 64000000000ull
/*
 * All JIT maps together hold at most this (each map also has its own
 * perfmap limits): tracing the whole machine, many JIT processes must not
 * add up to gigabytes.
 */
#define JIT_TOTAL_SYMS	     (1u << 20)
#define JIT_TOTAL_NAME_BYTES (64u << 20)

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The cached result of looking up a file offset: a function name, or NULL for none. */
struct name_ent {
	struct hnode node;
	const struct symfile *file;
	uint64_t off;
	const char *name;
};

struct istr {
	struct hnode node;
	char s[];
};

struct symbolizer {
	char *kallsyms_path;
	char *proc_root;
	struct ksyms *ksyms;
	int ksyms_err;	  /* the error of the one attempt to load them */
	bool ksyms_tried; /* loaded once, never retried */
	struct symfile *files;
	struct htab file_keys; /* struct filekey */
	struct htab snaps;     /* struct snapshot by (pid, gen) */
	struct htab names;     /* struct name_ent by (file, offset) */
	struct htab strs;      /* struct istr: every string handed out that is not a table's */
	struct symfile *vdso;  /* snag's own [vdso] image, the one every 64-bit process maps */
	uint64_t vdso_len;     /* the length of its mapping */
	bool vdso_tried;
	size_t jit_syms;       /* held by all loaded JIT maps, against JIT_TOTAL_SYMS */
	size_t jit_name_bytes; /* and JIT_TOTAL_NAME_BYTES */
};

/* The interned copy of str, owned by s. Returns NULL on allocation failure. */
static const char *intern(struct symbolizer *s, const char *str)
{
	uint64_t h = hash_str(str);
	size_t len = strlen(str);
	struct istr *e;

	for (struct hnode *x = htab__chain(&s->strs, h); x; x = x->next) {
		e = (struct istr *)x;
		if (x->hash == h && !strcmp(e->s, str))
			return e->s;
	}
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->s, str, len + 1);
	if (htab__add(&s->strs, &e->node, h)) {
		free(e);
		return NULL;
	}
	return e->s;
}

static const char *intern_fmt(struct symbolizer *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* intern() of a formatted string (cut at NAME_MAX_LEN); never NULL. */
static const char *intern_fmt(struct symbolizer *s, const char *fmt, ...)
{
	char buf[NAME_MAX_LEN];
	const char *r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r = intern(s, buf);
	return r ? r : oom_name;
}

static void free_filekey(struct hnode *x)
{
	free(x);
}

static void free_snapshot(struct hnode *x)
{
	struct snapshot *snap = (struct snapshot *)x;

	free(snap->maps);
	perfmap__free(&snap->jit);
	free(snap);
}

static void free_plain(struct hnode *x)
{
	free(x);
}

struct symbolizer *symbolizer__new(const struct symbolizer_opts *o)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		goto nomem;
	s->kallsyms_path = strdup(o && o->kallsyms_path ? o->kallsyms_path : DEFAULT_KALLSYMS);
	s->proc_root = strdup(o && o->proc_root ? o->proc_root : DEFAULT_PROC_ROOT);
	if (!s->kallsyms_path || !s->proc_root)
		goto nomem;
	return s;
nomem:
	symbolizer__free(s);
	snag_set_error("out of memory creating the symbolizer");
	errno = ENOMEM;
	return NULL;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	htab__free(&s->snaps, free_snapshot);
	htab__free(&s->names, free_plain);
	htab__free(&s->file_keys, free_filekey);
	htab__free(&s->strs, free_plain);
	for (struct symfile *f = s->files, *next; f; f = next) {
		next = f->next;
		if (f->fd >= 0)
			close(f->fd);
		elfsym__free(f->tab);
		free(f->path);
		free(f);
	}
	ksyms__free(s->ksyms);
	free(s->kallsyms_path);
	free(s->proc_root);
	free(s);
}

/* Kernel ---------------------------------------------------------------------- */

int symbolizer__load_kernel(struct symbolizer *s)
{
	if (s->ksyms_tried) {
		if (s->ksyms_err)
			snag_set_error("kernel symbols are unavailable (%s)",
				       strerror(-s->ksyms_err));
		return s->ksyms_err;
	}
	s->ksyms_tried = true;
	s->ksyms = ksyms__load_file(s->kallsyms_path);
	s->ksyms_err = s->ksyms ? 0 : -errno;
	return s->ksyms_err;
}

const char *symbolizer__kernel(struct symbolizer *s, uint64_t addr)
{
	const struct ksym *sym;

	if (!s->ksyms_tried)
		symbolizer__load_kernel(s);
	sym = s->ksyms ? ksyms__lookup(s->ksyms, addr) : NULL;
	if (sym)
		return sym->name;
	return intern_fmt(s, "[kernel]+0x%" PRIx64, addr);
}

/* Files ------------------------------------------------------------------------ */

static struct symfile *filekey__find(const struct symbolizer *s, const char *key)
{
	uint64_t h = hash_str(key);

	for (struct hnode *x = htab__chain(&s->file_keys, h); x; x = x->next) {
		struct filekey *k = (struct filekey *)x;

		if (x->hash == h && !strcmp(k->key, key))
			return k->file;
	}
	return NULL;
}

static int filekey__add(struct symbolizer *s, const char *key, struct symfile *f)
{
	size_t len = strlen(key);
	struct filekey *k = malloc(sizeof(*k) + len + 1);

	if (!k)
		return -ENOMEM;
	k->file = f;
	memcpy(k->key, key, len + 1);
	if (htab__add(&s->file_keys, &k->node, hash_str(key))) {
		free(k);
		return -ENOMEM;
	}
	return 0;
}

/*
 * The file pm maps in pid, from the cache or opened now. Its identity is its
 * device, inode, size and mtime (checked first: no read needed) and, when
 * it has one, its build id plus size (so copies of one binary share a table,
 * while a stripped copy, which keeps the build id, does not). Returns NULL
 * with errno set when the file cannot be opened (ENOMEM included).
 */
static struct symfile *symfile__get(struct symbolizer *s, int pid, const struct procmap *pm)
{
	char ikey[128], bkey[ELFSYM_BUILD_ID_HEX + 32], id[ELFSYM_BUILD_ID_HEX], fdpath[64];
	struct symfile *f;
	struct stat st;
	int fd, err;

	/* map_files, or the path if it is still the mapped inode: never a FIFO or device. */
	fd = procmaps__open_file(s->proc_root, pid, pm, &st);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	snprintf(ikey, sizeof(ikey), "i:%llx:%llx:%lld:%lld.%09ld", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec);
	f = filekey__find(s, ikey);
	if (f)
		goto found;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	bkey[0] = '\0';
	if (!elfsym__build_id(fdpath, id, sizeof(id)) && id[0])
		snprintf(bkey, sizeof(bkey), "b:%s:%lld", id, (long long)st.st_size);
	f = bkey[0] ? filekey__find(s, bkey) : NULL;
	if (f) {
		if (filekey__add(s, ikey, f))
			goto nomem;
		goto found;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		goto nomem;
	f->path = strdup(pm->path);
	if (!f->path) {
		free(f);
		goto nomem;
	}
	f->fd = fd;
	f->next = s->files;
	s->files = f; /* owned by s from here, even if a key cannot be added */
	err = filekey__add(s, ikey, f);
	if (!err && bkey[0])
		err = filekey__add(s, bkey, f);
	if (err) {
		errno = ENOMEM;
		return NULL;
	}
	return f;
found:
	close(fd);
	return f;
nomem:
	close(fd);
	errno = ENOMEM;
	return NULL;
}

/* The symbol table of f, loaded on first use; NULL when the file has none we can read. */
static const struct elfsym_tab *symfile__tab(struct symfile *f)
{
	struct elfsym_opts o = {.display_path = f->path};
	char fdpath[64];

	if (f->tab || f->failed)
		return f->tab;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", f->fd);
	f->tab = elfsym__load(fdpath, &o);
	if (!f->tab && errno == ENOMEM)
		return NULL; /* try again next time */
	f->failed = !f->tab;
	close(f->fd);
	f->fd = -1;
	return f->tab;
}

/* Snapshots --------------------------------------------------------------------- */

static uint64_t snap_hash(int pid, uint32_t gen)
{
	return hash_u64(((uint64_t)(uint32_t)pid << 32) | gen);
}

static struct snapshot *snapshot__find(const struct symbolizer *s, int pid, uint32_t gen)
{
	uint64_t h = snap_hash(pid, gen);

	for (struct hnode *x = htab__chain(&s->snaps, h); x; x = x->next) {
		struct snapshot *snap = (struct snapshot *)x;

		if (x->hash == h && snap->pid == pid && snap->gen == gen)
			return snap;
	}
	return NULL;
}

static int cmp_snap_map(const void *a, const void *b)
{
	const struct snap_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * The symbol file for a [vdso] mapping of len bytes, or NULL. The kernel maps
 * one vdso image into every 64-bit process, the same one it maps into snag,
 * so snag's own copy (put in a memfd, to be read like any ELF file) names
 * the functions of all of them: clock_gettime and gettimeofday run there, not
 * in libc. A mapping of another length is another image (a 32-bit process's)
 * and is left unnamed.
 */
static struct symfile *vdso_file(struct symbolizer *s, uint64_t len)
{
	uintptr_t image = getauxval(AT_SYSINFO_EHDR);
	struct procmaps self;
	struct symfile *f = NULL;
	int fd;

	if (s->vdso_tried)
		return s->vdso && s->vdso_len == len ? s->vdso : NULL;
	s->vdso_tried = true;
	if (!image || procmaps__load_pid(getpid(), &self))
		return NULL;
	if (self.vdso_start == image)
		s->vdso_len = self.vdso_end - self.vdso_start;
	procmaps__free(&self);
	fd = s->vdso_len ? memfd_create("snag-vdso", MFD_CLOEXEC) : -1;
	if (fd >= 0 && write(fd, (const void *)image, s->vdso_len) == (ssize_t)s->vdso_len)
		f = calloc(1, sizeof(*f));
	if (f && (f->path = strdup("[vdso]"))) {
		f->fd = fd;
		f->next = s->files;
		s->files = f;
		s->vdso = f;
		return vdso_file(s, len);
	}
	free(f);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Fill snap from the process's maps now. Returns 0, -ENOMEM, or the error to remember. */
static int snapshot__read(struct symbolizer *s, struct snapshot *snap)
{
	struct procmaps pm;
	int err;

	err = procmaps__load_pid_at(s->proc_root, snap->pid, &pm);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	snap->maps = calloc(pm.n + 1, sizeof(*snap->maps)); /* + the vdso */
	if (!snap->maps) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < pm.n; i++) {
		const struct procmap *p = &pm.maps[i];
		struct snap_map *m = &snap->maps[snap->n];

		m->start = p->start;
		m->end = p->end;
		m->offset = p->offset;
		m->base = intern(s, base_name(p->path));
		m->file = symfile__get(s, snap->pid, p);
		if (!m->base || (!m->file && errno == ENOMEM)) {
			err = -ENOMEM;
			goto cleanup;
		}
		snap->n++;
	}
	if (pm.vdso_end && vdso_file(s, pm.vdso_end - pm.vdso_start)) {
		struct snap_map *m = &snap->maps[snap->n++];

		*m = (struct snap_map){pm.vdso_start, pm.vdso_end, 0, NULL, s->vdso};
		m->base = intern(s, "[vdso]");
		if (!m->base) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	qsort(snap->maps, snap->n, sizeof(*snap->maps), cmp_snap_map);
cleanup:
	procmaps__free(&pm);
	return err;
}

/* Who the process is, from its status file: its uids and gid, and innermost-namespace pid. */
static void snapshot__identity(const struct symbolizer *s, struct snapshot *snap)
{
	char path[PATH_MAX], *line = NULL;
	bool uid = false;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/status", s->proc_root, snap->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	snap->nspid = snap->pid; /* kernels without NSpid: one namespace */
	while (getline(&line, &cap, f) > 0) {
		unsigned long real, eff, saved, fs;
		int n;

		if ((n = sscanf(line, "Uid: %lu %lu %lu %lu", &real, &eff, &saved, &fs)) >= 2) {
			snap->uid = (uid_t)eff;
			snap->fsuid = (uid_t)(n == 4 ? fs : eff);
			uid = true;
		} else if ((n = sscanf(line, "Gid: %lu %lu %lu %lu", &real, &eff, &saved, &fs)) >=
			   2) {
			snap->fsgid = (gid_t)(n == 4 ? fs : eff);
		} else if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');

			snap->nspid = atoi(last ? last + 1 : line + 6);
		}
	}
	free(line);
	fclose(f);
	snap->ids_known = uid && snap->nspid > 0;
}

/*
 * Open path (relative to dirfd; with in_root, resolved as if dirfd were "/",
 * so the process's own links cannot lead out of its tree) the way the
 * process itself would: with its file-system uid and gid, so a file it could
 * not read (a root-only file bind-mounted there) is not read for it either.
 * Never follows a link as the last component, nor a magic link, never blocks.
 * Returns the descriptor or -errno.
 */
static int open_as_process(const struct snapshot *snap, int dirfd, const char *path, bool in_root)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
	    .resolve = RESOLVE_NO_MAGICLINKS | (in_root ? RESOLVE_IN_ROOT : 0),
	};
	int old_uid, old_gid, fd, err;

	/* setfsuid(2) is per thread (glibc does not broadcast it): only this open changes. */
	old_gid = setfsgid(snap->fsgid);
	old_uid = setfsuid(snap->fsuid);
	fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) /* kernels before 5.6: the last component at least */
		fd = openat(dirfd, path, (int)how.flags);
	err = fd < 0 ? -errno : 0;
	setfsuid((uid_t)old_uid);
	setfsgid((gid_t)old_gid);
	return err ? err : fd;
}

/* Whether an open or read error of a perf map that exists means snag refused it. */
static bool jit_refusal(int err)
{
	return err == -EPERM || err == -EACCES || err == -ELOOP || err == -EXDEV;
}

/*
 * (Re)load snap's JIT map: /tmp/perf-NSPID.map as the process sees /tmp, or,
 * once it is gone, snag's /tmp/perf-PID.map when it shares snag's pid
 * namespace. Read only if it is a regular file of the process's user, within
 * the perfmap limits and what the other maps leave of the JIT_TOTAL_* budget.
 * Kept as it was when the file has not changed size.
 */
static void jit_load(struct symbolizer *s, struct snapshot *snap)
{
	struct perfmap_limits lim = perfmap_default_limits;
	size_t other_syms = s->jit_syms - snap->jit.n;
	size_t other_bytes = s->jit_name_bytes - snap->jit.name_bytes;
	char path[PATH_MAX], name[64];
	int dirfd, fd = -ENOENT, err;
	struct perfmap m;
	struct stat st;
	off_t size = 0;

	snprintf(path, sizeof(path), "%s/%d/root", s->proc_root, snap->pid);
	snprintf(name, sizeof(name), "tmp/perf-%d.map", snap->nspid);
	dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd >= 0) {
		fd = open_as_process(snap, dirfd, name, true);
		close(dirfd);
	}
	if (fd == -ENOENT && snap->nspid == snap->pid) {
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", snap->pid);
		fd = open_as_process(snap, AT_FDCWD, path, false);
	}
	if (fd < 0) {
		snap->jit_refused = jit_refusal(fd);
		return;
	}
	if (!fstat(fd, &st) && snap->jit_tried && !snap->jit_refused &&
	    st.st_size == snap->jit_size) {
		close(fd);
		return;
	}
	if (lim.max_syms > JIT_TOTAL_SYMS - other_syms)
		lim.max_syms = JIT_TOTAL_SYMS - other_syms;
	if (lim.max_name_bytes > JIT_TOTAL_NAME_BYTES - other_bytes)
		lim.max_name_bytes = JIT_TOTAL_NAME_BYTES - other_bytes;
	err = perfmap__read_fd(fd, snap->fsuid, &lim, &m, &size);
	close(fd);
	snap->jit_refused = jit_refusal(err);
	if (err)
		return;
	s->jit_syms = other_syms + m.n;
	s->jit_name_bytes = other_bytes + m.name_bytes;
	perfmap__free(&snap->jit);
	snap->jit = m;
	snap->jit_size = size;
}

/*
 * The name a JIT compiler gave the code at addr in its perf map, or NULL.
 * The map is read on the first address that needs it, and again, once it has
 * grown, when it lacks one: at most every jit_gap_ns, which doubles with each
 * read (JIT_RELOAD_GAP_NS up to JIT_RELOAD_MAX_NS), and never once a limit
 * cut it (it would be cut at the same place).
 */
static const char *jit_name(struct symbolizer *s, struct snapshot *snap, uint64_t addr)
{
	const char *name = snap->jit_tried ? perfmap__lookup(&snap->jit, addr) : NULL;
	uint64_t now;

	if (name || !snap->ids_known)
		return name ? intern(s, name) : NULL;
	now = monotonic_ns();
	if (snap->jit_tried && (snap->jit.truncated || now - snap->jit_ns < snap->jit_gap_ns))
		return NULL;
	jit_load(s, snap);
	snap->jit_gap_ns = !snap->jit_tried			      ? JIT_RELOAD_GAP_NS
			   : snap->jit_gap_ns * 2 > JIT_RELOAD_MAX_NS ? JIT_RELOAD_MAX_NS
								      : snap->jit_gap_ns * 2;
	snap->jit_tried = true;
	snap->jit_ns = now;
	name = perfmap__lookup(&snap->jit, addr);
	return name ? intern(s, name) : NULL;
}

/* The snapshot of (pid, gen), taken now if there is none. NULL only when memory runs out. */
static struct snapshot *snapshot__get(struct symbolizer *s, int pid, uint32_t gen)
{
	struct snapshot *snap = snapshot__find(s, pid, gen);
	int err;

	if (snap)
		return snap;
	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return NULL;
	snap->pid = pid;
	snap->gen = gen;
	err = snapshot__read(s, snap);
	if (!err)
		snapshot__identity(s, snap);
	if (err == -ENOMEM || htab__add(&s->snaps, &snap->node, snap_hash(pid, gen))) {
		free_snapshot(&snap->node);
		return NULL;
	}
	if (err) {
		/* Remembered, so a gone process is not looked for again on every address. */
		free(snap->maps);
		snap->maps = NULL;
		snap->n = 0;
		snap->err = err;
	}
	return snap;
}

int symbolizer__snapshot(struct symbolizer *s, int pid, uint32_t gen)
{
	struct snapshot *snap = snapshot__get(s, pid, gen);

	if (!snap) {
		snag_set_error("out of memory reading the mappings of pid %d", pid);
		return -ENOMEM;
	}
	if (snap->err == -ESRCH)
		snag_set_error("no process with pid %d (is it still running? see 'ps')", pid);
	return snap->err;
}

static bool overlaps(const struct snap_map *m, const struct snapshot *snap)
{
	for (size_t i = 0; i < snap->n; i++)
		if (m->start < snap->maps[i].end && snap->maps[i].start < m->end)
			return true;
	return false;
}

static int refresh(struct symbolizer *s, int pid, uint32_t gen, bool force);

/*
 * A mapping of now whose file did not open (the process exiting: its maps
 * still list the files, its root is gone) keeps the file old saw at the same
 * place. Both are sorted by start.
 */
static void keep_files(struct snapshot *now, const struct snapshot *old)
{
	for (size_t i = 0, j = 0; i < now->n; i++) {
		struct snap_map *m = &now->maps[i];

		while (j < old->n && old->maps[j].start < m->start)
			j++;
		if (!m->file && j < old->n && old->maps[j].start == m->start &&
		    old->maps[j].end == m->end && old->maps[j].offset == m->offset &&
		    old->maps[j].base == m->base)
			m->file = old->maps[j].file;
	}
}

int symbolizer__refresh(struct symbolizer *s, int pid, uint32_t gen)
{
	return refresh(s, pid, gen, false);
}

/* Each process's newest generation, refreshed once more (the process may still be alive). */
int symbolizer__refresh_live(struct symbolizer *s)
{
	int err = 0;

	for (size_t i = 0; !err && i < s->snaps.cap; i++)
		for (struct hnode *x = s->snaps.buckets[i]; !err && x; x = x->next) {
			struct snapshot *snap = (struct snapshot *)x;

			if (!snap->err && !snapshot__find(s, snap->pid, snap->gen + 1))
				err = refresh(s, snap->pid, snap->gen, true);
		}
	return err;
}

static int refresh(struct symbolizer *s, int pid, uint32_t gen, bool force)
{
	struct snapshot *snap = snapshot__find(s, pid, gen), now = {.pid = pid, .gen = gen};
	struct snap_map *maps;
	size_t n;
	int err;

	uint64_t t = monotonic_ns();

	if (!snap)
		return symbolizer__snapshot(s, pid, gen);
	if (!force && snap->refreshes >= REFRESH_FREE &&
	    t - snap->refreshed_ns < REFRESH_MIN_GAP_NS)
		return 0;
	snap->refreshes++;
	snap->refreshed_ns = t;
	err = snapshot__read(s, &now);
	if (err || !now.n) {
		/* Gone, or exiting (an empty maps file): keep what was seen. */
		free(now.maps);
		return err == -ENOMEM ? err : 0;
	}
	keep_files(&now, snap);
	/* Today's mappings, plus earlier ones since unmapped (a dlclose'd library's stacks). */
	maps = realloc(now.maps, (now.n + snap->n) * sizeof(*maps));
	if (!maps) {
		free(now.maps);
		return -ENOMEM;
	}
	now.maps = maps;
	n = now.n;
	for (size_t i = 0; i < snap->n; i++)
		if (!overlaps(&snap->maps[i], &now))
			maps[n++] = snap->maps[i];
	qsort(maps, n, sizeof(*maps), cmp_snap_map);
	free(snap->maps);
	snap->maps = maps;
	snap->n = n;
	snap->err = 0;
	return 0;
}

/* User addresses ------------------------------------------------------------------ */

static const struct snap_map *snapshot__map(const struct snapshot *snap, uint64_t addr)
{
	size_t lo = 0, hi = snap->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (snap->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < snap->maps[lo - 1].end)
		return &snap->maps[lo - 1];
	return NULL;
}

/*
 * name itself, or its demangling (interned) when it is a mangled name: C++
 * (_Z), Rust's legacy mangling (_ZN...17h<hash>E, shown without the hash)
 * and Rust v0 (_R). libiberty's demangler, the one binutils uses, reads all three.
 */
static const char *demangle(struct symbolizer *s, const char *name)
{
	const char *r;
	char *d;

	if (strncmp(name, "_Z", 2) && strncmp(name, "_R", 2))
		return name;
	d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	if (!d)
		return name;
	r = intern(s, d);
	free(d);
	return r ? r : name;
}

/*
 * A vdso function by its __vdso_ name (as perf names it), not by the libc
 * name it shares with the libc function that calls it: clock_gettime calling
 * __vdso_clock_gettime, not clock_gettime calling clock_gettime.
 */
static const char *vdso_name(const struct elfsym_tab *tab, const struct elfsym *sym)
{
	size_t idx = (size_t)(sym - tab->syms);

	for (size_t i = 0; i < tab->n_names; i++)
		if (tab->names[i].sym == idx && !strncmp(tab->names[i].name, "__vdso_", 7))
			return tab->names[i].name;
	return sym->name;
}

/* The function name at file offset off of f, or NULL when it has none. Cached per (f, off). */
static const char *symfile__name(struct symbolizer *s, struct symfile *f, uint64_t off)
{
	uint64_t h = hash_u64((uint64_t)(uintptr_t)f ^ hash_u64(off));
	const struct elfsym_tab *tab;
	const struct elfsym *sym;
	struct name_ent *e;
	uint64_t vaddr;

	for (struct hnode *x = htab__chain(&s->names, h); x; x = x->next) {
		e = (struct name_ent *)x;
		if (x->hash == h && e->file == f && e->off == off)
			return e->name;
	}
	tab = symfile__tab(f);
	if (!tab && !f->failed)
		return NULL; /* out of memory: not cached */
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->file = f;
	e->off = off;
	if (tab && !elfsym__offset_to_addr(tab, off, &vaddr) && (sym = elfsym__lookup(tab, vaddr)))
		e->name = f == s->vdso ? vdso_name(tab, sym) : demangle(s, sym->name);
	if (htab__add(&s->names, &e->node, h)) {
		const char *name = e->name;

		free(e);
		return name;
	}
	return e->name;
}

const char *symbolizer__user(struct symbolizer *s, int pid, uint32_t gen, uint64_t addr)
{
	struct snapshot *snap = snapshot__get(s, pid, gen);
	const struct snap_map *m;
	const char *name;
	uint64_t off;

	if (!snap)
		return oom_name;
	m = snapshot__map(snap, addr);
	name = m && m->file ? symfile__name(s, m->file, addr - m->start + m->offset) : NULL;
	if (!name)
		name =
		    jit_name(s, snap, addr); /* JIT code: anonymous, or a memfd without symbols */
	if (name)
		return name;
	if (!m)
		return intern_fmt(s, "[unknown]+0x%" PRIx64, addr);
	off = addr - m->start + m->offset;
	return intern_fmt(s, "%s+0x%" PRIx64, m->base, off);
}

/* Files behind user addresses ------------------------------------------------------ */

struct symfile *symbolizer__user_file(struct symbolizer *s, int pid, uint32_t gen, uint64_t addr,
				      uint64_t *vaddr)
{
	const struct snapshot *snap = snapshot__get(s, pid, gen);
	const struct elfsym_tab *tab;
	const struct snap_map *m;

	m = snap ? snapshot__map(snap, addr) : NULL;
	if (!m || !m->file)
		return NULL;
	tab = symfile__tab(m->file);
	if (!tab || elfsym__offset_to_addr(tab, addr - m->start + m->offset, vaddr))
		return NULL;
	return m->file;
}

const char *symbolizer__file_path(const struct symfile *f)
{
	return f->path;
}

const struct elfsym_tab *symbolizer__file_symbols(struct symfile *f)
{
	return symfile__tab(f);
}

/* Counters ------------------------------------------------------------------------ */

void symbolizer__counters(const struct symbolizer *s, struct symbolizer_counters *c)
{
	*c = (struct symbolizer_counters){0};
	for (size_t i = 0; i < s->snaps.cap; i++)
		for (struct hnode *x = s->snaps.buckets[i]; x; x = x->next) {
			const struct snapshot *snap = (const struct snapshot *)x;

			c->jit_maps_refused += snap->jit_refused;
			c->jit_symbols_cut += snap->jit.cut;
			c->jit_names_cut += snap->jit.names_cut;
		}
	for (const struct symfile *f = s->files; f; f = f->next)
		if (f->tab)
			c->elf_symbols_cut += f->tab->cut;
}
