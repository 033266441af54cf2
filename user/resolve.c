/* Turn -u SPECs into probe points: which file, which offset, in which process. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elfsym.h"
#include "errors.h"
#include "procmaps.h"
#include "resolve.h"

#define NO_FUNC_ID UINT32_MAX

/* Index of the ':' that splits a spec, or -1: a ':' not part of "::". Paths take the last one. */
static long split_colon(const char *arg)
{
	bool last = arg[0] == '/' || arg[0] == '.';
	long at = -1;

	for (long i = 0; arg[i]; i++) {
		if (arg[i] != ':')
			continue;
		if (arg[i + 1] == ':') {
			i++; /* skip "::" (C++ scope) */
			continue;
		}
		at = i;
		if (!last)
			break;
	}
	return at;
}

int spec__parse(const char *arg, struct spec *out)
{
	long colon;

	memset(out, 0, sizeof(*out));
	if (!arg || !*arg) {
		snag_set_error(
		    "empty -u spec (give FUNC_GLOB, LIB:FUNC_GLOB or /path/to/bin:FUNC_GLOB)");
		return -EINVAL;
	}
	colon = split_colon(arg);
	if (colon == 0) {
		snag_set_error(
		    "-u '%s' has nothing before ':' (give a library as 'libc:%s' or a path "
		    "as '/path/to/bin:%s')",
		    arg, arg + 1, arg + 1);
		return -EINVAL;
	}
	if (colon > 0 && !arg[colon + 1]) {
		snag_set_error(
		    "-u '%s' has no function glob after ':' (e.g. '%smalloc' or '%sstr*')", arg,
		    arg, arg);
		return -EINVAL;
	}
	if (colon < 0) {
		out->kind = SPEC_MAIN;
		out->glob = strdup(arg);
	} else {
		out->where = strndup(arg, (size_t)colon);
		out->glob = strdup(arg + colon + 1);
		out->kind = out->where && strchr(out->where, '/') ? SPEC_PATH : SPEC_LIB;
	}
	if (!out->glob || (colon > 0 && !out->where)) {
		spec__free(out);
		snag_set_error("out of memory parsing -u '%s'", arg);
		return -ENOMEM;
	}
	return 0;
}

void spec__free(struct spec *s)
{
	if (!s)
		return;
	free(s->where);
	free(s->glob);
	s->where = NULL;
	s->glob = NULL;
}

void probe_set__free(struct probe_set *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->n_points; i++) {
		free(ps->points[i].binary);
		free(ps->points[i].attach_path);
		free(ps->points[i].name);
	}
	free(ps->points);
	memset(ps, 0, sizeof(*ps));
}

/* One traced process, or the whole system (pid -1). */
struct target {
	int pid;
	const char *exe;      /* -c: the program it will run; NULL otherwise */
	struct procmaps maps; /* loaded on first use by a SPEC_LIB */
	bool maps_loaded;
};

/* One ELF file, by identity, with the func_id given to each of its functions. */
struct file_ent {
	dev_t dev;
	ino_t ino;
	struct elfsym_tab *tab;
	uint32_t *ids; /* per tab->syms entry; NO_FUNC_ID until matched */
};

/* The state of one resolve__specs() call. */
struct resolver {
	const struct resolve_opts *o;
	struct target *targets;
	size_t n_targets;
	struct file_ent *files;
	size_t n_files;
	struct probe_set *out;
	size_t cap_points;
};

/* The file a (spec, target) pair probes. */
struct location {
	char *binary; /* as the target sees it */
	char *attach; /* what to open */
};

static void location__free(struct location *l)
{
	free(l->binary);
	free(l->attach);
	l->binary = l->attach = NULL;
}

/* Set both paths (copies). Returns 0 or -ENOMEM. */
static int location__set(struct location *l, const char *binary, const char *attach)
{
	l->binary = strdup(binary);
	l->attach = strdup(attach);
	if (l->binary && l->attach)
		return 0;
	location__free(l);
	snag_set_error("out of memory");
	return -ENOMEM;
}

/* "where:glob" or "glob", as the user wrote it. */
static void spec_str(const struct spec *s, char *buf, size_t len)
{
	if (s->where)
		snprintf(buf, len, "%s:%s", s->where, s->glob);
	else
		snprintf(buf, len, "%s", s->glob);
}

static int check_pid(int pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (pid > 0 && !access(path, F_OK))
		return 0;
	snag_set_error("no process with pid %d (is it still running? see 'ps')", pid);
	return -ENOENT;
}

