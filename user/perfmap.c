/* JIT symbol maps (/tmp/perf-PID.map): parsing within limits, loading with ownership checks,
 * lookup. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "perfmap.h"

#define READ_CHUNK (64u << 10)
/* "START SIZE " in hex with 0x and some blanks: what a line holds besides its name. */
#define LINE_PREFIX_MAX 64

const struct perfmap_limits perfmap_default_limits = {
    .max_bytes = PERFMAP_MAX_BYTES,
    .max_syms = PERFMAP_MAX_SYMS,
    .max_name = PERFMAP_MAX_NAME,
    .max_name_bytes = PERFMAP_MAX_NAME_BYTES,
};

/* A hex number with an optional 0x; false when there is none. */
static bool parse_hex(char **p, uint64_t *v)
{
	char *end;

	*p += strspn(*p, " \t");
	if (!(**p >= '0' && **p <= '9') && !(**p >= 'a' && **p <= 'f') &&
	    !(**p >= 'A' && **p <= 'F'))
		return false;
	errno = 0;
	*v = strtoull(*p, &end, 16);
	if (errno || end == *p || (*end != ' ' && *end != '\t'))
		return false;
	*p = end;
	return true;
}

/*
 * One line (NUL-terminated, no newline) into start, size and its name (in the
 * line, len bytes); false when it is not "START SIZE NAME".
 */
static bool parse_line(char *line, uint64_t *start, uint64_t *size, char **name, size_t *len)
{
	char *p = line;
	size_t n;

	if (!parse_hex(&p, start) || !parse_hex(&p, size) || !*size || *start + *size < *start)
		return false;
	p += strspn(p, " \t");
	n = strlen(p);
	while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (!n)
		return false;
	*name = p;
	*len = n;
	return true;
}

/* A kept line, to sort by start and then by line order; its name is at name_off in names. */
struct order {
	uint64_t start, end;
	size_t name_off;
	size_t line;
};

/* The map being built, a line at a time. */
struct builder {
	const struct perfmap_limits *lim;
	struct perfmap *out;
	struct order *v;
	size_t n, cap;
	size_t names_cap;
	size_t lines;
};

