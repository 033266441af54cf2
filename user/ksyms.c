/* Kernel text symbols from /proc/kallsyms (or a fixture file), searched by address. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "errors.h"
#include "ksyms.h"

#define DEFAULT_KALLSYMS "/proc/kallsyms"
#define NO_MODULE	 SIZE_MAX

/* A kept symbol; end markers bound the symbol before them and are never returned. */
struct kent {
	struct ksym sym;
	bool end;
};

struct ksyms {
	struct kent *ents; /* sorted by address, one per address */
	size_t n;
	char *strs; /* every name and module, NUL-terminated */
};

/* A symbol as read: names are offsets into the string buffer, which moves while it grows. */
struct raw_ksym {
	uint64_t addr;
	size_t name;
	size_t module; /* NO_MODULE for the core kernel */
	size_t line;   /* input order, to keep the sort stable */
	bool global;
	bool end;
};

struct loader {
	struct raw_ksym *v;
	size_t n, cap;
	char *strs;
	size_t strs_len, strs_cap;
	size_t *mods; /* offsets of the distinct module names seen */
	size_t n_mods, mods_cap;
	size_t last_mod; /* index into mods of the previous line's module, or NO_MODULE */
};

static int grow(void **v, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t ncap = *cap ? *cap : first;
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

/* Append s to the string buffer. Returns 0 with *off set, or -ENOMEM. */
static int add_str(struct loader *l, const char *s, size_t *off)
{
	size_t len = strlen(s) + 1;

	if (grow((void **)&l->strs, &l->strs_cap, l->strs_len + len, 1, 1 << 16))
		return -ENOMEM;
	memcpy(l->strs + l->strs_len, s, len);
	*off = l->strs_len;
	l->strs_len += len;
	return 0;
}

/* The offset of module name mod, stored once. kallsyms groups a module's lines together. */
static int add_module(struct loader *l, const char *mod, size_t *off)
{
	if (l->last_mod != NO_MODULE && !strcmp(l->strs + l->mods[l->last_mod], mod)) {
		*off = l->mods[l->last_mod];
		return 0;
	}
	for (size_t i = 0; i < l->n_mods; i++) {
		if (!strcmp(l->strs + l->mods[i], mod)) {
			l->last_mod = i;
			*off = l->mods[i];
			return 0;
		}
	}
	if (grow((void **)&l->mods, &l->mods_cap, l->n_mods + 1, sizeof(*l->mods), 64) ||
	    add_str(l, mod, off))
		return -ENOMEM;
	l->mods[l->n_mods] = *off;
	l->last_mod = l->n_mods++;
	return 0;
}

/* Markers for the end of a text area: the address after them is not in the symbol before. */
static bool is_end_marker(const char *name)
{
	size_t len = strlen(name);

	return !strcmp(name, "_etext") || !strcmp(name, "_einittext") ||
	       (len > 9 && !strcmp(name + len - 9, "_text_end"));
}

/*
 * Split "ADDR TYPE NAME[\t[MODULE]]" in place. Returns 0, or -EINVAL when the
 * line does not have that shape.
 */
static int parse_line(char *line, uint64_t *addr, char *type, char **name, char **module)
{
	char *p, *end;
	size_t len;

	*addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ')
		return -EINVAL;
	p = end + 1;
	if (!*p || p[1] != ' ')
		return -EINVAL;
	*type = *p;
	*name = p + 2;
	len = strcspn(*name, " \t\r\n");
	if (!len)
		return -EINVAL;
	p = *name + len;
	*module = NULL;
	if (*p == ' ' || *p == '\t') {
		*p++ = '\0';
		p += strspn(p, " \t");
		if (*p == '[' && (end = strchr(p, ']')) && end > p + 1) {
			*end = '\0';
			*module = p + 1;
		}
	} else {
		*p = '\0';
	}
	return 0;
}

static bool is_text(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

static size_t leading_underscores(const char *s)
{
	size_t n = 0;

	while (s[n] == '_')
		n++;
	return n;
}

/* By address, then the name to keep first: not a marker, global, fewest leading '_', input order.
 */
static int cmp_raw(const void *a, const void *b, void *strs)
{
	const struct raw_ksym *x = a, *y = b;
	size_t ux, uy;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->end != y->end)
		return x->end ? 1 : -1;
	if (x->global != y->global)
		return x->global ? -1 : 1;
	ux = leading_underscores((const char *)strs + x->name);
	uy = leading_underscores((const char *)strs + y->name);
	if (ux != uy)
		return ux < uy ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Read every text symbol of f into l. Returns 0 with *n_text the text lines seen, or -ENOMEM. */
static int read_syms(FILE *f, struct loader *l, size_t *n_text)
{
	char *line = NULL;
	size_t line_cap = 0;
	int err = 0;

	*n_text = 0;
	while (getline(&line, &line_cap, f) > 0) {
		struct raw_ksym r = {.module = NO_MODULE, .line = l->n};
		char *name, *module, type;

		if (parse_line(line, &r.addr, &type, &name, &module) || !is_text(type))
			continue;
		(*n_text)++;
		if (!r.addr)
			continue; /* hidden (kptr_restrict) or not a real address */
		r.global = type == 'T' || type == 'W';
		r.end = is_end_marker(name);
		err = grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v), 4096);
		if (!err)
			err = add_str(l, name, &r.name);
		if (!err && module)
			err = add_module(l, module, &r.module);
		if (err)
			break;
		l->v[l->n++] = r;
	}
	free(line);
	return err;
}