static int locate_main(const struct spec *s, const struct target *t, struct location *l)
{
	char link[64], exe[PATH_MAX];
	ssize_t n;

	if (t->exe)
		return location__set(l, t->exe, t->exe);
	if (t->pid < 0) {
		snag_set_error("FUNC_GLOB '%s' needs -p or -c; give a binary as /path/to/bin:%s to "
			       "trace system-wide",
			       s->glob, s->glob);
		return -EINVAL;
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", t->pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0) {
		int err = -errno;

		if (check_pid(t->pid))
			return -ENOENT;
		snag_set_error(
		    "cannot read %s: %s (a kernel thread has no binary; run snag as root "
		    "for other users' processes)",
		    link, strerror(-err));
		return err;
	}
	exe[n] = '\0';
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = '\0';
	/* The magic link reaches the binary from any mount namespace, even once deleted. */
	return location__set(l, exe, link);
}

static int locate_lib(const struct spec *s, struct target *t, struct location *l)
{
	char attach[PATH_MAX + 64];
	const struct procmap *pm;
	char *path = NULL;
	int err;

	if (t->pid < 0 || t->exe) {
		err = libsearch__find(s->where, &path);
		if (err == -ENOENT)
			snag_set_error(
			    "library '%s' not found in $LD_LIBRARY_PATH, /etc/ld.so.conf or "
			    "the system lib dirs (give its path as /path/to/%s.so:%s)",
			    s->where, s->where, s->glob);
		if (err)
			return err;
		err = location__set(l, path, path);
		free(path);
		return err;
	}
	if (!t->maps_loaded) {
		err = procmaps__load_pid(t->pid, &t->maps);
		if (err)
			return err;
		t->maps_loaded = true;
	}
	pm = procmaps__find_lib(&t->maps, s->where);
	if (!pm) {
		snag_set_error(
		    "no library '%s' is mapped in process %d (see its libraries with 'snag "
		    "list -p %d', or give a path as /path/to/lib.so:%s)",
		    s->where, t->pid, t->pid, s->glob);
		return -ENOENT;
	}
	if (procmaps__file_path(t->pid, pm, attach, sizeof(attach))) {
		snag_set_error("path of '%s' in process %d is too long", s->where, t->pid);
		return -ENAMETOOLONG;
	}
	return location__set(l, pm->path, attach);
}

static int locate_path(const struct spec *s, const struct target *t, struct location *l)
{
	char abs[PATH_MAX], cwd[PATH_MAX];
	int n;

	if (s->where[0] == '/') {
		n = snprintf(abs, sizeof(abs), "%s", s->where);
	} else {
		if (!getcwd(cwd, sizeof(cwd))) {
			int err = -errno;

			snag_set_error("cannot resolve '%s': %s (give an absolute path)", s->where,
				       strerror(-err));
			return err;
		}
		n = snprintf(abs, sizeof(abs), "%s/%s", cwd, s->where);
	}
	if (n < 0 || (size_t)n >= sizeof(abs)) {
		snag_set_error("path '%s' is too long (give a shorter path)", s->where);
		return -ENAMETOOLONG;
	}
	if (t->pid >= 0 && !t->exe) {
		char in_root[PATH_MAX + 64];

		/* A path inside the process's mount namespace, else the same path in snag's. */
		snprintf(in_root, sizeof(in_root), "/proc/%d/root%s", t->pid, abs);
		if (!access(in_root, F_OK))
			return location__set(l, abs, in_root);
	}
	return location__set(l, abs, abs);
}

static int locate(const struct spec *s, struct target *t, struct location *l)
{
	switch (s->kind) {
	case SPEC_MAIN:
		return locate_main(s, t, l);
	case SPEC_LIB:
		return locate_lib(s, t, l);
	case SPEC_PATH:
		return locate_path(s, t, l);
	}
	snag_set_error("unknown spec kind %d", (int)s->kind);
	return -EINVAL;
}

/* The loaded file for a location, from the cache or freshly loaded. Returns 0 or -errno. */
static int get_file(struct resolver *r, const struct location *l, struct file_ent **out)
{
	struct elfsym_opts eo = {.display_path = l->binary};
	struct file_ent *nf, *f;
	struct stat st;

	if (stat(l->attach, &st))
		return elfsym__open_error(l->binary, -errno);
	for (size_t i = 0; i < r->n_files; i++) {
		if (r->files[i].dev == st.st_dev && r->files[i].ino == st.st_ino) {
			*out = &r->files[i];
			return 0;
		}
	}
	nf = realloc(r->files, (r->n_files + 1) * sizeof(*nf));
	if (!nf)
		goto nomem;
	r->files = nf;
	f = &r->files[r->n_files];
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->tab = elfsym__load(l->attach, &eo);
	if (!f->tab)
		return -errno;
	f->ids = malloc((f->tab->n_syms ? f->tab->n_syms : 1) * sizeof(*f->ids));
	if (!f->ids) {
		elfsym__free(f->tab);
		goto nomem;
	}
	for (size_t i = 0; i < f->tab->n_syms; i++)
		f->ids[i] = NO_FUNC_ID;
	r->n_files++;
	*out = f;
	return 0;
nomem:
	snag_set_error("out of memory loading %s", l->binary);
	return -ENOMEM;
}

