/* JIT symbol maps (/tmp/perf-PID.map): parsing, loading with ownership checks, lookup. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "perfmap.h"

#define PERFMAP_MAX_BYTES (256ull << 20)

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

/* One line (NUL-terminated, no newline) into sym; false when it is not "START SIZE NAME". */
static bool parse_line(char *line, struct perfmap_sym *sym)
{
	uint64_t start, size;
	char *p = line;
	size_t len;

	if (!parse_hex(&p, &start) || !parse_hex(&p, &size) || !size || start + size < start)
		return false;
	p += strspn(p, " \t");
	len = strlen(p);
	while (len && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
		p[--len] = '\0';
	if (!len)
		return false;
	*sym = (struct perfmap_sym){start, start + size, p};
	return true;
}

/* A parsed line and its position, to sort by start and then by line order. */
struct order {
	struct perfmap_sym sym;
	size_t line;
};

static int cmp_order(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->sym.start != y->sym.start)
		return x->sym.start < y->sym.start ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

int perfmap__parse(char *buf, size_t len, struct perfmap *out)
{
	struct order *v = NULL;
	size_t n = 0, cap = 0, lines = 0;
	char *p = buf, *end = buf + len;

	memset(out, 0, sizeof(*out));
	out->buf = buf;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		struct perfmap_sym sym;

		if (!nl)
			nl = end; /* the last line may lack its newline: buf has room for a NUL */
		*nl = '\0';
		if (parse_line(p, &sym)) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				struct order *nv = realloc(v, ncap * sizeof(*nv));

				if (!nv) {
					free(v);
					return -ENOMEM;
				}
				v = nv;
				cap = ncap;
			}
			v[n++] = (struct order){sym, lines};
		} else if (*p) {
			out->skipped++;
		}
		lines++;
		p = nl + 1;
	}
	if (!n) {
		free(v);
		return 0;
	}
	qsort(v, n, sizeof(*v), cmp_order);
	out->syms = malloc(n * sizeof(*out->syms));
	if (!out->syms) {
		free(v);
		return -ENOMEM;
	}
	/* Code compiled again at the same address: the later line names it. */
	for (size_t i = 0; i < n; i++) {
		if (out->n && out->syms[out->n - 1].start == v[i].sym.start)
			out->n--;
		out->syms[out->n++] = v[i].sym;
	}
	free(v);
	return 0;
}

int perfmap__load(const char *path, uid_t owner, struct perfmap *out, off_t *size_out)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	size_t got = 0;
	struct stat st;
	char *buf;
	int err;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (st.st_uid != owner && st.st_uid != 0)) {
		err = -EPERM;
		goto fail;
	}
	if ((uint64_t)st.st_size > PERFMAP_MAX_BYTES) {
		err = -EFBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* shorter than it was: parse what there is */
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	if (size_out)
		*size_out = st.st_size;
	return perfmap__parse(buf, got, out);
fail:
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
	free(m->buf);
	memset(m, 0, sizeof(*m));
}
