/* Unwind tables of many files in one row array, as the BPF maps hold them, and the mapping lists
 * of processes that point into it. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "procmaps.h"
#include "unwind_store.h"

void unwind_store__init(struct unwind_store *s, size_t max_rows)
{
	memset(s, 0, sizeof(*s));
	s->max_rows = max_rows < UINT32_MAX ? max_rows : UINT32_MAX;
}

void unwind_store__free(struct unwind_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i].loads);
	free(s->files);
	free(s->rows);
	memset(s, 0, sizeof(*s));
}

static struct unwind_store_file *find_file(struct unwind_store *s, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < s->n_files; i++)
		if (s->files[i].dev == dev && s->files[i].ino == ino)
			return &s->files[i];
	return NULL;
}

/* Append t's rows as a new file's slice, or record why it has none. Returns 0 or -ENOMEM. */
static int add_file(struct unwind_store *s, uint64_t dev, uint64_t ino, struct unwind_table *t,
		    int err)
{
	struct unwind_store_file *f, *files;

	files = realloc(s->files, (s->n_files + 1) * sizeof(*files));
	if (!files)
		return -ENOMEM;
	s->files = files;
	f = &files[s->n_files];
	*f = (struct unwind_store_file){.dev = dev, .ino = ino, .err = err};
	if (!err && t->n > s->max_rows - s->n_rows) {
		f->err = -ENOSPC;
		s->files_over_cap++;
	} else if (err) {
		s->files_failed++;
	}
	if (!err) {
		f->stats = t->stats;
		f->loads = t->loads; /* moved from t */
		f->n_loads = t->n_loads;
		t->loads = NULL;
		t->n_loads = 0;
	}
	if (!f->err) {
		if (s->n_rows + t->n > s->cap) {
			size_t cap = s->cap ? s->cap : 4096;
			struct snag_unwind_row *rows;

			while (cap < s->n_rows + t->n)
				cap *= 2;
			rows = realloc(s->rows, cap * sizeof(*rows));
			if (!rows) {
				free(f->loads);
				return -ENOMEM;
			}
			s->rows = rows;
			s->cap = cap;
		}
		memcpy(s->rows + s->n_rows, t->rows, t->n * sizeof(*t->rows));
		f->tab = (struct snag_unwind_tab){(__u32)s->n_rows, (__u32)t->n};
		s->n_rows += t->n;
	}
	s->n_files++;
	return 0;
}

/* The vdso's entry: snag's own image, built once. */
static const struct unwind_store_file *vdso_file(struct unwind_store *s)
{
	struct unwind_table t;
	int err;

	if (find_file(s, 0, 0))
		return find_file(s, 0, 0);
	err = unwind_table__build_vdso(&t);
	if (err == -ENOMEM || add_file(s, 0, 0, &t, err)) {
		unwind_table__free(&t);
		errno = ENOMEM;
		return NULL;
	}
	unwind_table__free(&t);
	return &s->files[s->n_files - 1];
}

const struct unwind_store_file *unwind_store__file(struct unwind_store *s, int pid,
						   const struct procmap *pm)
{
	uint64_t dev = makedev(pm->dev_major, pm->dev_minor);
	struct unwind_store_file *f = find_file(s, dev, pm->inode);
	struct unwind_table t;
	char path[PATH_MAX + 64];
	int err;

	if (f)
		return f;
	err = procmaps__file_path(pid, pm, path, sizeof(path));
	if (!err)
		err = unwind_table__build(path, &t);
	if (err == -ENOMEM || add_file(s, dev, pm->inode, &t, err)) {
		if (!err)
			unwind_table__free(&t);
		errno = ENOMEM;
		return NULL;
	}
	if (!err)
		unwind_table__free(&t);
	return &s->files[s->n_files - 1];
}

/* The bias of a mapping of f at start from file offset offset (0 when f has no table). */
static uint64_t mapping_bias(const struct unwind_store_file *f, uint64_t start, uint64_t offset)
{
	struct unwind_table t = {.loads = f->loads, .n_loads = f->n_loads};
	uint64_t bias = 0;

	unwind_table__bias(&t, start, offset, &bias);
	return bias;
}

static int cmp_mapping(const void *a, const void *b)
{
	const struct snag_unwind_mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int unwind_store__process(struct unwind_store *s, int pid, struct snag_unwind_proc *out)
{
	struct procmaps pm = {0};
	const struct unwind_store_file *f;
	int err;

	memset(out, 0, sizeof(*out));
	err = procmaps__load_pid(pid, &pm);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	for (size_t i = 0; i <= pm.n; i++) {
		struct snag_unwind_mapping *m;

		if (i == pm.n && !pm.vdso_end)
			break;
		if (out->n == SNAG_UNWIND_MAX_MAPS) {
			s->mappings_dropped++;
			continue;
		}
		f = i < pm.n ? unwind_store__file(s, pid, &pm.maps[i]) : vdso_file(s);
		if (!f) {
			err = -ENOMEM;
			goto cleanup;
		}
		m = &out->maps[out->n++];
		if (i < pm.n) {
			m->start = pm.maps[i].start;
			m->end = pm.maps[i].end;
			m->bias = mapping_bias(f, m->start, pm.maps[i].offset);
		} else {
			m->start = pm.vdso_start;
			m->end = pm.vdso_end;
			m->bias = mapping_bias(f, m->start, 0);
		}
		m->tab = f->tab;
	}
	qsort(out->maps, out->n, sizeof(out->maps[0]), cmp_mapping);
cleanup:
	procmaps__free(&pm);
	return err;
}