/*
 * The file offset to probe for sym. A function built with -fcf-protection
 * starts with endbr64 (f3 0f 1e fa). The kernel cannot emulate it, so a uprobe
 * there single-steps it out of line, which costs about 10 us per hit; probing
 * the next instruction avoids that. endbr64 leaves the stack pointer as it
 * was, so the return address is still at the top of the stack and uretprobes
 * work from the second instruction too.
 */
static uint64_t probe_offset(const struct elfsym_tab *tab, const struct elfsym *sym)
{
#if defined(__x86_64__) || defined(__i386__)
	static const unsigned char endbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
	unsigned char insn[4];

	if ((!sym->size || sym->size > sizeof(insn)) &&
	    !elfsym__read(tab, sym->offset, insn, sizeof(insn)) &&
	    !memcmp(insn, endbr64, sizeof(insn)))
		return sym->offset + sizeof(insn);
#else
	(void)tab;
#endif
	return sym->offset;
}

static int push_point(struct resolver *r, const struct location *l, const struct file_ent *f,
		      const struct elfsym_match *m, int pid, uint32_t func_id)
{
	struct probe_set *ps = r->out;
	struct probe_point *p;

	if (ps->n_points == r->cap_points) {
		size_t ncap = r->cap_points ? r->cap_points * 2 : 64;
		struct probe_point *nv = realloc(ps->points, ncap * sizeof(*nv));

		if (!nv)
			goto nomem;
		ps->points = nv;
		r->cap_points = ncap;
	}
	p = &ps->points[ps->n_points];
	memset(p, 0, sizeof(*p));
	p->binary = strdup(l->binary);
	p->attach_path = strdup(l->attach);
	p->name = strdup(m->name);
	p->address = m->sym->addr;
	p->offset = probe_offset(f->tab, m->sym);
	p->pid = pid;
	p->func_id = func_id;
	ps->n_points++; /* counted even when half-built, so probe_set__free() frees it */
	if (p->binary && p->attach_path && p->name)
		return 0;
nomem:
	snag_set_error("out of memory resolving probe points");
	return -ENOMEM;
}

static void no_match_error(const struct spec *s, const struct target *t, const struct location *l,
			   const struct elfsym_tab *tab)
{
	char list_cmd[PATH_MAX + 32];

	if (tab->stripped && !tab->debug_path) {
		snag_set_error("no function matching '%s' in %s: %s is stripped (no .symtab and no "
			       "debug file): rebuild without -s or install its -dbgsym package",
			       s->glob, l->binary, l->binary);
		return;
	}
	if (t->pid >= 0 && !t->exe)
		snprintf(list_cmd, sizeof(list_cmd), "snag list -p %d", t->pid);
	else
		snprintf(list_cmd, sizeof(list_cmd), "snag list %s", l->binary);
	snag_set_error("no function matching '%s' in %s (%zu functions there; try '%s')", s->glob,
		       l->binary, tab->n_syms, list_cmd);
}

/*
 * Go code cannot be timed with return probes: the probe swaps the return
 * address on the stack for a trampoline's, and when the goroutine's stack
 * grows the runtime copies it, meets that address and aborts the program
 * ("runtime: unexpected return pc", then "fatal error: unknown caller pc").
 * Attaching would crash the service, so snag refuses and says what works.
 */
static void go_error(const struct spec *s, const struct location *l)
{
	char what[512];

	spec_str(s, what, sizeof(what));
	snag_set_error("'%s': %s is a Go program, and return probes crash Go programs (the runtime "
		       "aborts when it copies a goroutine stack that holds a probe's return "
		       "address), so snag does not time Go functions; trace it without -u for "
		       "off-CPU and I/O analysis, with --cpu for where it runs",
		       what, l->binary);
}