static int cmp_order(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Take one line (NUL-terminated, may be changed) within the limits. Returns 0 or -ENOMEM. */
static int builder__line(struct builder *b, char *line)
{
	struct perfmap *out = b->out;
	uint64_t start, size;
	size_t len;
	char *name;

	b->lines++;
	if (!parse_line(line, &start, &size, &name, &len)) {
		if (*line)
			out->skipped++;
		return 0;
	}
	if (len > b->lim->max_name) {
		len = b->lim->max_name;
		out->names_cut++;
	}
	if (b->n >= b->lim->max_syms || out->name_bytes + len + 1 > b->lim->max_name_bytes) {
		out->cut++;
		out->truncated = true;
		return 0;
	}
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 256;
		struct order *nv = realloc(b->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		b->v = nv;
		b->cap = ncap;
	}
	if (out->name_bytes + len + 1 > b->names_cap) {
		size_t ncap = b->names_cap ? b->names_cap * 2 : 4096;
		char *nn;

		while (ncap < out->name_bytes + len + 1)
			ncap *= 2;
		nn = realloc(out->names, ncap);
		if (!nn)
			return -ENOMEM;
		out->names = nn;
		b->names_cap = ncap;
	}
	memcpy(out->names + out->name_bytes, name, len);
	out->names[out->name_bytes + len] = '\0';
	b->v[b->n++] = (struct order){start, start + size, out->name_bytes, b->lines};
	out->name_bytes += len + 1;
	return 0;
}

/* Sort the kept lines into out->syms. Returns 0 or -ENOMEM. */
static int builder__finish(struct builder *b)
{
	struct perfmap *out = b->out;

	if (b->n) {
		qsort(b->v, b->n, sizeof(*b->v), cmp_order);
		out->syms = malloc(b->n * sizeof(*out->syms));
		if (!out->syms)
			return -ENOMEM;
	}
	/* Code compiled again at the same address: the later line names it. */
	for (size_t i = 0; i < b->n; i++) {
		if (out->n && out->syms[out->n - 1].start == b->v[i].start)
			out->n--;
		out->syms[out->n++] =
		    (struct perfmap_sym){b->v[i].start, b->v[i].end, out->names + b->v[i].name_off};
	}
	return 0;
}

int perfmap__parse(char *buf, size_t len, struct perfmap *out)
{
	struct builder b = {.lim = &perfmap_default_limits, .out = out};
	char *p = buf, *end = buf + len;
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (!err && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			nl = end; /* the last line may lack its newline: buf has room for a NUL */
		*nl = '\0';
		err = builder__line(&b, p);
		p = nl + 1;
	}
	if (!err)
		err = builder__finish(&b);
	free(b.v);
	free(buf);
	if (err)
		perfmap__free(out);
	return err;
}

/*
 * Feed the lines of fd, read READ_CHUNK bytes at a time up to lim->max_bytes,
 * to b. A line is kept in line (cap bytes) only as far as a name can matter;
 * the rest of a longer line is dropped. Returns 0, -ENOMEM or -errno.
 */
static int read_lines(int fd, struct builder *b, char *chunk, char *line, size_t cap)
{
	size_t total = 0, len = 0;
	bool in_line = false;

	for (;;) {
		size_t want = b->lim->max_bytes - total;
		ssize_t r;
		char *p, *end;

		if (!want) {
			/* Stopped at max_bytes: a line cut there is not whole. */
			if (in_line) {
				b->out->cut++;
				b->out->truncated = true;
			}
			b->out->truncated = true;
			return 0;
		}
		r = read(fd, chunk, want < READ_CHUNK ? want : READ_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		total += (size_t)r;
		for (p = chunk, end = chunk + r; p < end;) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = (size_t)((nl ? nl : end) - p),
			       keep = n < cap - len ? n : cap - len;
			int err;

			memcpy(line + len, p, keep);
			len += keep;
			in_line = true;
			if (!nl)
				break;
			line[len] = '\0';
			err = builder__line(b, line);
			if (err)
				return err;
			len = 0;
			in_line = false;
			p = nl + 1;
		}
	}
	if (in_line) {
		line[len] = '\0';
		return builder__line(b, line);
	}
	return 0;
}

int perfmap__read_fd(int fd, uid_t owner, const struct perfmap_limits *lim, struct perfmap *out,
		     off_t *size_out)
{
	struct builder b = {.lim = lim ? lim : &perfmap_default_limits, .out = out};
	size_t cap = b.lim->max_name + LINE_PREFIX_MAX;
	char *chunk = NULL, *line = NULL;
	struct stat st;
	int err;

	memset(out, 0, sizeof(*out));
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_uid != owner)
		return -EPERM;
	chunk = malloc(READ_CHUNK);
	line = malloc(cap + 1);
	if (!chunk || !line) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = read_lines(fd, &b, chunk, line, cap);
	if (!err)
		err = builder__finish(&b);
	if (!err && size_out)
		*size_out = st.st_size;
cleanup:
	free(chunk);
	free(line);
	free(b.v);
	if (err)
		perfmap__free(out);
	return err;
}

int perfmap__load(const char *path, uid_t owner, struct perfmap *out, off_t *size_out)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	int err;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	err = perfmap__read_fd(fd, owner, NULL, out, size_out);
	close(fd);
	return err;
}

const char *perfmap__lookup(const struct perfmap *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < m->syms[lo - 1].end ? m->syms[lo - 1].name : NULL;
}

void perfmap__free(struct perfmap *m)
{
	free(m->syms);
	free(m->names);
	memset(m, 0, sizeof(*m));
}