/* Sort, keep the preferred name per address, and move the strings into ks. */
static int build(struct ksyms *ks, struct loader *l)
{
	qsort_r(l->v, l->n, sizeof(*l->v), cmp_raw, l->strs);
	ks->ents = calloc(l->n, sizeof(*ks->ents));
	if (!ks->ents)
		return -ENOMEM;
	ks->strs = l->strs;
	l->strs = NULL;
	for (size_t i = 0; i < l->n; i++) {
		const struct raw_ksym *r = &l->v[i];
		struct kent *e;

		if (ks->n && ks->ents[ks->n - 1].sym.addr == r->addr)
			continue;
		e = &ks->ents[ks->n++];
		e->sym.addr = r->addr;
		e->sym.name = ks->strs + r->name;
		e->sym.module = r->module == NO_MODULE ? NULL : ks->strs + r->module;
		e->end = r->end;
	}
	return 0;
}

struct ksyms *ksyms__load_file(const char *path)
{
	struct loader l = {.last_mod = NO_MODULE};
	struct ksyms *ks = NULL;
	size_t n_text = 0;
	FILE *f;
	int err;

	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		snag_set_error("cannot read kernel symbols from %s: %s%s", path, strerror(-err),
			       err == -EACCES ? " (run snag as root)" : "");
		goto cleanup;
	}
	ks = calloc(1, sizeof(*ks));
	err = ks ? read_syms(f, &l, &n_text) : -ENOMEM;
	if (!err && !l.n) {
		if (n_text) {
			err = -EPERM;
			snag_set_error(
			    "kernel symbol addresses in %s are hidden (all zero): run snag "
			    "as root, with sysctl kernel.kptr_restrict=0 or 1",
			    path);
		} else {
			err = -ENODATA;
			snag_set_error("no kernel text symbols in %s (expected the format of "
				       "/proc/kallsyms)",
				       path);
		}
		goto cleanup;
	}
	if (!err)
		err = build(ks, &l);
	if (err == -ENOMEM)
		snag_set_error("out of memory reading kernel symbols from %s", path);
cleanup:
	if (f)
		fclose(f);
	free(l.v);
	free(l.strs);
	free(l.mods);
	if (err) {
		ksyms__free(ks);
		errno = -err;
		return NULL;
	}
	return ks;
}

struct ksyms *ksyms__load(void)
{
	return ksyms__load_file(DEFAULT_KALLSYMS);
}

void ksyms__free(struct ksyms *ks)
{
	if (!ks)
		return;
	free(ks->ents);
	free(ks->strs);
	free(ks);
}

const struct ksym *ksyms__lookup(const struct ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->n;
	const struct kent *e;

	/* The last symbol starting at or below addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->ents[mid].sym.addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	e = &ks->ents[lo - 1];
	if (e->end)
		return NULL;
	/* The last symbol of its module (or of the kernel): its end is unknown, so bound it. */
	if ((lo == ks->n || ks->ents[lo].sym.module != e->sym.module) &&
	    addr - e->sym.addr >= KSYMS_TAIL_MAX)
		return NULL;
	return &e->sym;
}

size_t ksyms__count(const struct ksyms *ks)
{
	return ks->n;
}