/* Add the probe points of one spec in one target. */
static int resolve_one(struct resolver *r, const struct spec *s, struct target *t)
{
	struct location l = {0};
	struct elfsym_match *m = NULL;
	struct file_ent *f = NULL;
	char what[512];
	long n;
	int err;

	err = locate(s, t, &l);
	if (err)
		return err;
	err = get_file(r, &l, &f);
	if (err)
		goto cleanup;
	if (f->tab->go) {
		go_error(s, &l);
		err = -EINVAL;
		goto cleanup;
	}
	if (f->tab->unwinds && !r->o->exceptions_ok) {
		spec_str(s, what, sizeof(what));
		snag_set_error(
		    "'%s': %s is C++ or Rust code, and a C++ exception or Rust panic that unwinds "
		    "through a timed function aborts the program (the unwinder cannot read past a "
		    "return probe); add --exceptions-ok if nothing unwinds through the functions "
		    "you time",
		    what, l.binary);
		err = -EINVAL;
		goto cleanup;
	}
	n = elfsym__match(f->tab, s->glob, &m);
	if (n < 0) {
		snag_set_error("out of memory matching '%s'", s->glob);
		err = (int)n;
		goto cleanup;
	}
	if (n == 0) {
		no_match_error(s, t, &l, f->tab);
		err = -ESRCH;
		goto cleanup;
	}
	if (r->o->max_funcs && (size_t)n > r->o->max_funcs) {
		spec_str(s, what, sizeof(what));
		snag_set_error("'%s' matches %ld functions, more than the limit of %zu: narrow the "
			       "glob or raise --max-funcs",
			       what, n, r->o->max_funcs);
		err = -E2BIG;
		goto cleanup;
	}
	for (long i = 0; i < n && !err; i++) {
		uint32_t *id = &f->ids[m[i].sym - f->tab->syms];

		if (*id == NO_FUNC_ID)
			*id = r->out->n_funcs++;
		err = push_point(r, &l, f, &m[i], t->pid, *id);
	}
cleanup:
	free(m);
	location__free(&l);
	return err;
}

static int cmp_point(const void *a, const void *b)
{
	const struct probe_point *x = a, *y = b;

	if (x->func_id != y->func_id)
		return x->func_id < y->func_id ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Sort points by (func_id, pid) and drop repeats: two specs may match one function. */
static void dedupe_points(struct probe_set *ps)
{
	size_t kept = 0;

	if (!ps->n_points)
		return;
	qsort(ps->points, ps->n_points, sizeof(*ps->points), cmp_point);
	for (size_t i = 0; i < ps->n_points; i++) {
		struct probe_point *p = &ps->points[i];

		if (kept && !cmp_point(&ps->points[kept - 1], p)) {
			free(p->binary);
			free(p->attach_path);
			free(p->name);
			continue;
		}
		ps->points[kept++] = *p;
	}
	ps->n_points = kept;
}

static int make_targets(struct resolver *r)
{
	const struct resolve_opts *o = r->o;
	size_t n = o->n_pids ? o->n_pids : 1;

	r->targets = calloc(n, sizeof(*r->targets));
	if (!r->targets) {
		snag_set_error("out of memory");
		return -ENOMEM;
	}
	r->n_targets = n;
	if (o->n_pids) {
		for (size_t i = 0; i < n; i++) {
			r->targets[i].pid = o->pids[i];
			if (check_pid(o->pids[i]))
				return -ENOENT;
		}
	} else if (o->command_path) {
		r->targets[0].pid = o->command_pid;
		r->targets[0].exe = o->command_path;
	} else {
		r->targets[0].pid = -1;
	}
	return 0;
}

static void resolver__free(struct resolver *r)
{
	for (size_t i = 0; i < r->n_targets; i++)
		procmaps__free(&r->targets[i].maps);
	for (size_t i = 0; i < r->n_files; i++) {
		elfsym__free(r->files[i].tab);
		free(r->files[i].ids);
	}
	free(r->targets);
	free(r->files);
}

int resolve__specs(const struct spec *specs, size_t n_specs, const struct resolve_opts *o,
		   struct probe_set *out)
{
	static const struct resolve_opts no_opts = {.command_pid = -1};
	struct resolver r = {.o = o ? o : &no_opts, .out = out};
	char what[512];
	int err;

	memset(out, 0, sizeof(*out));
	err = make_targets(&r);
	for (size_t i = 0; !err && i < n_specs; i++) {
		for (size_t j = 0; !err && j < r.n_targets; j++)
			err = resolve_one(&r, &specs[i], &r.targets[j]);
		if (!err && r.o->max_funcs && out->n_funcs > r.o->max_funcs) {
			spec_str(&specs[i], what, sizeof(what));
			snag_set_error(
			    "with '%s' the -u specs match %u functions, more than the limit "
			    "of %zu: narrow the globs or raise --max-funcs",
			    what, out->n_funcs, r.o->max_funcs);
			err = -E2BIG;
		}
	}
	if (!err)
		dedupe_points(out);
	resolver__free(&r);
	if (err)
		probe_set__free(out);
	return err;
}
